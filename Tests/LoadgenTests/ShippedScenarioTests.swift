import Foundation
import ResilientClient
import TestSupport
import Testing

@testable import LoadgenCore

/// The scenario files in `scenarios/` decode and validate (with stub model folders beside them, since the
/// example models live in another part of the repository).
@Suite struct ShippedScenarioTests {
    static let repository = URL(fileURLWithPath: Repository.root)

    @Test(arguments: ["quickstart.json", "sla-check.json", "ramp-to-overload.json", "closed-loop.json", "adaptive-rate-limit.json"])
    func decodes(file: String) throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        for model in ["echo", "trivial"] {
            try FileManager.default.createDirectory(atPath: directory.path + "/examples/" + model, withIntermediateDirectories: true)
        }
        let text = try String(contentsOf: Self.repository.appendingPathComponent("scenarios/" + file), encoding: .utf8)
        let path = try directory.write("scenarios/" + file, text)
        let scenario = try Scenario.load(path: path, currentDirectory: "/")
        #expect(scenario.name + ".json" == file)
        #expect(!scenario.thresholds.isEmpty)
        let described = LoadgenCommand.describe(scenario)
        #expect(described.hasPrefix("ok: "))
    }

    @Test func theAdaptiveRateLimitScenarioTurnsTheLimiterOnAndSaysSo() throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(atPath: directory.path + "/examples/echo", withIntermediateDirectories: true)
        let text = try String(
            contentsOf: Self.repository.appendingPathComponent("scenarios/adaptive-rate-limit.json"), encoding: .utf8)
        let scenario = try Scenario.load(
            path: try directory.write("scenarios/adaptive-rate-limit.json", text), currentDirectory: "/")
        #expect(scenario.client.adaptiveRateLimit == AdaptiveRateLimiter.Configuration(minimumRate: 10))
        #expect(LoadgenCommand.describe(scenario).contains(", adaptive rate limit\n"))
    }

    @Test func quickstartIsModest() throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(atPath: directory.path + "/examples/echo", withIntermediateDirectories: true)
        let text = try String(contentsOf: Self.repository.appendingPathComponent("scenarios/quickstart.json"), encoding: .utf8)
        let scenario = try Scenario.load(path: try directory.write("scenarios/quickstart.json", text), currentDirectory: "/")
        #expect(scenario.load.duration == .seconds(10))
        #expect(ArrivalSchedule(load: scenario.load)?.count == 2000)
    }
}
