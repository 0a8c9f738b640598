import EndpointSpec
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import LoadgenCore

/// A real `loadgen experiment`: the shipped metastable.json, shortened to a few seconds, against the embedded
/// reference endpoint (real Python), once per variant. Checks the accounting and the JSON names, never the
/// timing (the machine is shared and noisy).
@Suite("loadgen experiment end to end", .serialized)
struct ExperimentRunTests {
    /// metastable.json with a 3.5 s load (1 s steady, a 0.5 s spike, 2 s steady) and the model folder made
    /// absolute, written to `directory`.
    static func shortenedMetastable(in directory: TempDir) throws -> String {
        let path = Repository.root + "/scenarios/experiments/metastable.json"
        let data = try #require(FileManager.default.contents(atPath: path))
        guard case .object(var root) = try LoadgenJSON.parse(Array(data)), case .object(var scenario)? = root["scenario"],
            case .object(var target)? = scenario["target"], case .object(var embedded)? = target["embedded"]
        else {
            throw LoadgenRunError.engineUnavailable("metastable.json has no scenario.target.embedded")
        }
        embedded["modelDir"] = .string(Repository.example("echo"))
        target["embedded"] = .object(embedded)
        scenario["target"] = .object(target)
        scenario["load"] = try LoadgenJSON.parse("""
            {"type": "ramping-rate", "startRate": 65, "stages": [
              {"target": 65, "duration": "1s"}, {"target": 140, "duration": "1ms"}, {"target": 140, "duration": "499ms"},
              {"target": 65, "duration": "1ms"}, {"target": 65, "duration": "1999ms"}]}
            """)
        root["scenario"] = .object(scenario)
        root["trigger"] = try LoadgenJSON.parse(#"{"start": "1s", "duration": "500ms"}"#)
        return try directory.write("metastable-short.json", LoadgenJSON.serialize(.object(root), indent: 2))
    }

    static func number(_ value: JSONValue?) -> Double? {
        if case .number(let text)? = value { return Double(text) }
        return nil
    }

    static func numbers(_ value: JSONValue?) -> [Double] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { number($0) }
    }

    @Test func shortenedMetastableAccountsForEveryCallAndKeepsTheJSONNames() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let file = try Self.shortenedMetastable(in: directory)
        let experiment = try Experiment.load(path: file)
        let scheduled = try #require(ArrivalSchedule(load: experiment.variants[0].scenario.load)).count
        let out = Mutex("")
        let err = Mutex("")
        let files = Mutex([String: String]())
        let environment = LoadgenEnvironment(
            engine: NetworkLoadEngine(),
            launcher: ProcessTargetLauncher(executable: try ScenarioRunTests.endpointExecutable(), leadingArguments: []),
            standardOutput: { text in out.withLock { $0 += text } },
            standardError: { text in err.withLock { $0 += text } },
            progressIsTerminal: false, currentDirectory: directory.path,
            writeFile: { path, contents in files.withLock { $0[path] = contents } })
        let code = await LoadgenCommand.main(
            ["experiment", file, "--json", "out.json", "--quiet"], environment: environment)
        let stdout = out.withLock { $0 }
        let stderr = err.withLock { $0 }
        // Whether the expectation holds in 3.5 s on a busy machine is not this test's business; running is.
        #expect(
            code == LoadgenExitCode.success.rawValue || code == LoadgenExitCode.thresholdsFailed.rawValue,
            "\(stdout)\n\(stderr)")
        #expect(!stderr.contains("do not add up"), "\(stderr)")
        #expect(stdout.contains("expectation: "))
        #expect(stdout.contains("the expectation held") || stdout.contains("the expectation did not hold"))
        let text = try #require(files.withLock { $0[directory.path + "/out.json"] })
        guard case .object(let root) = try LoadgenJSON.parse(text), case .array(let variants)? = root["variants"] else {
            Issue.record("no variants list in \(text)")
            return
        }
        #expect(root["kind"] == .string("experiment"))
        let names = variants.compactMap { variant -> String? in
            guard case .object(let object) = variant, case .string(let name)? = object["name"] else { return nil }
            return name
        }
        #expect(names == ["no-retries", "retries", "retries+budget", "retries+budget+gate"])
        for case .object(let variant) in variants {
            guard case .string(let name)? = variant["name"] else {
                Issue.record("a variant without a name")
                continue
            }
            for key in ["amplification", "goodput_rps", "recovery_s", "latency_ms", "attempts", "calls", "wasted"] {
                #expect(variant[key] != nil, "\(name): no \(key)")
            }
            guard case .object(let latency)? = variant["latency_ms"] else {
                Issue.record("\(name): latency_ms is not an object")
                continue
            }
            #expect(latency.pairs.map(\.key) == ["p50", "p99", "p999"])
            // Every scheduled call is counted once: ok + failed + not sent.
            let calls = try #require(Self.number(variant["calls"]))
            #expect(calls == Double(scheduled), "\(name)")
            guard case .array(let runs)? = variant["runs"], case .object(let run)? = runs.first else {
                Issue.record("\(name): no runs")
                continue
            }
            let ok = try #require(Self.number(run["ok"]))
            let failed = try #require(Self.number(run["failed"]))
            let notSent = try #require(Self.number(run["not_sent"]))
            #expect(ok + failed + notSent == calls, "\(name)")
            // Attempts: at least one per sent call; amplification is their ratio.
            let attempts = try #require(Self.number(variant["attempts"]))
            #expect(attempts >= ok + failed, "\(name)")
            let amplification = try #require(Self.number(variant["amplification"]))
            #expect(abs(amplification - attempts / (ok + failed)) < 0.001, "\(name)")
            // The per-second series add up to the totals.
            guard case .object(let series)? = variant["timeseries"] else {
                Issue.record("\(name): no timeseries")
                continue
            }
            #expect(Self.numbers(series["offered"]).reduce(0, +) == calls, "\(name)")
            #expect(Self.numbers(series["attempts"]).reduce(0, +) == attempts, "\(name)")
            let goodput = Self.numbers(series["goodput"]).reduce(0, +)
            #expect(goodput <= ok, "\(name)")
            // Goodput over the 3.5 s of load is the successes within the deadline.
            let goodputRPS = try #require(Self.number(variant["goodput_rps"]))
            #expect(abs(goodputRPS * 3.5 - goodput) < 0.01, "\(name): \(goodputRPS) × 3.5 s vs \(goodput)")
            if name == "no-retries" { #expect(attempts == ok + failed, "one attempt per call") }
            // The endpoint's /stats was read once it was idle: wasted work is a count of requests it received.
            let wasted = try #require(Self.number(variant["wasted"]), "\(name): wasted is not a number")
            #expect(wasted >= 0 && wasted <= attempts, "\(name): wasted \(wasted) of \(attempts) attempts")
        }
    }
}
