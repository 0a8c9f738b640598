import CommandLine
import Foundation
import Synchronization
import Testing

@testable import LoadgenCore

/// An engine that answers every scheduled call after `latency`, failing every `failEvery`-th with 503.
final class FakeEngine: LoadEngine, Sendable {
    let latencyNanoseconds: Int64
    let failEvery: Int64
    let error: (any Error & Sendable)?
    private let plans = Mutex<[RunPlan]>([])

    init(latencyNanoseconds: Int64 = 2_000_000, failEvery: Int64 = 0, error: (any Error & Sendable)? = nil) {
        self.latencyNanoseconds = latencyNanoseconds
        self.failEvery = failEvery
        self.error = error
    }

    var lastPlan: RunPlan? { plans.withLock { $0.last } }

    func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws -> RunResult {
        plans.withLock { $0.append(plan) }
        if let error { throw error }
        var result = RunResult()
        let count: Int64
        var schedule: ArrivalSchedule?
        switch plan.load {
        case .open(let open):
            count = open.count
            schedule = open
        case .closed(let model): count = Int64(model.users * 10)
        }
        for index in 0..<count {
            let start = schedule?.intendedTime(of: index) ?? 0
            let request = plan.requests.request(at: index)
            let failing = failEvery > 0 && index % failEvery == 0
            let status = failing ? 503 : 200
            result.record(.sent(index: index, intendedStart: start, attempts: [
                .response(sent: start, ended: start + latencyNanoseconds, status: status,
                    succeeded: plan.scenario.requests[request.requestIndex].isSuccess(status: status))
            ]))
        }
        result.elapsedNanoseconds = plan.scenario.load.duration.nanoseconds
        progress(ProgressSnapshot(elapsed: .seconds(1), total: plan.scenario.load.duration, attemptRate: 10, goodputRate: 10,
            p99MicroSeconds: nil, errors: 0, status503: 0, inFlight: 0))
        return result
    }
}

extension ProgressSnapshot {
    init(elapsed: DurationValue, total: DurationValue, attemptRate: Double, goodputRate: Double, p99MicroSeconds: Int64?,
        errors: Int64, status503: Int64, inFlight: Int) {
        self.init(elapsed: elapsed, total: total, warmingUp: false, attemptRate: attemptRate, goodputRate: goodputRate,
            p99Microseconds: p99MicroSeconds, errors: errors, status503: status503, inFlight: inFlight)
    }
}

final class FakeLauncher: TargetLauncher, Sendable {
    let fail: Bool
    let stops = Atomic<Int>(0)
    let starts = Atomic<Int>(0)
    init(fail: Bool = false) { self.fail = fail }
    func start(_ target: EmbeddedTarget) async throws -> any RunningTarget {
        starts.add(1, ordering: .relaxed)
        if fail { throw LoadgenRunError.embeddedTargetFailed("python crashed") }
        return Stopper(launcher: self)
    }
    struct Stopper: RunningTarget {
        let launcher: FakeLauncher
        var url: TargetURL { TargetURL(host: "127.0.0.1", port: 45678) }
        func stop() async { launcher.stops.add(1, ordering: .relaxed) }
    }
}

@Suite struct CommandTests {
    struct Harness {
        let directory: TempDir
        let out = Buffer()
        let err = Buffer()
        let files = Buffer()
        let engine: FakeEngine
        let launcher: FakeLauncher

        init(engine: FakeEngine = FakeEngine(), launcher: FakeLauncher = FakeLauncher()) throws {
            directory = try TempDir()
            self.engine = engine
            self.launcher = launcher
            try FileManager.default.createDirectory(atPath: directory.path + "/model", withIntermediateDirectories: true)
            // `validate` imports the embedded target's model as the endpoint would, so the model must exist.
            try directory.write("model/predict.py", "def predict(text):\n    return {\"text\": text}\n")
            try directory.write("quick.json", ScenarioTests.quickstart)
            try directory.write("closed.json", """
                {"target": {"url": "http://127.0.0.1:9"}, "requests": [{"route": "/p"}],
                 "load": {"type": "closed", "users": 2, "duration": "5s"}, "thresholds": ["error_rate < 1%"]}
                """)
            try directory.write("ramp.json", """
                {"target": {"url": "http://127.0.0.1:9"}, "requests": [{"route": "/p"}],
                 "load": {"type": "ramping-rate", "startRate": 10, "stages": [{"target": 40, "duration": "2s"}, {"target": 20, "duration": "2s"}]}}
                """)
            try directory.write("bad.json", "{\"target\": {\"url\": \"http://h\"}, \"requests\": [{\"route\": \"/p\"}], \"load\": {\"type\": \"constant-rate\", \"rate\": -1, \"duration\": \"1s\"}}")
        }

        func environment(failWrites: Bool = false) -> LoadgenEnvironment {
            let files = self.files
            return LoadgenEnvironment(
                engine: engine, launcher: launcher,
                serve: { arguments in
                    files.append("serve " + arguments.joined(separator: " "))
                    return 0
                },
                call: { arguments in
                    files.append("call " + arguments.joined(separator: " "))
                    return 3
                },
                standardOutput: out.append, standardError: err.append, progressIsTerminal: false,
                currentDirectory: directory.path,
                writeFile: { path, contents in
                    if failWrites { throw CocoaError(.fileWriteNoPermission) }
                    files.append("\(path)\n\(contents)")
                })
        }

        func run(_ arguments: [String], failWrites: Bool = false) async -> Int32 {
            await LoadgenCommand.main(arguments, environment: environment(failWrites: failWrites))
        }
    }

    @Test func validateExitCodes() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["validate", "quick.json"]) == 0)
        #expect(harness.out.text.hasPrefix("ok: quickstart\n"))
        #expect(harness.out.text.contains("constant-rate 200/s for 10s (2000 calls)"))
        #expect(harness.out.text.contains("threshold  p99 < 250ms"))
        #expect(harness.out.text.contains("4 attempts (backoff 50ms..2s, jitter full), retry budget, health gate /ping"))
        #expect(await harness.run(["validate", "bad.json"]) == 2)
        #expect(harness.err.text.contains("error: bad.json: load.rate: expected a rate like 200 or \"200/s\", got -1\n"))
        #expect(await harness.run(["validate", "missing.json"]) == 2)
        #expect(harness.err.text.contains("error: cannot read scenario file \"missing.json\": no such file"))
        #expect(await harness.run(["validate"]) == 2)
        #expect(await harness.run(["validate", "a", "b"]) == 2)
        #expect(await harness.run(["validate", "--help"]) == 0)
    }

    @Test func runPassesAndWritesJSON() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json", "--json", "out.json"]) == 0)
        #expect(harness.launcher.starts.load(ordering: .relaxed) == 1)
        #expect(harness.launcher.stops.load(ordering: .relaxed) == 1)
        let plan = try #require(harness.engine.lastPlan)
        #expect(plan.target == TargetURL(host: "127.0.0.1", port: 45678))
        #expect(plan.warmup == .open(.constant(rate: 200, duration: .seconds(2))))
        #expect(plan.drainTimeout == DurationValue(nanoseconds: 4 * 5_000_000_000 + 3 * 2_000_000_000))
        #expect(harness.out.text.contains("all 3 thresholds passed"))
        #expect(harness.out.text.contains("calls               2000  (ok 2000, failed 0, not sent 0)"))
        #expect(harness.err.text.contains("[  1s/10s]      10 req/s"))
        let written = harness.files.text
        #expect(written.hasPrefix(harness.directory.path + "/out.json\n{"))
        #expect(written.contains("\"calls\": 2000"))
        #expect(written.contains("\"passed\": true"))
    }

    @Test("--json - keeps stdout for the JSON: the summary goes to stderr")
    func jsonToStdoutSendsTheSummaryToStderr() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json", "--json", "-"]) == 0)
        #expect(harness.out.text.isEmpty)
        #expect(harness.err.text.contains("all 3 thresholds passed"))
        #expect(harness.files.text.hasPrefix("-\n{"))
    }

    @Test("--rate beyond the maximum is a usage error that names the flag, not a trap")
    func hugeRateIsRefused() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json", "--rate", "1e19"]) == 2)
        #expect(harness.err.text.contains("--rate"))
        #expect(harness.err.text.contains("up to 10000000/s"))
    }

    @Test func thresholdFailureExitsOne() async throws {
        let harness = try Harness(engine: FakeEngine(failEvery: 10))
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json"]) == 1)
        #expect(harness.out.text.contains("FAIL  error_rate < 1%"))
        #expect(harness.out.text.contains("1 of 3 thresholds failed"))
    }

    @Test func quietPrintsNothing() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "-q", "quick.json"]) == 0)
        #expect(harness.out.text.isEmpty)
        #expect(harness.err.text.isEmpty)
    }

    @Test func overrides() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json", "--duration", "2s", "--rate=50/s", "--seed", "9", "-q"]) == 1)  // goodput < 150/s
        let plan = try #require(harness.engine.lastPlan)
        #expect(plan.load == .open(.constant(rate: 50, duration: .seconds(2))))
        #expect(plan.requests.seed == 9)
        // --url replaces the embedded target: nothing is launched.
        #expect(await harness.run(["run", "quick.json", "--url", "http://10.0.0.1:81/base", "-q"]) == 0)
        #expect(harness.launcher.starts.load(ordering: .relaxed) == 1)
        #expect(harness.engine.lastPlan?.target == TargetURL(host: "10.0.0.1", port: 81, basePath: "/base"))
        #expect(harness.engine.lastPlan?.requests.request(at: 0).path == "/base/predict")
        // Ramping: --duration scales stages, --rate scales rates so the peak matches.
        #expect(await harness.run(["run", "ramp.json", "--duration", "8s", "--rate", "80", "-q"]) == 0)
        var ramp = try Scenario.load(path: harness.directory.path + "/ramp.json")
        try LoadgenCommand.apply(LoadgenCommand.Overrides(duration: .seconds(8), rate: 80), to: &ramp, commandPath: [])
        #expect(ramp.load == .rampingRate(startRate: 20, stages: [RampStage(target: 80, duration: .seconds(4)), RampStage(target: 40, duration: .seconds(4))]))
        #expect(harness.engine.lastPlan?.load == LoadShape(ramp.load))
        // Closed loop: --duration applies, --rate is a usage error.
        #expect(await harness.run(["run", "closed.json", "--duration", "1s", "-q"]) == 0)
        #expect(harness.engine.lastPlan?.load == .closed(ClosedLoopModel(users: 2, duration: .seconds(1), thinkTime: .seconds(0))))
        #expect(await harness.run(["run", "closed.json", "--rate", "5"]) == 2)
        #expect(harness.err.text.contains("--rate applies to open-loop loads, but scenario 'closed' is closed-loop"))
    }

    @Test func usageErrorsExitTwo() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json", "--rate", "abc"]) == 2)
        #expect(harness.err.text.contains("error: --rate expects a positive rate up to 10000000/s (like 200 or 200/s), got 'abc'\n"))
        #expect(await harness.run(["run", "quick.json", "--duration", "5"]) == 2)
        #expect(harness.err.text.contains("error: --duration expects a duration greater than 0 like 30s, got '5'"))
        #expect(await harness.run(["run", "quick.json", "--url", "ftp://x"]) == 2)
        #expect(harness.err.text.contains("--url expects a URL like http://127.0.0.1:8080 or https://host, got 'ftp://x'"))
        #expect(await harness.run(["run", "quick.json", "--seed", "-1"]) == 2)
        #expect(await harness.run(["run", "quick.json", "--duraton", "1s"]) == 2)
        #expect(harness.err.text.contains("did you mean --duration?"))
        #expect(await harness.run(["run", "bad.json"]) == 2)
        #expect(await harness.run(["rn"]) == 2)
        #expect(await harness.run([]) == 2)
        #expect(harness.engine.lastPlan == nil)
    }

    @Test func unreachableAndRuntimeErrors() async throws {
        let failingLauncher = try Harness(launcher: FakeLauncher(fail: true))
        defer { failingLauncher.directory.cleanup() }
        #expect(await failingLauncher.run(["run", "quick.json"]) == 3)
        #expect(failingLauncher.err.text.contains("error: the embedded endpoint failed to start: python crashed"))

        let unreachable = try Harness(engine: FakeEngine(error: LoadgenRunError.targetUnreachable("connection refused")))
        defer { unreachable.directory.cleanup() }
        #expect(await unreachable.run(["run", "quick.json"]) == 3)
        #expect(unreachable.err.text.contains("error: could not reach the target: connection refused"))
        #expect(unreachable.launcher.stops.load(ordering: .relaxed) == 1)

        let broken = try Harness(engine: FakeEngine(error: LoadgenRunError.engineUnavailable("no engine")))
        defer { broken.directory.cleanup() }
        #expect(await broken.run(["run", "quick.json"]) == 4)

        let writeFails = try Harness()
        defer { writeFails.directory.cleanup() }
        #expect(await writeFails.run(["run", "quick.json", "--json", "/x.json"], failWrites: true) == 4)
        #expect(writeFails.err.text.contains("error: cannot write --json file '/x.json'"))
    }

    @Test func helpVersionAndPassthrough() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["--version"]) == 0)
        #expect(harness.out.text == "loadgen 0.1.0\n")
        #expect(await harness.run(["run", "--help"]) == 0)
        #expect(harness.out.text.contains("USAGE: loadgen run <SCENARIO> [--json <OUT.json>] [--quiet]"))
        #expect(harness.out.text.contains("3  could not reach the target"))
        #expect(await harness.run(["serve", "--port", "8000", "--help"]) == 0)
        #expect(await harness.run(["call", "http://x/p", "-d", "{}"]) == 3)
        #expect(harness.files.text == "serve --port 8000 --helpcall http://x/p -d {}")
        let exitCodes = LoadgenExitCode.allCases.map(\.rawValue)
        #expect(exitCodes == [0, 1, 2, 3, 4, 130, 141])
        #expect(harness.out.text.contains("141  standard output is a pipe that closed early"))
    }

    @Test func defaultEnvironmentHasNoEngineYet() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try directory.write("s.json", "{\"target\": {\"url\": \"http://127.0.0.1:9\"}, \"requests\": [{\"route\": \"/p\"}], \"load\": {\"type\": \"closed\", \"users\": 1, \"duration\": \"1s\"}}")
        let err = Buffer()
        var environment = LoadgenEnvironment(standardOutput: { _ in }, standardError: err.append, currentDirectory: directory.path)
        environment.progressIsTerminal = false
        #expect(await LoadgenCommand.main(["run", "s.json"], environment: environment) == 4)
        #expect(err.text == "error: the load engine is not available in this build\n")
    }
}
