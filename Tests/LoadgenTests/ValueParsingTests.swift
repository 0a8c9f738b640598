import Testing

@testable import LoadgenCore

@Suite struct DurationAndRateTests {
    @Test(arguments: [
        ("500ms", Int64(500_000_000)), ("10s", 10_000_000_000), ("2m", 120_000_000_000), ("1.5s", 1_500_000_000),
        ("1h", 3_600_000_000_000), ("250us", 250_000), ("250µs", 250_000), ("100ns", 100), ("0s", 0),
        ("1m30s", 90_000_000_000), (" 2s ", 2_000_000_000), ("0.5ms", 500_000),
    ])
    func parses(text: String, nanoseconds: Int64) {
        #expect(DurationValue(parsing: text)?.nanoseconds == nanoseconds)
    }

    @Test(arguments: ["", "5", "10", "s", "-1s", "10 seconds", "1.2.3s", "10sec", "abc", "1e3s", "ms500", "99999999999h"])
    func rejects(text: String) {
        #expect(DurationValue(parsing: text) == nil)
    }

    @Test func descriptions() {
        #expect(DurationValue(parsing: "500ms")?.description == "500ms")
        #expect(DurationValue(parsing: "1.5s")?.description == "1.5s")
        #expect(DurationValue(parsing: "2m")?.description == "2m")
        #expect(DurationValue(parsing: "1h")?.description == "1h")
        #expect(DurationValue(parsing: "90s")?.description == "1.5m" || DurationValue(parsing: "90s")?.description == "90s")
        #expect(DurationValue(nanoseconds: 0).description == "0s")
        #expect(DurationValue(nanoseconds: 250_000).description == "250us")
        #expect(DurationValue(nanoseconds: 7).description == "7ns")
        #expect(DurationValue(seconds: 0.25).nanoseconds == 250_000_000)
        #expect(DurationValue.milliseconds(3).microseconds == 3000)
        #expect(DurationValue.seconds(2).duration == .seconds(2))
        // Round trip through the description.
        for text in ["500ms", "10s", "1.5s", "2m", "1h", "250us", "3ns"] {
            let value = DurationValue(parsing: text)
            #expect(value.flatMap { DurationValue(parsing: $0.description) } == value)
        }
    }

    @Test func rates() {
        #expect(RateValue(parsing: "200")?.perSecond == 200)
        #expect(RateValue(parsing: "200/s")?.perSecond == 200)
        #expect(RateValue(parsing: "1200/m")?.perSecond == 20)
        #expect(RateValue(parsing: "3600/h")?.perSecond == 1)
        #expect(RateValue(parsing: "0.5")?.perSecond == 0.5)
        #expect(RateValue(parsing: "0")?.perSecond == 0)
        for bad in ["", "abc", "-1", "200/d", "/s", "inf", "nan"] {
            #expect(RateValue(parsing: bad) == nil, "\(bad)")
        }
        #expect(RateValue(perSecond: 200).description == "200/s")
    }
}

@Suite struct ThresholdTests {
    @Test func parsesEveryMetric() throws {
        let cases: [(String, ThresholdMetric, ThresholdComparison, Double)] = [
            ("p99 < 250ms", .latencyPercentile(99), .less, 250),
            ("p99.9<1s", .latencyPercentile(99.9), .less, 1000),
            ("p999 <= 2s", .latencyPercentile(99.9), .lessOrEqual, 2000),
            ("p50 < 500us", .latencyPercentile(50), .less, 0.5),
            ("max <= 5s", .latencyMax, .lessOrEqual, 5000),
            ("mean < 20ms", .latencyMean, .less, 20),
            ("error_rate < 1%", .errorRate, .less, 0.01),
            ("error_rate<0.05", .errorRate, .less, 0.05),
            ("goodput > 150/s", .goodput, .greater, 150),
            ("throughput >= 100", .throughput, .greaterOrEqual, 100),
            ("amplification < 1.2", .amplification, .less, 1.2),
        ]
        for (text, metric, comparison, limit) in cases {
            let threshold = try Threshold(parsing: text)
            #expect(threshold.metric == metric, "\(text)")
            #expect(threshold.comparison == comparison, "\(text)")
            #expect(abs(threshold.limit - limit) < 1e-9, "\(text)")
            #expect(threshold.expression == text)
        }
    }

    @Test func errorsSayWhatWasExpected() {
        let cases: [(String, String)] = [
            ("p99", "expected METRIC OP LIMIT like \"p99 < 250ms\" (OP is <, <=, > or >=), got \"p99\""),
            ("p99 = 5ms", "unknown operator in \"p99 = 5ms\"; expected <, <=, > or >="),
            ("< 5ms", "missing metric before \"<\" in \"< 5ms\""),
            ("p99 <", "missing limit after \"<\" in \"p99 <\""),
            ("p99 < 250", "p99 expects a duration like \"250ms\" or \"1s\", got \"250\""),
            ("p150 < 1s", "percentile in \"p150\" must be greater than 0 and at most 100"),
            ("p0 < 1s", "percentile in \"p0\" must be greater than 0 and at most 100"),
            ("latency < 1s",
                "unknown metric \"latency\"; expected pN (like p99 or p99.9), max, mean, error_rate, goodput, throughput or amplification"),
            ("pxx < 1s",
                "unknown metric \"pxx\"; expected pN (like p99 or p99.9), max, mean, error_rate, goodput, throughput or amplification"),
            ("error_rate < 200%", "error_rate expects a percentage like \"1%\" or a fraction like 0.01, got \"200%\""),
            ("error_rate < 2", "error_rate expects a percentage like \"1%\" or a fraction like 0.01, got \"2\""),
            ("goodput > fast", "goodput expects a rate like \"150/s\", got \"fast\""),
            ("amplification < lots", "amplification expects a number like 1.2, got \"lots\""),
        ]
        for (text, message) in cases {
            #expect(throws: ThresholdError(message), "\(text)") { try Threshold(parsing: text) }
        }
    }

    static func result(latenciesMs: [Int64], failed: Int = 0, notSent: Int = 0, retries: Int = 0) -> RunResult {
        var result = RunResult()
        var index: Int64 = 0
        for ms in latenciesMs {
            result.record(.sent(index: index, intendedStart: 0, attempts: [
                .response(sent: 0, ended: ms * 1_000_000, status: 200, succeeded: true)
            ]))
            index += 1
        }
        for _ in 0..<failed {
            result.record(.sent(index: index, intendedStart: 0, attempts: [
                .response(sent: 0, ended: 1_000_000, status: 503, succeeded: false)
            ] + Array(repeating: .response(sent: 0, ended: 1_000_000, status: 503, succeeded: false), count: retries)))
            index += 1
        }
        for _ in 0..<notSent {
            result.record(.notSent(index: index, intendedStart: 0, reason: .healthGate))
            index += 1
        }
        result.elapsedNanoseconds = 10_000_000_000
        return result
    }

    @Test func evaluates() throws {
        let result = Self.result(latenciesMs: Array(1...100), failed: 2, notSent: 1, retries: 1)
        let outcomes = try ["p99 < 250ms", "p50 < 10ms", "error_rate < 1%", "error_rate < 5%", "goodput > 5/s",
            "throughput >= 10.4", "amplification < 1.1", "max <= 100ms", "mean < 60ms"]
            .map { try Threshold(parsing: $0).evaluate(result) }
        #expect(outcomes.map(\.pass) == [true, false, false, true, true, true, true, true, true])
        #expect(outcomes[0].observed == 99.007)  // 99 ms in a bucket of 64 µs: highest equivalent 99 007 µs
        #expect(outcomes[2].observed == 3.0 / 103)
        #expect(outcomes[4].observed == 10)
        #expect(outcomes[5].observed == 10.4)
        #expect(abs((outcomes[6].observed ?? 0) - 104.0 / 102) < 1e-12)
        #expect(outcomes[2].observedText == "2.913%")
        #expect(outcomes[0].observedText == "99.01ms")
    }

    @Test func undefinedMetricsFail() throws {
        let empty = RunResult()
        for text in ["p99 < 1s", "max < 1s", "mean < 1s", "error_rate < 1%", "amplification < 2"] {
            let outcome = try Threshold(parsing: text).evaluate(empty)
            #expect(outcome.observed == nil, "\(text)")
            #expect(!outcome.pass, "\(text)")
            // Latency thresholds judge successful calls, and say so when there is none.
            let expected = text.hasPrefix("error") || text.hasPrefix("amp") ? "no data" : "no successful call"
            #expect(outcome.observedText == expected, "\(text)")
        }
        // Rates are defined (zero) even for an empty run.
        #expect(try Threshold(parsing: "goodput > 1").evaluate(empty).observed == 0)
    }
}
