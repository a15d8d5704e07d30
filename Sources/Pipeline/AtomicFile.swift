// Nothing is half-written: data goes to a temporary file beside the target, is flushed, then renamed over it.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public enum AtomicFile {
    public static func write(_ data: Data, to url: URL, permissions: mode_t = 0o644) throws {
        try write(to: url, permissions: permissions) { append in try data.withUnsafeBytes { try append($0) } }
    }

    /// As write(_:to:), the contents given in pieces: `body` calls `append` once per piece.
    public static func write(
        to url: URL, permissions: mode_t = 0o644, _ body: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw POSIXFailure("create \(temporary.path)") }
        do {
            try body { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw POSIXFailure("write \(temporary.path)")
                    }
                    offset += n
                }
            }
            if fsync(fd) != 0 { throw POSIXFailure("fsync \(temporary.path)") }
        } catch {
            close(fd)
            unlink(temporary.path)
            throw error
        }
        close(fd)
        guard rename(temporary.path, url.path) == 0 else {
            let error = POSIXFailure("rename to \(url.path)")
            unlink(temporary.path)
            throw error
        }
    }
}

/// A failed system call with errno's text.
public struct POSIXFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}
