// One stage's sbatch script: its resources, its log under <run>/slurm/logs/, a check that the run directory is
// visible on the compute node (it must be on a filesystem every node mounts), and `medad run MANIFEST --stage
// NAME` with its threads following SLURM_CPUS_PER_TASK.
import Foundation

enum SlurmScript {
    /// `parts`: the script of the job array that runs these shard parts of the stage (SLURM_ARRAY_TASK_ID is the
    /// part); nil: the stage's own job (with `join`: assembling its parts).
    static func render(
        stage: StageDeclaration, fingerprint: String, manifest: Manifest, directory: RunDirectory, options: SlurmOptions,
        parts: [Int]? = nil
    ) -> String {
        let logs = directory.slurmDirectory.appendingPathComponent("logs")
        var lines = [
            "#!/bin/bash",
            "#SBATCH --job-name=medad-\(manifest.name)-\(stage.name)\(parts == nil ? "" : "-parts")",
            "#SBATCH --output=\(logs.appendingPathComponent(parts == nil ? "\(stage.name)-%j.log" : "\(stage.name)-part%a-%A.log").path)",
            "#SBATCH --cpus-per-task=\(stage.slurm.cpus)",
            "#SBATCH --mem=\(stage.slurm.memory)",
            "#SBATCH --time=\(stage.slurm.time)",
        ]
        if let parts { lines.append("#SBATCH --array=" + parts.map(String.init).joined(separator: ",")) }
        if let partition = options.partition { lines.append("#SBATCH --partition=\(partition)") }
        if let account = options.account { lines.append("#SBATCH --account=\(account)") }
        lines += [
            "# Written by medad \(medadVersion) for \(manifest.file.path): stage \(stage.name) (\(stage.kind)), fingerprint \(fingerprint.prefix(12)).",
            "set -eu",
            "run_dir=\(quoted(directory.root.path))",
            "if [ ! -d \"$run_dir\" ]; then",
            "  echo \"medad: the run directory $run_dir is not visible on $(hostname): put it on a filesystem every node mounts\" >&2",
            "  exit 1",
            "fi",
            "threads=\"${SLURM_CPUS_PER_TASK:-1}\"",
            "export OPENBLAS_NUM_THREADS=\"$threads\"",
            "exec \(quoted(options.medad.path)) run \(quoted(manifest.file.path)) --stage \(quoted(stage.name)) --jobs \"$threads\""
                + (parts != nil ? " --shard \"$SLURM_ARRAY_TASK_ID/\(stage.shards)\"" : stage.shards > 1 ? " --join \(stage.shards)" : ""),
            "",
        ]
        return lines.joined(separator: "\n")
    }

    /// A shell word: single quotes, with any single quote inside closed, escaped and reopened.
    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
