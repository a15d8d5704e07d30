// `medad slurm submit`: the run's stages as Slurm jobs. The plan is a plain run's (fingerprints decide: a fresh
// stage is not submitted, a stage whose job is still queued or running for the same fingerprint is not submitted
// again); each stage to run gets <run>/slurm/<stage>.sbatch, which runs `medad run MANIFEST --stage <stage>` on a
// compute node, and is submitted with `sbatch --parsable`, depending (afterok) on the jobs of its upstream
// stages. medad returns as soon as everything is queued: nothing waits on the login node or in cron.
// A stage's learners (D2UE's chain included) train inside its one job, in order, as they do locally.
import Foundation

public struct SlurmOptions: Sendable {
    public var partition: String?
    public var account: String?
    public var dryRun = false
    /// The medad binary the jobs run (this one's, resolved).
    public var medad: URL
    public init(medad: URL) { self.medad = medad }
}

/// One stage's outcome of a submission.
public struct SubmissionLine: Sendable {
    public let stage: String
    /// "submitted", "queued already", "fresh", "would submit" (dry run).
    public let action: String
    public let job: String?
    public let dependencies: [String]
    public let reason: String
}

public struct SlurmSubmitter {
    let runner: Runner
    var directory: RunDirectory { runner.directory }
    var manifest: Manifest { runner.manifest }

    public init(runner: Runner) { self.runner = runner }

    public func submit(_ options: SlurmOptions) throws -> [SubmissionLine] {
        let plan = try runner.plan(selected: Set(manifest.stages.map(\.name)), forced: false)
        if !options.dryRun {
            do { try directory.claim() } catch let error as RunDirectoryError {
                throw SlurmError("run_dir: \(error.description)")
            }
            try FileManager.default.createDirectory(
                at: directory.slurmDirectory.appendingPathComponent("logs"), withIntermediateDirectories: true)
        }
        var jobs = try SlurmJobs.read(directory)
        let states = try SlurmJobs.states(of: jobs.byStage.values.map(\.job))
        var lines: [SubmissionLine] = []
        var jobOf: [String: String] = [:]  // stage → the job its dependants wait for
        for stage in plan {
            let name = stage.declaration.name
            let previous = jobs.byStage[name]
            let previousState = previous.flatMap { states[$0.job] }
            if let previous, let state = previousState, SlurmJobs.active.contains(state) {
                guard previous.fingerprint == stage.fingerprint else {
                    throw SlurmError(
                        "\(name): job \(previous.job) is still \(state) for an earlier version of this stage; cancel it first (medad slurm cancel \(manifest.file.path))"
                    )
                }
                jobOf[name] = previous.job
                lines.append(SubmissionLine(stage: name, action: "queued already", job: previous.job, dependencies: [], reason: state))
                continue
            }
            guard stage.willRun else {
                lines.append(SubmissionLine(stage: name, action: "fresh", job: nil, dependencies: [], reason: "fingerprint unchanged"))
                continue
            }
            let dependencies = stage.declaration.after.compactMap { jobOf[$0] }
            let reason: String
            switch stage.freshness {
            case .stale(let why): reason = why
            case .missing: reason = "no previous outputs"
            case .fresh: reason = "forced"
            }
            let script = directory.slurmDirectory.appendingPathComponent("\(name).sbatch")
            let text = SlurmScript.render(
                stage: stage.declaration, fingerprint: stage.fingerprint, manifest: manifest, directory: directory, options: options)
            if options.dryRun {
                lines.append(SubmissionLine(stage: name, action: "would submit", job: nil, dependencies: dependencies, reason: reason))
                jobOf[name] = "(\(name))"
                continue
            }
            // A sharded stage: a job array over the parts not yet committed for this fingerprint, then the join.
            var partsJob: String?, partIndices: [Int]?
            if stage.declaration.shards > 1 {
                let missing = directory.parts(name, fingerprint: stage.fingerprint, count: stage.declaration.shards).missing.map(\.index)
                if !missing.isEmpty {
                    let partsScript = directory.slurmDirectory.appendingPathComponent("\(name).parts.sbatch")
                    let partsText = SlurmScript.render(
                        stage: stage.declaration, fingerprint: stage.fingerprint, manifest: manifest, directory: directory,
                        options: options,
                        parts: missing)
                    try AtomicFile.write(Data(partsText.utf8), to: partsScript, permissions: 0o755)
                    (partsJob, partIndices) = (try sbatch(partsScript, after: dependencies), missing)
                }
            }
            try AtomicFile.write(Data(text.utf8), to: script, permissions: 0o755)
            let job = try sbatch(script, after: partsJob.map { [$0] } ?? dependencies)
            jobOf[name] = job
            jobs.byStage[name] = SubmittedJob(
                stage: name, job: job, fingerprint: stage.fingerprint, submitted: Date(), dependencies: dependencies,
                script: script.path, parts: partsJob, partIndices: partIndices)
            // Written after every submission: a failure halfway leaves a record of what is queued.
            try jobs.write(directory)
            let action = partsJob.map {
                "submitted, parts \(partIndices!.map(String.init).joined(separator: ",")) of \(stage.declaration.shards) as job \($0)"
            }
            lines.append(SubmissionLine(stage: name, action: action ?? "submitted", job: job, dependencies: dependencies, reason: reason))
        }
        return lines
    }

    /// Submits a script, to start when every job in `after` has succeeded; returns its job id.
    func sbatch(_ script: URL, after: [String]) throws -> String {
        var arguments = ["--parsable"]
        if !after.isEmpty { arguments += ["--dependency=afterok:" + after.joined(separator: ":"), "--kill-on-invalid-dep=yes"] }
        arguments.append(script.path)
        let answer = try SlurmCommand.run("sbatch", arguments).trimmingCharacters(in: .whitespacesAndNewlines)
        // --parsable prints "<job id>" or "<job id>;<cluster>".
        guard let job = answer.split(separator: ";").first.map(String.init), !job.isEmpty, job.allSatisfy(\.isNumber) else {
            throw SlurmError("sbatch answered '\(answer)' for \(script.path), not a job id")
        }
        return job
    }

    /// Cancels every recorded job Slurm still holds queued or running; returns the cancelled (stage, job) pairs.
    public func cancel() throws -> [(stage: String, job: String)] {
        let jobs = try SlurmJobs.read(directory)
        let states = try SlurmJobs.states(of: jobs.byStage.values.flatMap(\.jobIDs))
        let live = jobs.byStage.values.sorted { $0.stage < $1.stage }.flatMap { job in
            job.jobIDs.filter { states[$0].map(SlurmJobs.active.contains) ?? false }.map {
                (job.stage, $0)
            }
        }
        if !live.isEmpty { _ = try SlurmCommand.run("scancel", live.map(\.1)) }
        return live.map { (stage: $0.0, job: $0.1) }
    }
}
