// What a run tells people: on a terminal, a live progress line per running stage; otherwise (cron)
// plain timestamped lines. Every line also goes to run.log. Quiet mode prints errors only.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public final class Reporter: @unchecked Sendable {
    public enum Mode: Sendable { case interactive, plain, quiet }

    private struct Progress {
        var done: Int
        var total: Int
        let started: Date
    }

    private let mode: Mode
    private let lock = NSLock()
    private var logHandle: FileHandle?
    private var progress: [(String, Progress)] = []
    private var drawnLines = 0
    private var lastDraw = Date.distantPast
    private let timestamp: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZZZZZ"
        return f
    }()

    public init(mode: Mode) { self.mode = mode }

    /// The mode for this process: interactive when stderr is a terminal, unless quiet.
    public static func detectMode(quiet: Bool) -> Mode {
        quiet ? .quiet : (isatty(STDERR_FILENO) == 1 ? .interactive : .plain)
    }

    /// Starts appending every line to `url` as well.
    func attachLog(_ url: URL) {
        lock.lock()
        defer { lock.unlock() }
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        logHandle = try? FileHandle(forWritingTo: url)
        _ = try? logHandle?.seekToEnd()
    }

    func detachLog() {
        lock.lock()
        defer { lock.unlock() }
        try? logHandle?.close()
        logHandle = nil
    }

    public func info(_ message: String) { emit("INFO", message, isError: false) }
    public func warning(_ message: String) { emit("WARN", message, isError: false) }
    public func error(_ message: String) { emit("ERROR", message, isError: true) }

    func itemFailed(stage: String, item: String, reason: String) {
        // Item failures are listed in errors.csv; the log gets them too, the terminal only the count.
        lock.lock()
        defer { lock.unlock() }
        writeLog("\(timestamp.string(from: Date())) WARN \(stage): \(Self.oneLine(item)): \(Self.oneLine(reason))\n")
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
        lock.lock()
        progress.append((stage, Progress(done: 0, total: 0, started: Date())))
        lock.unlock()
    }

    func stageEnded(_ stage: String) {
        lock.lock()
        progress.removeAll { $0.0 == stage }
        lock.unlock()
    }

    func progress(stage: String, done: Int, total: Int) {
        guard mode == .interactive else { return }
        lock.lock()
        defer { lock.unlock() }
        guard let index = progress.firstIndex(where: { $0.0 == stage }) else { return }
        progress[index].1.done = done
        progress[index].1.total = total
        let now = Date()
        if done < total && now.timeIntervalSince(lastDraw) < 0.1 { return }
        lastDraw = now
        redraw()
    }

    private func emit(_ level: String, _ message: String, isError: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let message = Self.oneLine(message)
        let line = "\(timestamp.string(from: Date())) \(level) \(message)\n"
        writeLog(line)
        switch mode {
        case .quiet where !isError: return
        case .interactive:
            clearProgress()
            FileHandle.standardError.write(Data((isError ? "error: \(message)\n" : "\(message)\n").utf8))
            redraw()
        default:
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    private func writeLog(_ line: String) {
        logHandle?.write(Data(line.utf8))
    }

    // Terminal drawing; called with the lock held.
    private func clearProgress() {
        guard drawnLines > 0 else { return }
        FileHandle.standardError.write(
            Data(("\u{1B}[\(drawnLines)A" + String(repeating: "\u{1B}[2K\n", count: drawnLines) + "\u{1B}[\(drawnLines)A").utf8))
        drawnLines = 0
    }

    private func redraw() {
        guard mode == .interactive else { return }
        clearProgress()
        var text = ""
        for (stage, p) in progress where p.total > 0 {
            let elapsed = max(Date().timeIntervalSince(p.started), 1e-3)
            let rate = Double(p.done) / elapsed
            let eta = rate > 0 ? Double(p.total - p.done) / rate : 0
            text += "  \(stage)  \(p.done)/\(p.total)  " + String(format: "%.1f", rate) + " items/s  ETA \(Self.duration(eta))\n"
            drawnLines += 1
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
