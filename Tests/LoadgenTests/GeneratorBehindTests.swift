import Foundation
import Glibc
import TestSupport
import Testing

@testable import LoadgenCore

/// Defect 7 of issue 12: at a rate loadgen cannot keep up with, the generator's lag is its own. Arrivals it could
/// not start are `not_sent` (`generator_behind`), the answers it does get are not starved into false timeouts,
/// and a signal stops it within the drain timeout. Bounded: a 300 ms run, and a 30 s cap on the process test.
@Suite(.serialized, .dedicatedThreads) struct GeneratorBehindTests {
    @Test("at 10 million/s: every arrival counted, those not started are generator_behind, no false timeouts")
    func rateBeyondTheGenerator() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let load = LoadSpec.constantRate(rate: 10_000_000, duration: .milliseconds(300))
        let client = ClientSpec(connections: 4, timeout: .seconds(5))
        let plan = enginePlan(port: target.port, load: load, client: client)
        // A short client queue, so that the calls it holds drain quickly after the run.
        let engine = NetworkLoadEngine(configuration: .init(threads: 1, maxQueuedCalls: 1_000))
        let result = try await engine.run(plan) { _ in }

        let scheduled = try #require(ArrivalSchedule(load: load)).count
        #expect(result.calls == scheduled)
        #expect(result.accountingProblems().isEmpty, "\(result.accountingProblems())")
        let behind = result.notSent[.generatorBehind] ?? 0
        #expect(behind > 0, "not sent: \(result.notSent)")
        // The target answered everything it was sent: no call failed, least of all by a timeout.
        #expect(result.callFailures.byKind[.timeout] == nil, "\(result.callFailures)")
        #expect(result.failed == 0, "\(result.callFailures)")
        #expect(result.ok > 0)
        #expect(result.generatorLagMaxNanoseconds > 0)
        let summary = Report.summary(result, outcomes: [])
        #expect(summary.contains("generator_behind"), "\(summary)")
        #expect(summary.contains("loadgen could not keep up"), "\(summary)")
        #expect(Report.json(result, outcomes: []).contains("\"generator_lag_max_ms\""))
    }

    @Test("a generator that keeps up reports no generator line")
    func aGeneratorThatKeepsUp() {
        var result = RunResult()
        result.generatorLagMaxNanoseconds = 2_000_000
        #expect(Report.generatorLine(result) == nil)
        result.notSent[.generatorBehind] = 3
        #expect(Report.generatorLine(result)?.contains("3 arrivals not sent (generator_behind)") == true)
    }

    @Test("SIGTERM stops loadgen run at 10 million/s within the drain timeout, with the run reported")
    func sigtermStopsAnOverdrivenRun() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let directory = try TempDir()
        defer { directory.cleanup() }
        _ = try directory.write(
            "s.json",
            """
            {"name": "overdriven", "target": {"url": "http://127.0.0.1:\(target.port)"}, "requests": [{"route": "/work"}],
             "load": {"type": "constant-rate", "rate": 10000000, "duration": "60s"},
             "client": {"connections": 4, "timeout": "2s"}}
            """)
        // `run` gives up with SIGKILL after 30 s: a run that ignored the signal would show as signalled.
        let exit = try await InterruptProcessTests.run(
            ["run", "s.json", "--json", "out.json", "--threads", "1"], in: directory.path,
            signals: [("req/s", SIGTERM)])
        #expect(!exit.signalled, "\(exit.stderr)")
        #expect(exit.status == 130, "\(exit.stderr)")
        #expect(exit.stdout.contains("generator_behind"), "\(exit.stdout)")
        let json = try String(contentsOfFile: directory.path + "/out.json", encoding: .utf8)
        #expect(json.contains("\"accounting_ok\": true"), "\(json.prefix(2000))")
    }
}
