// What a stage asks Slurm for, from the stage's `slurm:` key in the manifest (each field optional):
//   slurm: {cpus: 8, memory: 16G, time: "12:00:00"}
// cpus → --cpus-per-task (and the task's threads: OPENBLAS_NUM_THREADS and --jobs follow SLURM_CPUS_PER_TASK),
// memory → --mem (Slurm's units: 4000M, 16G), time → --time (Slurm's forms: minutes, HH:MM:SS, D-HH:MM:SS).
// Resources change where and how fast a stage runs, never its outputs: they are not in the fingerprint.
import Foundation

public struct SlurmResources: Sendable, Equatable {
    public var cpus = 2
    public var memory = "4G"
    public var time = "1-00:00:00"

    public init() {}

    /// Why `memory` is not something sbatch's --mem takes, or nil.
    static func memoryProblem(_ memory: String) -> String? {
        memory.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) == nil
            ? "expected a size as sbatch's --mem takes it (a number with K, M, G or T, e.g. 16G), got '\(memory)'" : nil
    }

    /// Why `time` is not something sbatch's --time takes, or nil.
    static func timeProblem(_ time: String) -> String? {
        let forms = [#"^[0-9]+$"#, #"^[0-9]+:[0-9]{2}$"#, #"^[0-9]+:[0-9]{2}:[0-9]{2}$"#, #"^[0-9]+-[0-9]+(:[0-9]{2}(:[0-9]{2})?)?$"#]
        return forms.contains { time.range(of: $0, options: .regularExpression) != nil }
            ? nil : "expected a time limit as sbatch's --time takes it (minutes, HH:MM:SS or D-HH:MM:SS), got '\(time)'"
    }
}
