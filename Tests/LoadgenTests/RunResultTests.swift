import EndpointSpec
import Testing

@testable import LoadgenCore

@Suite struct RunResultTests {
    /// A random but seeded mix of outcomes.
    static func randomResult(seed: UInt64, calls: Int, indexOffset: Int64 = 0) -> RunResult {
        var rng = TestRNG(state: seed)
        var result = RunResult(scenarioName: "s", loadDescription: "d", target: "t")
        for index in 0..<calls {
            let start = Int64(index) * 1_000_000
            if rng.int(0...9) == 0 {
                let reasons: [NotSentReason] = [.healthGate, .runEnded, .clientQueueFull]
                result.record(.notSent(index: Int64(index) + indexOffset, intendedStart: start, reason: reasons[Int(rng.int(0...2))]))
                continue
            }
            var attempts: [MeasuredAttempt] = []
            var time = start + rng.int(0...5_000_000)
            for attempt in 0..<Int(rng.int(1...4)) {
                let end = time + rng.int(100_000...50_000_000)
                switch rng.int(0...5) {
                case 0: attempts.append(.failure(sent: time, ended: end, error: [.timeout, .refused, .reset][Int(rng.int(0...2))]))
                case 1: attempts.append(.response(sent: time, ended: end, status: 503, succeeded: false))
                default: attempts.append(.response(sent: time, ended: end, status: 200, succeeded: true))
                }
                time = end + Int64(attempt) * 1000
                if attempts.last?.succeeded == true { break }
            }
            result.record(.sent(index: Int64(index) + indexOffset, intendedStart: start, attempts: attempts, retryDeniedByBudget: rng.int(0...20) == 0))
        }
        result.elapsedNanoseconds = Int64(calls) * 1_000_000
        return result
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func accountingAddsUp(seed: UInt64) {
        let result = Self.randomResult(seed: seed, calls: 3000)
        #expect(result.accountingProblems().isEmpty)
        #expect(result.calls == 3000)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.failed == result.callFailures.total)
        #expect(result.attempts == result.attemptLatency.totalCount)
        #expect(result.latency.totalCount == result.sent)
        #expect(result.retries == result.attempts - result.sent)
        #expect(result.attemptErrors.total <= result.attempts)
        #expect(result.notSentTotal > 0 && result.failed > 0 && result.retries > 0)
    }

    @Test func latencyIsFromIntendedStartAndServiceFromSend() {
        var result = RunResult()
        // Due at 0, sent at 40ms (queued in the client), first attempt 503 after 10ms, retry at 100ms ok at 130ms.
        result.record(.sent(index: 0, intendedStart: 0, attempts: [
            .response(sent: 40_000_000, ended: 50_000_000, status: 503, succeeded: false),
            .response(sent: 100_000_000, ended: 130_000_000, status: 200, succeeded: true),
        ]))
        #expect(result.latency.maxValue == 130_000)
        #expect(result.serviceTime.maxValue == 90_000)
        // It waited 40 ms on this side before its first send (the retry's backoff is not a wait to send).
        #expect(result.sendLag.totalCount == 1 && result.sendLag.maxValue == 40_000)
        #expect(result.attemptLatency.minValue == 10_000)
        #expect(result.attemptLatency.maxValue == 30_000)
        #expect(result.ok == 1)
        #expect(result.attemptErrors.byStatus == [503: 1])
        #expect(result.callFailures.total == 0)
        #expect(result.amplification == 2)
    }

    @Test func failedCallsAreClassifiedByTheirLastAttempt() {
        var result = RunResult()
        result.record(.sent(index: 0, intendedStart: 0, attempts: [
            .response(sent: 0, ended: 1, status: 503, succeeded: false),
            .failure(sent: 2, ended: 3, error: .timeout),
        ]))
        result.record(.sent(index: 1, intendedStart: 0, attempts: [.response(sent: 0, ended: 1, status: 500, succeeded: false)]))
        result.record(.sent(index: 2, intendedStart: 0, attempts: []))  // engine bug: kept, not lost
        #expect(result.failed == 2)
        #expect(result.callFailures.byKind == [.timeout: 1])
        #expect(result.callFailures.byStatus == [500: 1])
        #expect(result.attemptErrors.byStatus == [503: 1, 500: 1])
        #expect(result.notSent == [NotSentReason(rawValue: "no_attempt"): 1])
        #expect(result.accountingProblems().isEmpty)
        #expect(result.errorRate == 1)
    }

    @Test func mergeOfShardsEqualsOneRun() {
        let whole = Self.randomResult(seed: 11, calls: 1000)
        // Re-create the same calls split in two shards by replaying with the same seed is not possible
        // (the generator is sequential), so check merge against summing by hand instead.
        let a = Self.randomResult(seed: 11, calls: 1000)
        let b = Self.randomResult(seed: 12, calls: 500, indexOffset: 1000)
        var merged = a
        merged.merge(b)
        #expect(merged.calls == whole.calls + b.calls)
        #expect(merged.ok == a.ok + b.ok)
        #expect(merged.attempts == a.attempts + b.attempts)
        #expect(merged.notSentTotal == a.notSentTotal + b.notSentTotal)
        #expect(merged.budgetDenials == a.budgetDenials + b.budgetDenials)
        #expect(merged.elapsedNanoseconds == max(a.elapsedNanoseconds, b.elapsedNanoseconds))
        var latency = a.latency
        latency.merge(b.latency)
        #expect(merged.latency == latency)
        var sendLag = a.sendLag
        sendLag.merge(b.sendLag)
        #expect(merged.sendLag == sendLag && merged.sendLag.totalCount == merged.sent)
        #expect(merged.accountingProblems().isEmpty)
    }

    @Test func accountingProblemsAreReported() {
        var result = RunResult()
        result.calls = 3
        result.ok = 1
        result.failed = 1
        result.attempts = 1
        result.attemptErrors.add(status: 503, count: 2)
        let problems = result.accountingProblems()
        #expect(problems.contains("calls (3) != ok (1) + failed (1) + not sent (0)"))
        #expect(problems.contains("failed (1) != failures by status and kind (0)"))
        #expect(problems.contains("attempts (1) < calls sent (2)"))
        #expect(problems.contains("attempt histogram count (0) != attempts (1)"))
        #expect(problems.contains("latency histogram count (0) != calls sent (2)"))
        #expect(problems.contains("service-time histogram count (0) != calls sent (2)"))
        #expect(problems.contains("failed attempts (2) > attempts (1)"))
    }

    @Test func jsonHasTheDocumentedKeysAndAddsUp() throws {
        let result = Self.randomResult(seed: 5, calls: 400)
        let outcomes = try ["p99 < 250ms", "error_rate < 1%"].map { try Threshold(parsing: $0).evaluate(result) }
        let json = try LoadgenJSON.parse(Report.json(result, outcomes: outcomes))
        guard case .object(let root) = json else {
            Issue.record("not an object")
            return
        }
        for key in ["calls", "ok", "failed", "not_sent", "attempts", "throughput_rps", "goodput_rps", "amplification",
            "error_rate", "latency_ms", "service_time_ms", "attempt_latency_ms", "errors", "thresholds", "passed", "histograms"]
        {
            #expect(root[key] != nil, "\(key)")
        }
        func int(_ value: JSONValue?) -> Int64? {
            if case .number(let text)? = value { return Int64(text) }
            return nil
        }
        guard case .object(let notSent)? = root["not_sent"], case .object(let latency)? = root["latency_ms"],
            case .array(let thresholds)? = root["thresholds"], case .object(let histograms)? = root["histograms"],
            case .object(let errors)? = root["errors"], case .object(let callErrors)? = errors["calls"]
        else {
            Issue.record("bad shape")
            return
        }
        #expect(int(root["calls"]) == (int(root["ok"]) ?? 0) + (int(root["failed"]) ?? 0) + (int(notSent["total"]) ?? 0))
        #expect(int(callErrors["total"]) == int(root["failed"]))
        for key in ["p50", "p90", "p99", "p999", "max", "mean"] { #expect(latency[key] != nil, "\(key)") }
        #expect(thresholds.count == 2)
        if case .object(let first) = thresholds[0] {
            #expect(first["expression"] == .string("p99 < 250ms"))
            #expect(first["pass"] != nil)
            #expect(first["observed"] != nil)
        }
        #expect(root["accounting_ok"] == .bool(true))
        let restored = try Histogram(json: try #require(histograms["latency"]))
        #expect(restored == result.latency)
    }

    @Test func emptyResultJSONUsesNulls() throws {
        let json = try LoadgenJSON.parse(Report.json(RunResult(), outcomes: []))
        guard case .object(let root) = json, case .object(let latency)? = root["latency_ms"] else {
            Issue.record("bad shape")
            return
        }
        #expect(latency["p99"] == .null)
        #expect(root["passed"] == .bool(true))
        #expect(root["throughput_rps"] == .number("0"))
    }

    @Test func summaryTable() throws {
        var result = RunResult(scenarioName: "quickstart", loadDescription: "constant-rate 200/s for 10s", target: "http://127.0.0.1:8000")
        result.record(.sent(index: 0, intendedStart: 0, attempts: [
            .response(sent: 0, ended: 2_000_000, status: 503, succeeded: false),
            .response(sent: 3_000_000, ended: 4_000_000, status: 200, succeeded: true),
        ]))
        result.record(.sent(index: 1, intendedStart: 0, attempts: [.failure(sent: 0, ended: 5_000_000_000, error: .timeout)]))
        result.record(.notSent(index: 2, intendedStart: 0, reason: .healthGate))
        result.elapsedNanoseconds = 10_000_000_000
        let outcomes = try ["p99{status:any} < 250ms", "goodput > 0.05/s", "p99 < 250ms"].map { try Threshold(parsing: $0).evaluate(result) }
        let text = Report.summary(result, outcomes: outcomes)
        #expect(text.contains("quickstart: constant-rate 200/s for 10s against http://127.0.0.1:8000"))
        #expect(text.contains("calls               3  (ok 1, failed 1, not sent 1: health_gate 1)"))
        #expect(text.contains("attempts            3  (retries 1, amplification 1.5)"))
        #expect(text.contains("throughput 0.3/s, goodput 0.1/s over 10s (measured)"), "\(text)")
        #expect(text.contains("error rate          66.667%"))
        #expect(text.contains("failed attempts     503 ×1, timeout ×1"))
        #expect(text.contains("failed calls        timeout ×1"))
        #expect(text.contains("FAIL  p99{status:any} < 250ms  observed 5s"))
        #expect(text.contains("PASS  goodput > 0.05/s"))
        #expect(text.contains("PASS  p99 < 250ms "))
        #expect(text.contains("1 of 3 thresholds failed"))
        #expect(text.contains("latency (intended)"))
        #expect(!text.contains("ACCOUNTING MISMATCH"))
        var broken = result
        broken.calls += 1
        #expect(Report.summary(broken, outcomes: []).contains("ACCOUNTING MISMATCH"))
    }

    @Test func progressLineAndPrinter() {
        let snapshot = ProgressSnapshot(
            elapsed: .seconds(3), total: .seconds(10), attemptRate: 200, goodputRate: 199.5, p99Microseconds: 4210,
            errors: 1, status503: 2, inFlight: 3)
        #expect(Report.progressLine(snapshot) == "[  3s/10s]     200 req/s  ok 199.5/s  p99 4.21ms  errors 1  503s 2  in flight 3")
        var warm = snapshot
        warm.warmingUp = true
        warm.p99Microseconds = nil
        #expect(Report.progressLine(warm).hasPrefix("[warmup 3s]"))
        #expect(Report.progressLine(warm).contains("p99 -"))

        let buffer = Buffer()
        let terminal = ProgressPrinter(terminal: true, write: buffer.append)
        terminal.show(snapshot)
        terminal.show(snapshot)
        terminal.finish()
        terminal.finish()
        let line = Report.progressLine(snapshot)
        #expect(buffer.text == "\r\u{1B}[2K\(line)\r\u{1B}[2K\(line)\n")
        let plainBuffer = Buffer()
        let plain = ProgressPrinter(terminal: false, write: plainBuffer.append)
        plain.show(snapshot)
        plain.finish()
        #expect(plainBuffer.text == line + "\n")
    }
}
