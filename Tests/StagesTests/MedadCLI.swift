// Running the built medad binary from tests, as users and cron do.
import Foundation
import XCTest

protocol MedadCLI {}

extension MedadCLI {
    var medad: URL {
        let candidates = [
            Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle(for: CLITests.self).bundleURL.deletingLastPathComponent(),
        ]
        return candidates.map { $0.appendingPathComponent("medad") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }!
    }

    func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = medad
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    /// Runs medad to the end; returns its exit code and everything it printed.
    @discardableResult
    func medad(_ arguments: String...) throws -> (code: Int32, output: String) {
        let (process, pipe) = try start(arguments)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
