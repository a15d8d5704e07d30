// Slurm's client commands (sbatch, squeue, scontrol, scancel), run as child processes: medad describes the work
// and Slurm schedules it. An absent command is an error that says where medad slurm has to run.
import Foundation

public struct SlurmError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

enum SlurmCommand {
    /// The command's standard output; a non-zero exit is an error quoting its standard error.
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        guard let executable = locate(tool) else {
            throw SlurmError(
                "\(tool) not found on PATH: run medad slurm on a Slurm login node, or a machine with Slurm's client commands and its slurm.conf"
            )
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Standard output first, then the error stream: Slurm's tools write at most a few lines there, far below
        // what a pipe holds, so the child never blocks on it.
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw SlurmError("\(tool) \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): \(message)")
        }
        return text
    }

    static func locate(_ tool: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(tool) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
