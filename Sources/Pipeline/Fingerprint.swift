// A stage's fingerprint: SHA-256 over medad's version, the stage kind, its parameters, the fingerprints
// of the upstream outputs it reads and the identities (path, size, modification time) of its input files.
import Crypto
import Foundation

enum Fingerprint {
    static func compute(
        kind: String, parameters: Parameters, upstream: [String: String], inputFiles: [URL],
        salt: String = ""
    ) -> (String, Int) {
        var hasher = SHA256()
        func add(_ text: String) { hasher.update(data: Data((text + "\n").utf8)) }
        add("medad \(medadVersion)")
        add("kind \(kind)")
        hasher.update(data: parameters.canonicalJSON)
        add("")
        for (name, fingerprint) in upstream.sorted(by: { $0.key < $1.key }) { add("upstream \(name) \(fingerprint)") }
        let files = expand(inputFiles)
        for file in files { add("input \(identity(of: file))") }
        if !salt.isEmpty { add("salt \(salt)") }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), files.count)
    }

    /// Folders stand for every regular file below them (hidden files excluded), in a stable order.
    static func expand(_ urls: [URL]) -> [URL] {
        var files: [URL] = []
        for url in urls {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                let walker = FileManager.default.enumerator(
                    at: url, includingPropertiesForKeys: [.isRegularFileKey],
                    options: [.skipsHiddenFiles])
                while let next = walker?.nextObject() as? URL {
                    if (try? next.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true { files.append(next) }
                }
            } else {
                files.append(url)
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    /// "path size seconds.nanoseconds" (the format stage.json fingerprints have always hashed).
    static func identity(of url: URL) -> String {
        guard let file = try? FileIdentity(path: url.path) else { return "\(url.path) missing" }
        let t = file.modifiedNanoseconds
        return "\(url.path) \(file.size) \(t / 1_000_000_000).\(t % 1_000_000_000)"
    }
}
