// A pool of `medad decode-worker` processes that run ImageProbe on untrusted files. DCMTK's bundled CharLS
// asserts (aborting the process) on some malformed JPEG-LS streams, and any decoder may loop on hostile
// bytes; in a worker, such a file costs one error row and a restarted worker, never the run.
import CPlatform
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public struct DecoderWorkerError: Error, CustomStringConvertible {
    public let description: String
}

/// One worker process.
final class DecoderWorker: @unchecked Sendable {  // owned by one thread at a time: handed over through DecoderWorkers.idle
    let process: Process
    let input: FileHandle
    let output: Int32
    var buffer: [UInt8] = []

    /// Held for the life of the worker, so that the descriptors stay open.
    private let pipes: (Pipe, Pipe)

    /// Workers start one at a time. Foundation's Process closes the parent's descriptors in a child only up to the
    /// highest one open when it prepares the spawn, so a worker started while another was starting could inherit
    /// that one's pipes and the socket by which Foundation sees it exit: releasing that one then waited as long as
    /// the other lived, which was forever when the other sat idle in the pool (a sharded ingest under Slurm hung so
    /// in CI, 2026-12-05: the idle worker held the other's socket and /dev/null, above its own descriptors).
    private static let starting = Mutex(())

    init(executable: URL) throws {
        (process, pipes) = try Self.starting.withLock { _ in
            let process = Process(), stdin = Pipe(), stdout = Pipe()
            process.executableURL = executable
            process.arguments = ["decode-worker"]
            // A worker never multiplies matrices: without this, OpenBLAS (linked into the same binary) starts a thread
            // per core as the worker loads, and each spins (sched_yield) for about 0.1 s: 50 ms of CPU a worker.
            process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { _, new in new }
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice  // a dying decoder's last words would garble the progress line
            try process.run()
            return (process, (stdin, stdout))
        }
        input = pipes.0.fileHandleForWriting
        output = pipes.1.fileHandleForReading.fileDescriptor
    }

    /// Sends one request and waits up to `timeout` seconds for its line; nil when the worker died or hung
    /// (it is then killed), with the reason.
    func send(_ line: Data, timeout: Double) -> (String?, String) {
        let written = line.withUnsafeBytes { write(input.fileDescriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { return (nil, stop("the decoder worker stopped accepting work")) }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let reply = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return (reply, "")
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                return (nil, stop("decoding took longer than \(Int(timeout)) s (hung decoder); the worker was killed"))
            }
            var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(output, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return (nil, stop(nil)) }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    /// Ends the worker and explains how it ended.
    private func stop(_ reason: String?) -> String {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        if let reason { return reason }
        if process.terminationReason == .uncaughtSignal {
            let signal = process.terminationStatus
            let name = signal == SIGABRT ? "SIGABRT, a decoder assertion" : signal == SIGSEGV ? "SIGSEGV" : "signal \(signal)"
            return "the decoder crashed on this file (\(name)); the worker was restarted"
        }
        return "the decoder worker exited (status \(process.terminationStatus)) on this file; it was restarted"
    }

    var isAlive: Bool { process.isRunning }

    deinit {
        try? input.close()
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Hands probe requests to idle workers, starting (and restarting) them as needed.
public final class DecoderWorkers: Sendable {
    let executable: URL
    let timeout: Double
    /// Workers not in use; a worker is used by one thread at a time, taken from here and put back.
    private let idle = Mutex<[DecoderWorker]>([])

    public convenience init(timeout: Double) throws {
        self.init(executable: try Self.locateExecutable(), timeout: timeout)
    }

    init(executable: URL, timeout: Double) {
        self.executable = executable
        self.timeout = timeout
        signal(SIGPIPE, SIG_IGN)  // a worker that dies mid-request must not take the parent with it
    }

    /// The `medad` binary: this process itself, or the one built beside a test bundle.
    static func locateExecutable() throws -> URL {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if me.lastPathComponent == "medad" { return me }
        var folder = me.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("medad")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw DecoderWorkerError(description: "cannot find the medad executable to run decoder workers (looked beside \(me.path))")
    }

    public func probe(_ request: ProbeRequest) throws -> ProbeResult {
        var worker = idle.withLock { $0.popLast() }
        if worker == nil || worker?.isAlive == false { worker = try DecoderWorker(executable: executable) }
        var line = try JSONEncoder().encode(request)
        line.append(0x0A)
        let (reply, reason) = worker!.send(line, timeout: timeout)
        guard let reply else { return ProbeResult(error: reason) }
        let done = worker!
        idle.withLock { $0.append(done) }
        guard let result = try? JSONDecoder().decode(ProbeResult.self, from: Data(reply.utf8)) else {
            throw DecoderWorkerError(description: "unreadable reply from the decoder worker")
        }
        return result
    }

    /// The worker's side: answers requests on standard input until it closes.
    public static func serve() {
        // A worker must not outlive its run: when medad stops (a signal, a kill), the kernel kills the worker too,
        // even one stuck in a hung decode that nobody would time out any more.
        _ = med_die_with_parent()
        let encoder = JSONEncoder()
        while let line = readLine(strippingNewline: true) {
            let result: ProbeResult
            if let request = try? JSONDecoder().decode(ProbeRequest.self, from: Data(line.utf8)) {
                result = ImageProbe.examine(request)
            } else {
                result = ProbeResult(error: "malformed request")
            }
            var data = (try? encoder.encode(result)) ?? Data(#"{"error":"unencodable result"}"#.utf8)
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
        }
    }
}
