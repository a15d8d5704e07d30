// What a run tells people: on a terminal, a live progress line per running stage; otherwise (cron)
// plain timestamped lines. Every line also goes to run.log. Quiet mode prints errors only.
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public final class Reporter: Sendable {
    public enum Mode: Sendable { case interactive, plain, quiet }

    private struct Progress {
        var done: Int
        var total: Int
        let started: Date
    }

    /// Everything that changes while stages report from their threads; one lock keeps lines whole.
    private struct State {
        var logHandle: FileHandle?
        var progress: [(String, Progress)] = []
        var drawnLines = 0
        var lastDraw = Date.distantPast
        let timestamp: DateFormatter = {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZZZZZ"
            return f
        }()

        mutating func writeLog(_ line: String) { logHandle?.write(Data(line.utf8)) }
    }

    private let mode: Mode
    private let state = Mutex(State())

    public init(mode: Mode) { self.mode = mode }

    /// The mode for this process: interactive when stderr is a terminal, unless quiet.
    public static func detectMode(quiet: Bool) -> Mode {
        quiet ? .quiet : (isatty(STDERR_FILENO) == 1 ? .interactive : .plain)
    }

    /// Starts appending every line to `url` as well.
    func attachLog(_ url: URL) {
        state.withLock { state in
            if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
            state.logHandle = try? FileHandle(forWritingTo: url)
            _ = try? state.logHandle?.seekToEnd()
        }
    }

    func detachLog() {
        state.withLock { state in
            try? state.logHandle?.close()
            state.logHandle = nil
        }
    }

    public func info(_ message: String) { emit("INFO", message, isError: false) }
    public func warning(_ message: String) { emit("WARN", message, isError: false) }
    public func error(_ message: String) { emit("ERROR", message, isError: true) }

    func itemFailed(stage: String, item: String, reason: String) {
        // Item failures are listed in errors.csv; the log gets them too, the terminal only the count.
        state.withLock { state in
            state.writeLog("\(state.timestamp.string(from: Date())) WARN \(stage): \(Self.oneLine(item)): \(Self.oneLine(reason))\n")
        }
    }

    /// Control characters (a newline or an escape sequence inside a file's identifier) written as \u{…}, so that
    /// one message is one line and cannot forge log lines or drive the terminal.
    public static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
        return String(
            text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
                .joined())
    }

    func stageStarted(_ stage: String) {
        state.withLock { $0.progress.append((stage, Progress(done: 0, total: 0, started: Date()))) }
    }

    func stageEnded(_ stage: String) {
        state.withLock { $0.progress.removeAll { $0.0 == stage } }
    }

    func progress(stage: String, done: Int, total: Int) {
        guard mode == .interactive else { return }
        state.withLock { state in
            guard let index = state.progress.firstIndex(where: { $0.0 == stage }) else { return }
            state.progress[index].1.done = done
            state.progress[index].1.total = total
            let now = Date()
            if done < total && now.timeIntervalSince(state.lastDraw) < 0.1 { return }
            state.lastDraw = now
            redraw(&state)
        }
    }

    private func emit(_ level: String, _ message: String, isError: Bool) {
        let message = Self.oneLine(message)
        state.withLock { state in
            let line = "\(state.timestamp.string(from: Date())) \(level) \(message)\n"
            state.writeLog(line)
            switch mode {
            case .quiet where !isError: return
            case .interactive:
                clearProgress(&state)
                FileHandle.standardError.write(Data((isError ? "error: \(message)\n" : "\(message)\n").utf8))
                redraw(&state)
            default:
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
    }

    // Terminal drawing; called with the lock held.
    private func clearProgress(_ state: inout State) {
        guard state.drawnLines > 0 else { return }
        let n = state.drawnLines
        FileHandle.standardError.write(Data(("\u{1B}[\(n)A" + String(repeating: "\u{1B}[2K\n", count: n) + "\u{1B}[\(n)A").utf8))
        state.drawnLines = 0
    }

    private func redraw(_ state: inout State) {
        guard mode == .interactive else { return }
        clearProgress(&state)
        var text = ""
        for (stage, p) in state.progress where p.total > 0 {
            let elapsed = max(Date().timeIntervalSince(p.started), 1e-3)
            let rate = Double(p.done) / elapsed
            let eta = rate > 0 ? Double(p.total - p.done) / rate : 0
            text += "  \(stage)  \(p.done)/\(p.total)  " + String(format: "%.1f", rate) + " items/s  ETA \(Self.duration(eta))\n"
            state.drawnLines += 1
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
