// SIGTERM (a cron job's timeout, kill, Slurm's scancel) and SIGINT (Ctrl-C) stop a run at once, as SIGKILL
// would leave it (every stage's previous outputs complete, the half-done one in .staging/ for the next run to
// remove), but first the run says so in run.log and releases its lock.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public final class StopSignals {  // made and cancelled by the thread that runs the pipeline
    private let sources: [any DispatchSourceSignal]
    private static let handled: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")]

    /// From now until `cancel`, SIGTERM or SIGINT runs `onStop` with the signal's name, then the process
    /// exits with 128 + the signal's number, as a shell reports a process killed by it.
    public static func install(_ onStop: @escaping @Sendable (String) -> Void) -> StopSignals {
        let queue = DispatchQueue(label: "medad.stop-signals")
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in handled {
            signal(number, SIG_IGN)  // delivered to the source instead of killing the process
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                onStop(name)
                _exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
        return StopSignals(sources: sources)
    }

    private init(sources: [any DispatchSourceSignal]) { self.sources = sources }

    /// Restores the default actions.
    public func cancel() {
        for source in sources { source.cancel() }
        for (number, _) in Self.handled { signal(number, SIG_DFL) }
    }
}
