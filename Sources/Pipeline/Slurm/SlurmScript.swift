// One stage's sbatch script: its resources, its log under <run>/slurm/logs/, a check that the run directory is
// visible on the compute node (it must be on a filesystem every node mounts), and `medad run MANIFEST --stage
// NAME` with its threads following SLURM_CPUS_PER_TASK.
import Foundation

enum SlurmScript {
    static func render(
        stage: StageDeclaration, fingerprint: String, manifest: Manifest, directory: RunDirectory, options: SlurmOptions
    ) -> String {
        let logs = directory.slurmDirectory.appendingPathComponent("logs")
        var lines = [
            "#!/bin/bash",
            "#SBATCH --job-name=medad-\(manifest.name)-\(stage.name)",
            "#SBATCH --output=\(logs.appendingPathComponent("\(stage.name)-%j.log").path)",
            "#SBATCH --cpus-per-task=\(stage.slurm.cpus)",
            "#SBATCH --mem=\(stage.slurm.memory)",
            "#SBATCH --time=\(stage.slurm.time)",
        ]
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
            "exec \(quoted(options.medad.path)) run \(quoted(manifest.file.path)) --stage \(quoted(stage.name)) --jobs \"$threads\"",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    /// A shell word: single quotes, with any single quote inside closed, escaped and reopened.
    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
