import EndpointSpec
import Foundation
import Synchronization
import Testing

@testable import LoadgenCore

/// An engine whose endpoint holds `capacity` calls/s: 5 ms per call up to it, 400 ms above it.
final class CapacityFakeEngine: LoadEngine, Sendable {
    let capacity: Double
    let rates = Mutex<[Double]>([])

    init(capacity: Double) { self.capacity = capacity }

    func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws -> RunResult {
        var result = RunResult()
        result.timeline.origin = 0
        switch plan.load {
        case .closed(let model):
            // The probe: users calls in flight at 5 ms each.
            let count = Int64(Double(model.users) * model.duration.seconds / 0.005)
            for index in 0..<count {
                let start = index * 5_000_000 / Int64(model.users)
                result.record(.sent(index: index, intendedStart: start, attempts: [
                    .response(sent: start, ended: start + 5_000_000, status: 200, succeeded: true)
                ]))
            }
            result.plannedNanoseconds = model.duration.nanoseconds
        case .open(let schedule):
            let rate = Double(schedule.count) / (Double(schedule.length) / 1e9)
            rates.withLock { $0.append(rate) }
            let latency: Int64 = rate <= capacity ? 5_000_000 : 400_000_000
            for index in 0..<schedule.count {
                let start = schedule.intendedTime(of: index)
                result.record(.sent(index: index, intendedStart: start, attempts: [
                    .response(sent: start, ended: start + latency, status: 200, succeeded: true)
                ]))
            }
            result.plannedNanoseconds = schedule.length
        }
        result.elapsedNanoseconds = result.plannedNanoseconds
        result.startTime = 1_800_000_000
        return result
    }
}

@Suite struct CapacityCommandTests {
    struct Harness {
        let directory: TempDir
        let out = Buffer()
        let err = Buffer()
        let files = Buffer()
        let engine: CapacityFakeEngine

        init(capacity: Double = 47) throws {
            directory = try TempDir()
            engine = CapacityFakeEngine(capacity: capacity)
            try directory.write("s.json", """
                {"name": "cap", "target": {"url": "http://127.0.0.1:9"}, "requests": [{"route": "/p"}],
                 "load": {"type": "constant-rate", "rate": 10, "duration": "5s"},
                 "thresholds": ["p99 < 100ms", "error_rate < 1%"]}
                """)
            try directory.write("nosla.json", """
                {"target": {"url": "http://127.0.0.1:9"}, "requests": [{"route": "/p"}],
                 "load": {"type": "constant-rate", "rate": 10, "duration": "5s"}}
                """)
        }

        func run(_ arguments: [String]) async -> Int32 {
            let files = self.files
            let environment = LoadgenEnvironment(
                engine: engine, launcher: FakeLauncher(), standardOutput: out.append, standardError: err.append,
                progressIsTerminal: false, currentDirectory: directory.path,
                writeFile: { path, contents in files.append("\(path)\n\(contents)") })
            return await LoadgenCommand.main(arguments, environment: environment)
        }
    }

    @Test("finds the capacity, prints the steps and the bracket, writes the JSON scripts read")
    func findsCapacity() async throws {
        let harness = try Harness(capacity: 47)
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["capacity", "s.json", "--json", "out.json", "--hdr-log", "out.hlog"]) == 0)
        let text = harness.out.text
        #expect(text.contains("capacity search: cap against http://127.0.0.1:9, SLA p99 < 100ms, error_rate < 1%"))
        #expect(text.contains("probe: 4 users for 2s achieved 800/s; starting at 400/s"))
        #expect(text.contains("  step  phase      rate/s"))
        #expect(text.contains("confirmed over 20s\n"))
        let written = harness.files.text
        let json = try #require(written.components(separatedBy: "out.json\n").last?.components(separatedBy: harness.directory.path + "/out.hlog").first)
        guard case .object(let root) = try JSON.parse(Array(json.utf8)), case .object(let capacity)? = root["capacity"],
            case .array(let steps)? = root["steps"], case .object(let step)? = steps.first
        else {
            Issue.record("unexpected JSON: \(json.prefix(300))")
            return
        }
        #expect(root["kind"] == .string("capacity"))
        #expect(root["sla"] == .array([.string("p99 < 100ms"), .string("error_rate < 1%")]))
        #expect(capacity["confirmed"] == .bool(true))
        #expect(capacity["limited_by"] == .string("endpoint"))
        guard case .number(let pass)? = capacity["last_pass_rps"], case .number(let fail)? = capacity["first_fail_rps"],
            let low = Double(pass), let high = Double(fail)
        else {
            Issue.record("no bracket")
            return
        }
        #expect(low <= 47 && 47 < high && high / low <= 1.05 + 1e-6)
        for key in ["rate", "phase", "achieved_rps", "duration_s", "calls", "latency_ms", "error_rate", "verdict", "reason"] {
            #expect(step[key] != nil, "step lacks \(key)")
        }
        // Every step ran long enough for p99: at least 459 completed calls.
        for case .object(let each) in steps {
            guard case .number(let calls)? = each["calls"] else { continue }
            #expect((Int(calls) ?? 0) >= 459)
        }
        #expect(written.contains("Tag=step-1,0.000,1.000,"))
    }

    @Test("exit 1 when the SLA fails at the given start rate")
    func failsAtStart() async throws {
        let harness = try Harness(capacity: 5)
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["capacity", "s.json", "--start", "20", "-q"]) == 1)
        #expect(harness.out.text == "capacity: none found: the SLA failed at every rate tried, down to 20/s\n")
        let rates = harness.engine.rates.withLock { $0 }
        #expect(rates.count == 1 && abs((rates.first ?? 0) - 20) < 0.01)
    }

    @Test("--sla overrides the scenario's thresholds; --max caps the search")
    func slaAndMax() async throws {
        let harness = try Harness(capacity: 1e9)
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["capacity", "nosla.json", "--sla", "p90<1s", "--start", "100", "--max", "300", "-q"]) == 0)
        #expect(harness.out.text == "capacity: 300/s (last pass): every rate up to --max passed, confirmed over 20s\n")
    }

    @Test("usage errors name the flag", arguments: [
        (["capacity", "nosla.json"], "no SLA to search against"),
        (["capacity", "s.json", "--sla", "p99 <"], "--sla: missing limit"),
        (["capacity", "s.json", "--start", "-3"], "--start"),
        (["capacity", "s.json", "--start", "50", "--max", "10"], "--start (50/s) is above --max (10/s)"),
        (["capacity", "s.json", "--precision", "0"], "--precision"),
        (["capacity", "s.json", "--step-duration", "10ms"], "--step-duration"),
        (["capacity", "s.json", "--url", "ftp://x"], "--url expects a URL"),
        (["capacity", "missing.json"], "cannot read scenario file"),
    ])
    func usageErrors(arguments: [String], message: String) async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(arguments) == 2)
        #expect(harness.err.text.contains(message), "\(harness.err.text)")
    }
}
