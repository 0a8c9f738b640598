import Testing

@testable import LoadgenCore

/// Latency thresholds judge successful calls unless they say `{status:any}`: a wrong route answering 404 fast
/// must not pass a latency SLA.
@Suite struct SuccessfulLatencyTests {
    /// `count` calls, one every 5 ms, answered after `latency` with `status`.
    static func result(
        count: Int64, latencyMilliseconds: Int64, status: Int, from start: Int64 = 0, into result: RunResult = RunResult()
    ) -> RunResult {
        var result = result
        for index in 0..<count {
            let intended = start + index * 5_000_000
            result.record(
                .sent(
                    index: index, intendedStart: intended,
                    attempts: [
                        .response(
                            sent: intended, ended: intended + latencyMilliseconds * 1_000_000, status: status,
                            succeeded: status < 300)
                    ]))
        }
        return result
    }

    @Test("200 fast 404s fail p99 < 100ms with 'no successful call'; {status:any} passes")
    func allFailedCallsFailALatencyThreshold() throws {
        let result = Self.result(count: 200, latencyMilliseconds: 1, status: 404)
        let p99 = try Threshold(parsing: "p99 < 100ms").evaluate(result)
        #expect(!p99.pass)
        #expect(p99.observed == nil)
        #expect(p99.observedText == "no successful call")
        let any = try Threshold(parsing: "p99{status:any} < 100ms")
        #expect(any.calls == .all)
        #expect(any.evaluate(result).pass)
        #expect(try !Threshold(parsing: "mean < 1s").evaluate(result).pass)
        #expect(try !Threshold(parsing: "max < 1s").evaluate(result).pass)
        #expect(result.accountingProblems().isEmpty, "\(result.accountingProblems())")
    }

    @Test("latency thresholds see only the successful calls' latencies")
    func successfulCallsOnly() throws {
        var result = Self.result(count: 100, latencyMilliseconds: 10, status: 200)
        result = Self.result(count: 100, latencyMilliseconds: 900, status: 500, from: 1_000_000_000, into: result)
        #expect(try Threshold(parsing: "p99 < 100ms").evaluate(result).pass)
        #expect(try !Threshold(parsing: "p99{status:any} < 100ms").evaluate(result).pass)
        #expect(result.latencyOk.totalCount == 100)
        #expect(result.serviceTimeOk.totalCount == 100)
        let summary = Report.summary(result, outcomes: [try Threshold(parsing: "p99 < 100ms").evaluate(result)])
        #expect(summary.contains("latency thresholds judge successful calls"), "\(summary)")
        let json = Report.json(result, outcomes: [])
        #expect(json.contains("\"latency_ok_ms\""))
    }

    @Test("a window whose calls all failed fails a windowed latency threshold")
    func windowOfFailures() throws {
        // 0-1 s: 190 successes at 10 ms; 1-2 s: 190 failures at 1 ms; 2-3 s: 190 successes.
        var result = Self.result(count: 190, latencyMilliseconds: 10, status: 200)
        result = Self.result(count: 190, latencyMilliseconds: 1, status: 404, from: 1_000_000_000, into: result)
        result = Self.result(count: 190, latencyMilliseconds: 10, status: 200, from: 2_000_000_000, into: result)
        result.plannedNanoseconds = 3_000_000_000
        let outcome = try Threshold(parsing: "p99[1s] < 100ms").evaluate(result)
        #expect(!outcome.pass)
        #expect(outcome.worstWindowStart == 1)
        #expect(outcome.observedText == "no successful call in the 1s window from 1s")
        #expect(try Threshold(parsing: "p99{status:any}[1s] < 100ms").evaluate(result).pass)
        #expect(try Threshold(parsing: "p99[1s]{status:any} < 100ms").evaluate(result).pass)
    }

    @Test("selector errors name the expression")
    func selectorErrors() {
        #expect(throws: ThresholdError.self) { try Threshold(parsing: "p99{status:all} < 1s") }
        #expect(throws: ThresholdError.self) { try Threshold(parsing: "error_rate{status:any} < 1%") }
        #expect(throws: ThresholdError.self) { try Threshold(parsing: "p99{status:any < 1s") }
    }

    @Test("capacity: a latency SLA failed by queueing in the generator compares successful calls' service time")
    func stepJudgeUsesSuccessfulServiceTime() throws {
        // 500 successful calls that waited 300 ms in the generator but were served in 5 ms, and 10 failures
        // served slowly (900 ms): successful service time meets p99 < 100ms, all calls' does not.
        var result = RunResult()
        for index in Int64(0)..<510 {
            let intended = index * 5_000_000
            let failing = index >= 500
            let sent = intended + (failing ? 0 : 300_000_000)
            result.record(
                .sent(
                    index: index, intendedStart: intended,
                    attempts: [
                        .response(
                            sent: sent, ended: sent + (failing ? 900_000_000 : 5_000_000), status: failing ? 500 : 200,
                            succeeded: !failing)
                    ]))
        }
        let judge = StepJudge(sla: [try Threshold(parsing: "p99 < 100ms")])
        #expect(judge.judge(result).verdict == .generatorLimited, "\(judge.judge(result).reason)")
    }
}
