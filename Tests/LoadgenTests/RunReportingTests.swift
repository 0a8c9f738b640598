import EndpointSpec
import Testing

@testable import LoadgenCore

/// What `loadgen run` reports: rates over the planned window beside the offered rate, per-name results.
@Suite struct RunReportingTests {
    /// 250/s for 5 s, every call completing, the last ones during a 1.91 s drain.
    static func offeredAndDrained() -> RunResult {
        var result = RunResult(scenarioName: "s", loadDescription: "constant-rate 250/s for 5s")
        for index in Int64(0)..<1250 {
            let intended = index * 4_000_000
            result.record(
                .sent(
                    index: index, intendedStart: intended,
                    attempts: [.response(sent: intended, ended: intended + 10_000_000, status: 200, succeeded: true)]))
        }
        result.plannedNanoseconds = 5_000_000_000
        result.elapsedNanoseconds = 6_910_000_000
        result.offeredRate = 250
        return result
    }

    @Test("throughput and goodput are over the planned window; the summary says offered, achieved and the drain")
    func ratesOverThePlannedWindow() throws {
        let result = Self.offeredAndDrained()
        #expect(result.throughput == 250)
        #expect(result.goodput == 250)
        let text = Report.summary(result, outcomes: [])
        #expect(
            text.contains(
                "offered 250/s over 5s (planned); achieved throughput 250/s, goodput 250/s; the drain after the load took 1.91s"),
            "\(text)")
        guard case .object(let root) = try LoadgenJSON.parse(Report.json(result, outcomes: [])) else {
            Issue.record("not an object")
            return
        }
        #expect(root["throughput_rps"] == .number("250"))
        #expect(root["drain_s"] == .number("1.91"))
        #expect(root["duration_s"] == .number("6.91"))
        #expect(try Threshold(parsing: "goodput >= 250/s").evaluate(result).pass)
    }

    @Test("results per request name, in the summary and in the JSON's by_name")
    func perName() throws {
        var result = RunResult()
        result.requestLabels = ["short", "long", "short"]
        for index in Int64(0)..<30 {
            let request = Int(index % 3)
            let ok = request != 1 || index % 2 == 0
            result.record(
                .sent(
                    index: index, intendedStart: index * 1_000_000,
                    attempts: [
                        .response(
                            sent: index * 1_000_000, ended: index * 1_000_000 + Int64(request + 1) * 5_000_000,
                            status: ok ? 200 : 500, succeeded: ok)
                    ], requestIndex: request))
        }
        result.record(.notSent(index: 30, intendedStart: 0, reason: .clientQueueFull, requestIndex: 1))
        let names = result.byName
        #expect(names.map(\.name) == ["short", "long"])
        #expect(names[0].stats.calls == 20 && names[0].stats.ok == 20)
        #expect(names[1].stats.calls == 11 && names[1].stats.ok == 5 && names[1].stats.failed == 5)
        #expect(names[1].stats.notSent == 1)
        let text = Report.summary(result, outcomes: [])
        #expect(text.contains("by name"), "\(text)")
        #expect(text.contains("  long                        11         5         6"), "\(text)")
        guard case .object(let root) = try LoadgenJSON.parse(Report.json(result, outcomes: [])),
            case .object(let byName)? = root["by_name"], case .object(let long)? = byName["long"]
        else {
            Issue.record("no by_name.long")
            return
        }
        #expect(long["calls"] == .number("11"))
        #expect(long["ok"] == .number("5"))
        #expect(long["failed"] == .number("5"))
        #expect(long["not_sent"] == .number("1"))
        guard case .object(let latency)? = long["latency_ok_ms"] else {
            Issue.record("no latency_ok_ms")
            return
        }
        #expect(latency["p50"] == .number("10"))
    }
}
