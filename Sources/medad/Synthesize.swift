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

    // Unset options take the synthesize stage's defaults (SynthesizeStage.Settings).
    @Option(help: "Seed; the same seed gives the same files (default \(SynthesizeStage.Settings().seed)).")
    var seed: Int?
    @Option(help: "Image rows and columns (default \(SynthesizeStage.Settings().size)).")
    var size: Int?
    @Option(help: "Images of class Normal (default \(SynthesizeStage.Settings().normal)).")
    var normal: Int?
    @Option(name: .customLong("lung-opacity"), help: "Images of class Lung Opacity (default \(SynthesizeStage.Settings().lungOpacity)).")
    var lungOpacity: Int?
    @Option(
        name: .customLong("not-normal"),
        help: "Images of class No Lung Opacity / Not Normal (default \(SynthesizeStage.Settings().notNormal)).")
    var notNormal: Int?
    @Flag(help: "Rewrite the files even when nothing changed.")
    var force = false
    @Flag(help: "Print errors only.")
    var quiet = false

    func run() throws {
        let folder = URL(fileURLWithPath: output).standardizedFileURL
        let given = [("seed", seed), ("size", size), ("normal", normal), ("lung_opacity", lungOpacity), ("not_normal", notNormal)]
        let params = given.compactMap { name, value in value.map { "\(name): \($0)" } }.joined(separator: ", ")
        let yaml = """
            name: synthesize
            run_dir: \(folder.path)
            stages:
              synthesize:
                kind: synthesize
                params: {\(params)}
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
