// File names made from identifiers that arrive in files (a DICOM SOP Instance UID, a file stem, an upstream
// CSV's id column, a score name). An identifier is never a path: a UID of "../../etc/x" must not write into
// /etc. `fileName` is a safe, injective encoding; `child` is the only way a writer turns a name into a URL.
import Crypto
import Foundation

public enum SafeName {
    /// Characters kept as they are; everything else (and a leading '.') is written as %XX of its UTF-8 bytes,
    /// so different ids never share a name. '~' is always escaped, which keeps it free for the hashed form.
    static func isKept(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }

    /// Longest encoded name before it is shortened to a prefix and a hash (file systems allow 255 bytes,
    /// and callers add prefixes and extensions).
    static let maxLength = 160

    /// A file name (no extension) for `id`: the id itself when it is made of letters, digits, '.', '_' and '-'
    /// and does not start with '.'; otherwise percent-escaped; a long result becomes its first 100 characters,
    /// '~' and 32 hex digits of the id's SHA-256.
    public static func fileName(_ id: String) -> String {
        var out = ""
        for (index, byte) in id.utf8.enumerated() {
            if isKept(byte) && !(index == 0 && byte == UInt8(ascii: ".")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        if out.isEmpty { return "%" }  // the empty id: '%' alone is no escape, so nothing else maps here
        guard out.utf8.count > maxLength else { return out }
        let digest = SHA256.hash(data: Data(id.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        return String(out.prefix(100)) + "~" + digest
    }

    /// Whether `text` follows the DICOM UID grammar (PS3.5 9.1): at most 64 characters, digits in
    /// dot-separated components, no empty component, no leading zero in a component of several digits.
    public static func isUID(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 64 else { return false }
        for component in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if component.count > 1 && component.first == "0" { return false }
        }
        return true
    }

    /// `folder/name`, refusing a name that is not a single plain path component (empty, '.', '..', with '/'
    /// or NUL) and an existing symbolic link there (it could point anywhere).
    public static func child(_ folder: URL, _ name: String) throws -> URL {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            throw UnsafePathError(folder: folder.path, name: name)
        }
        let url = folder.appendingPathComponent(name)
        var status = stat()
        if lstat(url.path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK { throw UnsafePathError(folder: folder.path, name: name) }
        return url
    }

    /// A relative path below `folder` (as an upstream CSV's `file` column holds it), component by component.
    public static func descendant(_ folder: URL, _ relative: String) throws -> URL {
        guard !relative.hasPrefix("/") else { throw UnsafePathError(folder: folder.path, name: relative) }
        var url = folder
        for component in relative.split(separator: "/", omittingEmptySubsequences: false) {
            url = try child(url, String(component))
        }
        return url
    }
}

/// A name that would leave its folder.
public struct UnsafePathError: Error, CustomStringConvertible {
    public let folder: String
    public let name: String
    public var description: String {
        "refused to write or read '\(name.debugDescription.dropFirst().dropLast())' in \(folder): not a plain file name inside that folder"
    }
}
