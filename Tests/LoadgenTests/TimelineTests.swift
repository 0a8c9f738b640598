import EndpointSpec
import Testing

@testable import LoadgenCore

/// The per-interval view of a run: what lands in which second, and that it adds up to the run's totals.
@Suite struct TimelineTests {
    static let second: Int64 = 1_000_000_000
    static let origin: Int64 = 50 * second

    /// A call due at `due` s whose attempts are `(sent s, ended s, status)`.
    static func call(_ index: Int64, due: Double, _ attempts: [(Double, Double, Int)]) -> CallRecord {
        func at(_ seconds: Double) -> Int64 { origin + Int64(seconds * 1e9) }
        return .sent(
            index: index, intendedStart: at(due),
            attempts: attempts.map { .response(sent: at($0.0), ended: at($0.1), status: $0.2, succeeded: $0.2 == 200) })
    }

    @Test("each event counts in the interval it happened in")
    func eventsLandInTheirIntervals() {
        var timeline = Timeline(origin: Self.origin)
        // Due at 0.5 s, a 503 answered at 1.2 s, retried at 2.1 s, ok at 2.3 s.
        timeline.record(Self.call(0, due: 0.5, [(0.6, 1.2, 503), (2.1, 2.3, 200)]))
        // Due at 0.9 s, never sent.
        timeline.record(.notSent(index: 1, intendedStart: Self.origin + 900_000_000, reason: .runEnded))
        // Due at 3.0 s, failed with 500 at 3.5 s.
        timeline.record(Self.call(2, due: 3.0, [(3.0, 3.5, 500)]))
        let intervals = timeline.intervals
        #expect(intervals.count == 4)
        #expect(intervals.map(\.offered) == [2, 0, 0, 1])
        #expect(intervals.map(\.notSent) == [1, 0, 0, 0])
        #expect(intervals.map(\.attempts) == [1, 0, 1, 1])
        #expect(intervals.map(\.retries) == [0, 0, 1, 0])
        #expect(intervals.map(\.status503) == [0, 1, 0, 0])
        #expect(intervals.map(\.ok) == [0, 0, 1, 0])
        #expect(intervals.map(\.failed) == [0, 0, 0, 1])
        // Latency from the intended start: 1.8 s for the first call, 0.5 s for the third.
        #expect(intervals[2].latency.totalCount == 1)
        #expect(intervals[2].latency.maxValue == 1_800_000)
        #expect(intervals[3].latency.minValue == 500_000)
        #expect(timeline.latency(in: 0..<4).totalCount == 2)
    }

    @Test("a call recorded after a later interval opened still lands in its own interval")
    func lateCompletion() {
        var timeline = Timeline(origin: Self.origin)
        timeline.record(Self.call(0, due: 0, [(0, 2.5, 200)]))
        timeline.record(Self.call(1, due: 0, [(0, 1.5, 200)]))  // completed earlier, recorded later
        timeline.record(Self.call(2, due: 0, [(0, 2.7, 200)]))
        let intervals = timeline.intervals
        #expect(intervals.map(\.ok) == [0, 1, 2])
        #expect(intervals[1].latency.totalCount == 1)
        #expect(intervals[2].latency.totalCount == 2)
        #expect(intervals[2].latency.maxValue == 2_700_000)
    }

    @Test("a RunResult's time series sums to its totals, and merging loops equals one loop")
    func mergeEqualsSingleRecording() {
        var rng = SplitMix64(seed: 7)
        var whole = RunResult()
        whole.timeline.origin = Self.origin
        var parts = [RunResult(), RunResult(), RunResult()]
        for index in 0..<3 { parts[index].timeline.origin = Self.origin }
        for index in 0..<3_000 {
            let due = Double(index) / 300
            let service = Double(rng.next() % 400) / 1000
            let status = rng.next() % 10 == 0 ? 503 : 200
            let record = Self.call(Int64(index), due: due, [(due, due + service, status)])
            whole.record(record)
            parts[index % 3].record(record)
        }
        var merged = RunResult()
        for part in parts { merged.merge(part) }
        #expect(whole.accountingProblems().isEmpty)
        #expect(merged.accountingProblems().isEmpty)
        #expect(merged.timeline == whole.timeline)
        #expect(whole.timeline.count == 11)
        #expect(whole.timeline.intervals.reduce(0) { $0 + $1.offered } == 3_000)
        let p99 = whole.timeline.latency(in: 0..<whole.timeline.count).value(atPercentile: 99)
        #expect(p99 == whole.latency.value(atPercentile: 99))
    }

    @Test("a time series that does not add up is reported")
    func accountingChecksTheSeries() {
        var result = RunResult()
        result.record(Self.call(0, due: 0, [(0, 0.1, 200)]))
        result.ok += 1
        result.calls += 1
        #expect(result.accountingProblems().contains("time series ok (1) != total (2)"))
    }

    @Test("packing keeps every count; packed histograms merge as histograms do")
    func packedHistogramRoundTrip() {
        var a = Histogram.latency()
        var b = Histogram.latency()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            a.record(Int64(rng.next() % 2_000_000))
            b.record(Int64(rng.next() % 50_000_000_000))
        }
        #expect(PackedHistogram(a).unpacked(like: Histogram.latency()) == a)
        var packed = PackedHistogram(a)
        packed.merge(PackedHistogram(b))
        var dense = a
        dense.merge(b)
        #expect(packed.unpacked(like: Histogram.latency()) == dense)
        #expect(packed == PackedHistogram(dense))
        var empty = PackedHistogram()
        empty.merge(PackedHistogram(b))
        #expect(empty == PackedHistogram(b))
        // Recording into the packed form (values out of order, repeated, negative, past the top) is recording
        // into the dense one.
        var direct = PackedHistogram()
        var reference = Histogram.latency()
        for value: Int64 in [500, 7, 500, -3, 90_000_000, 4_000_000_000_000, 8, 1_001, 1_000] {
            direct.record(value, layout: reference)
            reference.record(value)
        }
        #expect(direct == PackedHistogram(reference))
        #expect(direct.clampedCount == 1)
    }

    @Test("--json carries the time series")
    func jsonTimeSeries() throws {
        var result = RunResult()
        result.timeline.origin = Self.origin
        result.record(Self.call(0, due: 0.2, [(0.2, 0.3, 200)]))
        result.record(Self.call(1, due: 1.2, [(1.2, 1.4, 503)]))
        guard case .object(let root) = try JSON.parse(Array(Report.json(result, outcomes: []).utf8)),
            case .object(let series)? = root["timeseries"], case .array(let points)? = series["points"]
        else {
            Issue.record("no timeseries")
            return
        }
        #expect(series["interval_s"] == .number("1"))
        #expect(points.count == 2)
        guard case .object(let second) = points[1], case .object(let latency)? = second["latency_ms"] else {
            Issue.record("bad point")
            return
        }
        #expect(second["t"] == .number("1"))
        #expect(second["failed"] == .number("1"))
        #expect(second["status_503"] == .number("1"))
        #expect(latency["count"] == .number("1"))
        #expect(latency["max"] == .number("200"))
    }
}

/// `METRIC[WINDOW]` thresholds judge every window of the time series.
@Suite struct WindowedThresholdTests {
    /// 30 s at 100 calls/s: 10 ms each, except the last 2 s at 300 ms.
    static func tailResult() -> RunResult {
        var result = RunResult()
        let origin = TimelineTests.origin
        result.timeline.origin = origin
        result.plannedNanoseconds = 30 * TimelineTests.second
        for index in 0..<3_000 {
            let due = Double(index) / 100
            let service = due >= 28 ? 0.3 : 0.01
            result.record(TimelineTests.call(Int64(index), due: due, [(due, due + service, 200)]))
        }
        return result
    }

    @Test("a bad tail passes the whole-run p99 but fails p99[5s]")
    func tailIsNotDiluted() throws {
        let result = Self.tailResult()
        let whole = try Threshold(parsing: "p90 < 100ms").evaluate(result)
        #expect(whole.pass)
        let windowed = try Threshold(parsing: "p90[5s] < 100ms").evaluate(result)
        #expect(!windowed.pass)
        #expect(windowed.observed == 300)
        // The first window with a tenth of its calls slow: [24 s, 29 s) holds the calls due from 28 s to 28.7 s.
        #expect(windowed.worstWindowStart == 24)
        #expect(windowed.observedText == "300ms in the worst 5s window, from 24s")
        #expect(try Threshold(parsing: "p99[5s] < 400ms").evaluate(result).pass)
    }

    @Test("rates and error rate per window; the worst window is the lowest rate")
    func ratesPerWindow() throws {
        // Three seconds without any completion: goodput per 2 s window drops to half at best.
        var result = RunResult()
        result.timeline.origin = TimelineTests.origin
        result.plannedNanoseconds = 10 * TimelineTests.second
        for index in 0..<1_000 {
            let due = Double(index) / 100
            let ok = !(due >= 4 && due < 7)
            result.record(TimelineTests.call(Int64(index), due: due, [(due, due + 0.001, ok ? 200 : 503)]))
        }
        let goodput = try Threshold(parsing: "goodput[2s] > 50/s").evaluate(result)
        #expect(!goodput.pass)
        #expect(goodput.observed == 0)
        #expect(goodput.worstWindowStart == 4)
        let errors = try Threshold(parsing: "error_rate[3s] < 50%").evaluate(result)
        #expect(!errors.pass)
        #expect(errors.observed == 1)
        #expect(try Threshold(parsing: "error_rate < 50%").evaluate(result).pass)
        #expect(try Threshold(parsing: "throughput[1s] >= 100").evaluate(result).pass)
    }

    @Test("a run shorter than the window is one window; no data fails")
    func shortRunAndNoData() throws {
        var result = RunResult()
        result.timeline.origin = TimelineTests.origin
        result.record(TimelineTests.call(0, due: 0.1, [(0.1, 0.15, 200)]))
        let outcome = try Threshold(parsing: "p99[10s] < 100ms").evaluate(result)
        #expect(outcome.pass)
        #expect(outcome.observed == 50)
        #expect(try !Threshold(parsing: "p99[10s] < 100ms").evaluate(RunResult()).pass)
    }

    @Test("window syntax errors say what is expected", arguments: [
        ("p99[10s < 1s", "missing \"]\""),
        ("p99[500ms] < 1s", "whole number of seconds"),
        ("p99[abc] < 1s", "got \"[abc]\""),
        ("[10s] < 1s", "unknown metric"),
    ])
    func syntaxErrors(text: String, message: String) {
        #expect {
            try Threshold(parsing: text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
