// Typed settings: a stage's parameters declared once, bound to its settings struct's fields by key path.
import Foundation
import XCTest

@testable import Pipeline

final class SettingTests: XCTestCase {
    struct Example {
        var steps = 12
        var rate: Float = 5e-4
        var name = "z"
        var learners = 3
        var window: Double?
        var file: URL?
    }
    static let settings: [Setting<Example>] = [
        .int("steps", \.steps, 1...100, "steps"),
        .float("rate", \.rate, 0...1, "rate"),
        .choice("name", \.name, ["z", "en1"], "name"),
        .int("learners", \.learners, 1...64, optional: true, "ensemble size"),
        .optionalDouble("window", \.window, nil, "window"),
        .path("file", \.file, "a file"),
    ]

    /// Defaults come from the struct, written once; a Float default enters as its shortest decimal.
    func testSpecsTakeTheStructsDefaults() {
        let specs = Dictionary(uniqueKeysWithValues: Self.settings.specs(defaults: Example()).map { ($0.name, $0) })
        XCTAssertEqual(specs["steps"]?.defaultValue, .int(12))
        XCTAssertEqual(specs["rate"]?.defaultValue, .double(0.0005))
        XCTAssertEqual(specs["name"]?.type, .choice(["z", "en1"]))
        XCTAssertEqual(specs["learners"]?.isOptional, true)
        XCTAssertNil(specs["learners"]?.defaultValue)
        XCTAssertEqual(specs["learners"]?.help, "ensemble size (default 3)")
        XCTAssertEqual(specs["window"]?.help, "window", "an optional without a default of its own names none")
    }

    /// Given values land in their fields; absent ones keep the struct's defaults.
    func testApplyWritesGivenValuesIntoTheirFields() {
        let given = Parameters(["steps": .int(7), "rate": .int(1), "window": .double(40), "file": .string("/data/x.csv")])
        let example = Self.settings.apply(given, to: Example())
        XCTAssertEqual(example.steps, 7)
        XCTAssertEqual(example.rate, 1, "an integer given for a number")
        XCTAssertEqual(example.name, "z")
        XCTAssertEqual(example.learners, 3)
        XCTAssertEqual(example.window, 40)
        XCTAssertEqual(example.file?.path, "/data/x.csv")
    }
}
