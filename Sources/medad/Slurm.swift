// `medad slurm submit|cancel MANIFEST`: the run's stages as Slurm jobs (Pipeline/Slurm). Run it on a login node
// or from cron; it returns as soon as the jobs are queued.
import ArgumentParser
import Foundation
import Pipeline
import Stages

struct Slurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline on a Slurm cluster: one job per stage to run, afterok between stages.",
        subcommands: [Submit.self, Cancel.self])

    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write <run>/slurm/<stage>.sbatch for every stage that is not fresh and submit them with sbatch.",
            discussion: """
                Fresh stages (fingerprint unchanged) are not submitted, nor stages whose job is still queued or running; \
                a rerun after a failed or cancelled job submits that stage and what depends on it. The run directory \
                must be on a filesystem every node mounts. Each stage's `slurm: {cpus, memory, time}` in the manifest \
                sets its request (default 2 CPUs, 4G, one day).
                """)

        @Argument(help: "The pipeline manifest (YAML).")
        var manifest: String

        @Option(help: "Slurm partition for every job (sbatch --partition).")
        var partition: String?

        @Option(help: "Slurm account to charge (sbatch --account).")
        var account: String?

        @Flag(name: .customLong("dry-run"), help: "Show what would be submitted and why, without writing or submitting anything.")
        var dryRun = false

        func run() throws {
            let manifest = try loadManifest(self.manifest)
            let runner = Runner(manifest: manifest, registry: stageRegistry, reporter: Reporter(mode: .quiet))
            var options = SlurmOptions(medad: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
            options.partition = partition
            options.account = account
            options.dryRun = dryRun
            let lines: [SubmissionLine]
            do { lines = try SlurmSubmitter(runner: runner).submit(options) } catch let error as SlurmError {
                fail(error.description)
            } catch let error as PlanError {
                fail(error.description)
            }
            printTable(
                [["stage", "action", "job", "after", "why"]]
                    + lines.map {
                        [
                            $0.stage, $0.action, $0.job ?? "-", $0.dependencies.isEmpty ? "-" : $0.dependencies.joined(separator: ","),
                            $0.reason,
                        ]
                    })
            if !dryRun {
                print(
                    "scripts and jobs.json: \(manifest.runDirectory.appendingPathComponent("slurm").path); watch with: medad status \(self.manifest)"
                )
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel the jobs medad slurm submit queued for this manifest.")

        @Argument(help: "The pipeline manifest (YAML).")
        var manifest: String

        func run() throws {
            let manifest = try loadManifest(self.manifest)
            let runner = Runner(manifest: manifest, registry: stageRegistry, reporter: Reporter(mode: .quiet))
            let cancelled: [(stage: String, job: String)]
            do { cancelled = try SlurmSubmitter(runner: runner).cancel() } catch let error as SlurmError { fail(error.description) }
            print(
                cancelled.isEmpty
                    ? "nothing queued or running" : cancelled.map { "cancelled \($0.stage): job \($0.job)" }.joined(separator: "\n"))
        }
    }
}
