// Foundation's file errors ("NSCocoaErrorDomain Code=516") as sentences that say what went wrong and where.
import Foundation

public enum FileProblem {
    /// `error` in words: our own errors as they describe themselves, Foundation's and POSIX errors by cause and path.
    public static func describe(_ error: Error) -> String {
        guard error is CocoaError || error is POSIXError || type(of: error) is NSError.Type else { return String(describing: error) }
        let ns = error as NSError
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        let reason: String
        switch (ns.domain, ns.code) {
        case (NSPOSIXErrorDomain, let code): reason = String(cString: strerror(Int32(code)))
        case (NSCocoaErrorDomain, NSFileWriteFileExistsError): reason = "a file or folder of that name already exists"
        case (NSCocoaErrorDomain, NSFileWriteNoPermissionError), (NSCocoaErrorDomain, NSFileReadNoPermissionError):
            reason = "permission denied"
        case (NSCocoaErrorDomain, NSFileWriteVolumeReadOnlyError): reason = "the file system is read-only"
        case (NSCocoaErrorDomain, NSFileWriteOutOfSpaceError): reason = "no space left on the device"
        case (NSCocoaErrorDomain, NSFileNoSuchFileError), (NSCocoaErrorDomain, NSFileReadNoSuchFileError):
            reason = "no such file or folder"
        case (NSCocoaErrorDomain, NSFileWriteInvalidFileNameError), (NSCocoaErrorDomain, NSFileReadInvalidFileNameError):
            reason = "the name is not valid here (too long, or a part of the path is a file)"
        case (NSCocoaErrorDomain, NSFileReadCorruptFileError), (NSCocoaErrorDomain, NSFileReadInapplicableStringEncodingError):
            reason = "the file is not valid UTF-8 text"
        default:
            if let underlying, underlying.domain == NSPOSIXErrorDomain {
                reason = String(cString: strerror(Int32(underlying.code)))
            } else {
                reason = ns.localizedDescription
            }
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
}
