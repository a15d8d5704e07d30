// <run>/slurm/jobs.json: what `medad slurm submit` last submitted for each stage (job id, the fingerprint it was
// submitted for, when, its dependencies), and each job's state as Slurm tells it now: squeue while the job is
// queued or running, scontrol while slurmctld still remembers it (MinJobAge), else "gone".
import Foundation

public struct SubmittedJob: Codable, Sendable, Equatable {
    public var stage: String
    public var job: String
    public var fingerprint: String
    public var submitted: Date
    public var dependencies: [String]
    public var script: String
    /// The job array of the stage's missing shard parts, when it has shards; `job` then joins them.
    public var parts: String?
    /// The shard parts (0-based) that array runs.
    public var partIndices: [Int]?

    /// Every job id submitted for the stage: its parts' array, when there is one, and its own.
    public var jobIDs: [String] { [parts, job].compactMap { $0 } }
}

public struct SlurmJobs: Sendable {
    public var byStage: [String: SubmittedJob]

    static func url(_ directory: RunDirectory) -> URL { directory.slurmDirectory.appendingPathComponent("jobs.json") }

    /// The recorded jobs; none when nothing was submitted yet.
    public static func read(_ directory: RunDirectory) throws -> SlurmJobs {
        let file = url(directory)
        guard FileManager.default.fileExists(atPath: file.path) else { return SlurmJobs(byStage: [:]) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            let jobs = try decoder.decode([SubmittedJob].self, from: Data(contentsOf: file))
            return SlurmJobs(byStage: Dictionary(jobs.map { ($0.stage, $0) }, uniquingKeysWith: { _, last in last }))
        } catch {
            throw SlurmError("\(file.path): unreadable (\(error)); move it away to start over")
        }
    }

    func write(_ directory: RunDirectory) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(
            try encoder.encode(
                byStage.values.sorted { $0.submitted < $1.submitted || ($0.submitted == $1.submitted && $0.stage < $1.stage) }),
            to: Self.url(directory))
    }

    /// States that mean the job will still run: its stage's outputs are coming.
    public static let active: Set<String> = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"]

    /// Each job's Slurm state (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, …; "gone" when Slurm no
    /// longer knows it), by job id.
    public static func states(of jobs: [String]) throws -> [String: String] {
        guard !jobs.isEmpty else { return [:] }
        var states: [String: String] = [:]
        // squeue lists queued and running jobs; array tasks as <job>_<task>, pending ones as <job>_[…].
        // --me: this user's jobs only (a cluster's whole queue can hold tens of thousands).
        let queue = try SlurmCommand.run("squeue", ["--me", "-h", "-o", "%i|%T"])
        for line in queue.split(separator: "\n") {
            let parts = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            let job = String(parts[0].split(separator: "_").first ?? "")
            if jobs.contains(job) { states[job] = parts[1] }
        }
        for job in jobs where states[job] == nil {
            let shown = (try? SlurmCommand.run("scontrol", ["show", "job", "-o", job])) ?? ""
            let state = shown.split(separator: " ").first { $0.hasPrefix("JobState=") }.map { String($0.dropFirst("JobState=".count)) }
            states[job] = state ?? "gone"
        }
        return states
    }
}
