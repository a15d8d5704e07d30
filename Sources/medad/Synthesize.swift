import ArgumentParser
import Foundation
import Pipeline
import Stages

struct Synthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the synthetic chest-radiograph dataset (DICOM and RSNA-format labels) without a manifest.",
        discussion: "Runs the synthesize stage kind into OUTPUT/synthesize/, with the same outputs and safety as in a pipeline.")

    @Argument(help: "Folder to write into (created if needed).")
    var output: String

    @Option(help: "Seed; the same seed gives the same files.")
    var seed = 8
    @Option(help: "Image rows and columns.")
    var size = 256
    @Option(help: "Images of class Normal.")
    var normal = 600
    @Option(name: .customLong("lung-opacity"), help: "Images of class Lung Opacity.")
    var lungOpacity = 400
    @Option(name: .customLong("not-normal"), help: "Images of class No Lung Opacity / Not Normal.")
    var notNormal = 100
    @Flag(help: "Rewrite the files even when nothing changed.")
    var force = false
    @Flag(help: "Print errors only.")
    var quiet = false

    func run() throws {
        let folder = URL(fileURLWithPath: output).standardizedFileURL
        let yaml = """
            name: synthesize
            run_dir: \(folder.path)
            stages:
              synthesize:
                kind: synthesize
                params: {seed: \(seed), size: \(size), normal: \(normal), lung_opacity: \(lungOpacity), not_normal: \(notNormal)}
            """
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(yaml, file: folder.appendingPathComponent("(command line)"), registry: stageRegistry)
        } catch { fail(String(describing: error)) }
        var options = RunOptions()
        options.force = force
        let summary: RunSummary
        do {
            summary = try Runner(manifest: manifest, registry: stageRegistry, reporter: Reporter(mode: Reporter.detectMode(quiet: quiet)))
                .run(options)
        } catch { fail(String(describing: error)) }
        if !quiet { print("outputs: \(folder.appendingPathComponent("synthesize").path)") }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}
