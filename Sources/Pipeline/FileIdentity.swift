// What "unchanged" means for a file everywhere in medad: its size and modification time (nanoseconds).
// Fingerprints, ingest's incremental reruns and normalize's staleness check all read it from here.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public struct FileIdentity: Equatable, Sendable {
    public let size: Int64
    public let modifiedNanoseconds: Int64

    /// Why a file's identity could not be read: errno's text.
    public struct Unreadable: Error, CustomStringConvertible {
        public let description: String
    }

    /// stat(2) of `path`.
    public init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Unreadable(description: String(cString: strerror(errno))) }
        size = Int64(info.st_size)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
