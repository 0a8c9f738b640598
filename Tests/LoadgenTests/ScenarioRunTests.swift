import EndpointSpec
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import LoadgenCore

/// Real `loadgen run`s: the shipped quickstart against the embedded reference endpoint (a child process
/// running real Python), with the JSON report checked for exact accounting, thresholds and exit codes.
@Suite("loadgen run end to end", .serialized)
struct ScenarioRunTests {
    static let repository = URL(fileURLWithPath: Repository.root)

    /// `reference-endpoint`, built by `swift test` next to the test bundle; the launcher runs it in place of
    /// `loadgen serve` (the test process is not `loadgen`).
    static func endpointExecutable() throws -> String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent().path)
        }
        for directory in candidates where FileManager.default.isExecutableFile(atPath: directory + "/reference-endpoint") {
            return directory + "/reference-endpoint"
        }
        throw LoadgenRunError.embeddedTargetFailed("reference-endpoint not found next to the test bundle (\(candidates))")
    }

    struct Run {
        var code: Int32
        var stdout: String
        var stderr: String
        var report: JSONObject?
        var files: [String: String] = [:]
    }

    /// Runs `loadgen ARGS` in-process with the real engine and launcher; `--json` output is parsed.
    static func loadgen(_ arguments: [String], json: String? = nil) async throws -> Run {
        let out = Mutex("")
        let err = Mutex("")
        let files = Mutex([String: String]())
        let environment = LoadgenEnvironment(
            engine: NetworkLoadEngine(),
            launcher: ProcessTargetLauncher(executable: try endpointExecutable(), leadingArguments: []),
            standardOutput: { text in out.withLock { $0 += text } },
            standardError: { text in err.withLock { $0 += text } },
            progressIsTerminal: false,
            currentDirectory: repository.path,
            writeFile: { path, contents in files.withLock { $0[path] = contents } })
        let code = await LoadgenCommand.main(arguments, environment: environment)
        var report: JSONObject?
        if let json, let text = files.withLock({ $0[json] }) {
            if case .object(let object) = try JSON.parse(Array(text.utf8)) { report = object }
        }
        return Run(
            code: code, stdout: out.withLock { $0 }, stderr: err.withLock { $0 }, report: report,
            files: files.withLock { $0 })
    }

    static func number(_ value: JSONValue?) -> Double? {
        if case .number(let text)? = value { return Double(text) }
        return nil
    }

    @Test func quickstartPassesAndEveryCallIsAccountedFor() async throws {
        let run = try await Self.loadgen(
            ["run", "scenarios/quickstart.json", "--duration", "2s", "--json", "/tmp/quickstart.json"],
            json: "/tmp/quickstart.json")
        #expect(run.code == LoadgenExitCode.success.rawValue, "\(run.stdout)\n\(run.stderr)")
        let report = try #require(run.report)
        let calls = try #require(Self.number(report["calls"]))
        let ok = try #require(Self.number(report["ok"]))
        let failed = try #require(Self.number(report["failed"]))
        guard case .object(let notSent)? = report["not_sent"] else {
            Issue.record("no not_sent object")
            return
        }
        let notSentTotal = try #require(Self.number(notSent["total"]))
        #expect(calls == 400)  // 200/s for 2 s, after the 2 s warmup
        #expect(calls == ok + failed + notSentTotal)
        #expect(try #require(Self.number(report["attempts"])) >= ok + failed)
        guard case .array(let thresholds)? = report["thresholds"] else {
            Issue.record("no thresholds array")
            return
        }
        #expect(thresholds.count == 3)
        for case .object(let threshold) in thresholds { #expect(threshold["pass"] == .bool(true)) }
        #expect(run.stdout.contains("all 3 thresholds passed"))
    }

    @Test func failedThresholdExitsOneAndSaysWhich() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        var text = try String(contentsOf: Self.repository.appendingPathComponent("scenarios/quickstart.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"p99 < 250ms\"", with: "\"p99 < 1us\"")
            .replacingOccurrences(of: "../examples/echo", with: Self.repository.path + "/examples/echo")
        let path = try directory.write("strict.json", text)
        let json = directory.path + "/out.json"
        let run = try await Self.loadgen(["run", path, "--duration", "1s", "--rate", "50", "--json", json], json: json)
        #expect(run.code == LoadgenExitCode.thresholdsFailed.rawValue)
        #expect(run.stdout.contains("FAIL  p99 < 1us"))
        guard case .array(let thresholds)? = run.report?["thresholds"], case .object(let first)? = thresholds.first else {
            Issue.record("no thresholds in the report")
            return
        }
        #expect(first["pass"] == .bool(false))
    }

    /// An embedded endpoint whose every call fails fast (`failRate` 1: 503 at once), no retries.
    static func failingScenario(in directory: TempDir, thresholds: [String], name: String = "failing") throws -> String {
        let list = thresholds.map { "\"\($0)\"" }.joined(separator: ", ")
        return try directory.write("\(name).json", """
            {"name": "\(name)",
             "target": {"embedded": {"modelDir": "\(repository.path)/examples/echo", "failRate": 1,
               "routes": [{"path": "/predict", "verb": "POST", "file": "predict", "function": "predict",
                           "body": [{"name": "text", "type": "str"}]}]}},
             "requests": [{"route": "/predict", "body": {"text": "x"}}],
             "client": {"retry": {"maxAttempts": 1}},
             "load": {"type": "constant-rate", "rate": 100, "duration": "1s"},
             "thresholds": [\(list)]}
            """)
    }

    @Test("every call failing fast fails a latency threshold ('no successful call'); {status:any} judges them all")
    func failingCallsFailLatencyThresholds() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try Self.failingScenario(in: directory, thresholds: ["p99 < 100ms", "p99{status:any} < 1s"])
        let json = directory.path + "/out.json"
        let run = try await Self.loadgen(["run", path, "--json", json], json: json)
        #expect(run.code == LoadgenExitCode.thresholdsFailed.rawValue, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("FAIL  p99 < 100ms"), "\(run.stdout)")
        #expect(run.stdout.contains("no successful call"), "\(run.stdout)")
        #expect(run.stdout.contains("PASS  p99{status:any} < 1s"), "\(run.stdout)")
        #expect(run.stdout.contains("latency thresholds judge successful calls"), "\(run.stdout)")
        let report = try #require(run.report)
        guard case .object(let ok)? = report["latency_ok_ms"], case .object(let all)? = report["latency_ms"] else {
            Issue.record("no latency_ok_ms or latency_ms")
            return
        }
        #expect(Self.number(ok["count"]) == 0)
        #expect(Self.number(all["count"]) == 100)
    }

    @Test("the engine records each call's request: per-name results in the summary and in by_name")
    func perNameResults() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try directory.write("named.json", """
            {"name": "named",
             "target": {"embedded": {"modelDir": "\(Self.repository.path)/examples/echo",
               "routes": [{"path": "/predict", "verb": "POST", "file": "predict", "function": "predict",
                           "body": [{"name": "text", "type": "str"}]}]}},
             "requests": [{"name": "greeting", "route": "/predict", "body": {"text": "hello"}, "weight": 1},
                          {"name": "farewell", "route": "/predict", "body": {"text": "bye"}, "weight": 1}],
             "load": {"type": "constant-rate", "rate": 100, "duration": "1s"}}
            """)
        let json = directory.path + "/out.json"
        let run = try await Self.loadgen(["run", path, "--json", json], json: json)
        #expect(run.code == LoadgenExitCode.success.rawValue, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("  greeting "), "\(run.stdout)")
        #expect(run.stdout.contains("  farewell "), "\(run.stdout)")
        guard case .object(let byName)? = run.report?["by_name"], case .object(let greeting)? = byName["greeting"],
            case .object(let farewell)? = byName["farewell"]
        else {
            Issue.record("no by_name.greeting and by_name.farewell")
            return
        }
        let first = try #require(Self.number(greeting["calls"]))
        let second = try #require(Self.number(farewell["calls"]))
        #expect(first > 20 && second > 20)
        #expect(first + second == 100)
        #expect(Self.number(greeting["ok"]) == first)
    }

    @Test("--abort-on-fail stops a 10s run once a window fails: exit 1, the summary and JSON say by which threshold")
    func abortOnFailStopsEarly() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try Self.failingScenario(in: directory, thresholds: ["p99[1s] < 100ms"], name: "abort")
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"duration\": \"1s\"", with: "\"duration\": \"10s\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let json = directory.path + "/out.json"
        let clock = ContinuousClock()
        let started = clock.now
        let run = try await Self.loadgen(["run", path, "--abort-on-fail", "--json", json], json: json)
        let took = clock.now - started
        #expect(run.code == LoadgenExitCode.thresholdsFailed.rawValue, "\(run.stdout)\n\(run.stderr)")
        #expect(took < .seconds(8), "\(took)")
        #expect(run.stdout.contains("stopped early at 1s by --abort-on-fail: p99[1s] < 100ms failed"), "\(run.stdout)")
        #expect(!run.stdout.contains("interrupted by"), "\(run.stdout)")
        let report = try #require(run.report)
        let calls = try #require(Self.number(report["calls"]))
        #expect(calls >= 100 && calls < 500, "\(calls)")
        guard case .object(let stopped)? = report["stopped_early"] else {
            Issue.record("no stopped_early")
            return
        }
        #expect(stopped["threshold"] == .string("p99[1s] < 100ms"))
        #expect(Self.number(stopped["at_s"]) == 1)
    }

    @Test func unreachableTargetExitsThree() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try directory.write("down.json", """
            {"name": "down", "target": {"url": "http://127.0.0.1:1"},
             "requests": [{"route": "/predict", "body": {"text": "x"}}],
             "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}
            """)
        let run = try await Self.loadgen(["run", path])
        #expect(run.code == LoadgenExitCode.targetUnreachable.rawValue, "\(run.stderr)")
    }

    @Test func badScenarioExitsTwoNamingTheField() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try directory.write("bad.json", """
            {"name": "bad", "target": {"url": "http://127.0.0.1:8080"},
             "requests": [{"route": "/predict"}],
             "load": {"type": "ramping-rate", "stages": [{"target": 10, "duration": "1s"}, {"target": 5, "duration": 5}]}}
            """)
        let run = try await Self.loadgen(["run", path])
        #expect(run.code == LoadgenExitCode.usageError.rawValue)
        #expect(run.stderr.contains("load.stages[1].duration"), "\(run.stderr)")
    }

    @Test func missingModelFolderFailsAtStartWithExitThree() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(atPath: directory.path + "/empty-model", withIntermediateDirectories: true)
        let path = try directory.write("nomodel.json", """
            {"name": "nomodel",
             "target": {"embedded": {"modelDir": "empty-model", "routes": [{"path": "/predict", "file": "predict",
               "function": "predict", "body": [{"name": "text", "type": "str"}]}]}},
             "requests": [{"route": "/predict", "body": {"text": "x"}}],
             "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}
            """)
        let run = try await Self.loadgen(["run", path])
        #expect(run.code == LoadgenExitCode.targetUnreachable.rawValue, "\(run.stderr)")
        #expect(run.stderr.contains("predict"), "\(run.stderr)")
    }
}

/// `loadgen capacity` against the real endpoint (one worker, 10 ms per call: a little under 100 calls/s),
/// with a p90 SLA so that a step needs only 44 calls and the whole search fits in CI's time. The full-size
/// search (p99, 20 ms, 20 s confirmation) is `Benchmarks/capacity-search.sh`.
@Suite(.serialized) struct CapacityEndToEndTests {
    @Test("brackets the capacity of a 10 ms worker and confirms it")
    func bracketsARealEndpoint() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        var text = try String(
            contentsOf: ScenarioRunTests.repository.appendingPathComponent("scenarios/capacity.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "../examples/echo", with: ScenarioRunTests.repository.path + "/examples/echo")
            .replacingOccurrences(of: "\"delay\": \"20ms\"", with: "\"delay\": \"10ms\"")
            .replacingOccurrences(of: "\"warmup\": \"1s\"", with: "\"warmup\": \"300ms\"")
        let path = try directory.write("capacity.json", text)
        let json = directory.path + "/capacity-out.json"
        let run = try await ScenarioRunTests.loadgen(
            [
                "capacity", path, "--sla", "p90 < 80ms, error_rate < 5%", "--precision", "10%", "--step-duration", "1s",
                "--confirm-duration", "2s", "--json", json,
            ], json: json)
        #expect(run.code == LoadgenExitCode.success.rawValue, "\(run.stdout)\n\(run.stderr)")
        let report = try #require(run.report)
        guard case .object(let capacity)? = report["capacity"], case .array(let steps)? = report["steps"] else {
            Issue.record("no capacity or steps: \(run.stdout)")
            return
        }
        let pass = try #require(ScenarioRunTests.number(capacity["last_pass_rps"]))
        let fail = try #require(ScenarioRunTests.number(capacity["first_fail_rps"]))
        #expect(capacity["confirmed"] == .bool(true))
        #expect(capacity["limited_by"] == .string("endpoint"))
        // 10 ms per call bounds the capacity by 100/s. How far below that it lies depends on the machine (a busy
        // one shares the worker's core), so the test asks for a bracket, not a figure: Benchmarks/capacity-search.sh
        // measures the figure.
        #expect(pass > 0 && pass <= 100, "\(run.stdout)")
        #expect(fail > pass, "\(run.stdout)")
        #expect(steps.count >= 4)
        #expect(run.stdout.contains("capacity: "))
    }
}

/// `run --hdr-log`: HdrHistogram's own Python implementation reads the log, and finds the JSON's figures.
@Suite(.serialized) struct HdrLogEndToEndTests {
    @Test("Python's hdrhistogram decodes the log: same count and p99 as the JSON")
    func pythonReadsTheRunLog() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let json = directory.path + "/run.json"
        let logPath = directory.path + "/run.hlog"
        // 200/s for 2 s: 400 calls, so that 99% of them is a whole number and Python's rank rule agrees with ours.
        let run = try await ScenarioRunTests.loadgen(
            ["run", "scenarios/quickstart.json", "--duration", "2s", "-q", "--json", json, "--hdr-log", logPath],
            json: json)
        #expect(run.code == LoadgenExitCode.success.rawValue, "\(run.stderr)")
        // The test's environment writes files into memory: put the log on disk for Python.
        let report = try #require(run.report)
        guard case .object(let latency)? = report["latency_ms"] else {
            Issue.record("no latency_ms")
            return
        }
        let count = try #require(ScenarioRunTests.number(latency["count"]))
        let p99 = try #require(ScenarioRunTests.number(latency["p99"]))
        #expect(count == 400)
        let logText = try #require(run.files[logPath])
        try logText.write(toFile: logPath, atomically: true, encoding: .utf8)
        let script = """
            import sys
            from hdrh.histogram import HdrHistogram
            from hdrh.log import HistogramLogReader
            reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600000000, 3))
            total = HdrHistogram(1, 3600000000, 3)
            intervals = 0
            while True:
                h = reader.get_next_interval_histogram()
                if h is None:
                    break
                intervals += 1
                total.add(h)
            print(intervals, total.get_total_count(), total.get_value_at_percentile(99))
            """
        let python = try HdrEncodingTests.runPython(["-c", script, logPath])
        #expect(python.status == 0, "\(python.stderr)")
        let fields = String(decoding: python.stdout, as: UTF8.self).split(separator: " ").compactMap {
            Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try #require(fields.count == 3, "python printed \(String(decoding: python.stdout, as: UTF8.self))")
        #expect(fields[0] >= 2)  // one line per second of the run (plus the drain)
        #expect(fields[1] == count)
        // Python reports the top of p99's bucket; the JSON the same bucket's value (capped at the maximum): both
        // within the histogram's 0.1% precision.
        let pythonP99 = fields[2] / 1000
        #expect(abs(pythonP99 - p99) <= p99 * 0.001 + 0.001, "python p99 \(pythonP99) ms, JSON p99 \(p99) ms")
    }
}
