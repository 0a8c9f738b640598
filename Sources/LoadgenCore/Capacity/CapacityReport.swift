import EndpointSpec

/// The text and JSON renderings of a capacity search.
public enum CapacityReport {
    /// The steps table's header line.
    public static let header =
        "  step  phase      rate/s  achieved/s  duration  calls        p50       p99     p99.9  errors  verdict\n"

    /// One row of the steps table; a failed step's reason follows on its own line.
    public static func row(_ number: Int, _ step: CapacityStepResult) -> String {
        func ms(_ p: Double) -> String { step.latencyMilliseconds(p).map(formatMilliseconds) ?? "-" }
        var line = "  " + pad(String(number), 4) + "  " + pad(step.phase.rawValue, 8)
        line += pad(formatNumber(step.rate, digits: 1), 8, right: true)
        line += pad(formatNumber(step.achievedRate, digits: 1), 12, right: true)
        line += pad(formatNumber(step.durationSeconds, digits: 1) + "s", 10, right: true)
        line += pad(String(step.result.calls), 7, right: true)
        line += pad(ms(50), 11, right: true) + pad(ms(99), 10, right: true) + pad(ms(99.9), 10, right: true)
        line += pad(formatNumber(step.result.errorRate * 100, digits: 2) + "%", 8, right: true)
        line += "  " + step.verdict.rawValue + "\n"
        if !step.reason.isEmpty { line += "        " + step.reason + "\n" }
        return line
    }

    /// The answer, as a bracket: `capacity: 47.5/s (last pass) – 49.9/s (first fail), confirmed over 20s`.
    public static func answer(_ conclusion: CapacityConclusion, confirmSeconds: Double) -> String {
        func rate(_ value: Double) -> String { formatNumber(value, digits: 1) + "/s" }
        guard let pass = conclusion.lastPass else {
            if let fail = conclusion.firstFail {
                return "capacity: none found: the SLA failed at every rate tried, down to \(rate(fail))\n"
            }
            return "capacity: none found\n"
        }
        var text = "capacity: \(rate(pass)) (last pass)"
        switch conclusion.limitedBy {
        case .endpoint:
            if let fail = conclusion.firstFail { text += " – \(rate(fail)) (first fail)" }
        case .generator:
            text += " – the generator could not keep the schedule"
            if let fail = conclusion.firstFail { text += " at \(rate(fail))" }
            text += ": the endpoint's capacity is at least \(rate(pass)); run more generators (or --threads) to find it"
        case .maxRate:
            text += ": every rate up to --max passed"
        }
        text += conclusion.confirmed
            ? ", confirmed over \(formatNumber(confirmSeconds, digits: 1))s"
            : ", NOT confirmed (the longer confirmation step failed)"
        return text + "\n"
    }

    /// The `--json` document. Keys: `kind` (`"capacity"`), `scenario`, `target`, `sla`, `precision`,
    /// `capacity` (`last_pass_rps`, `first_fail_rps`, `confirmed`, `limited_by`: `endpoint`, `generator` or
    /// `max_rate`), `probe` (`users`, `duration_s`, `achieved_rps`, `start_rps`, or `null` when `--start` was
    /// given), `steps` (`rate`, `phase`, `achieved_rps`, `duration_s`, `calls`, `latency_ms` with `p50`, `p99`,
    /// `p999`, `error_rate`, `verdict`, `reason`) and `interrupted`.
    public static func json(
        scenario: String, target: String, sla: [Threshold], precision: Double, probe: (users: Int, result: RunResult, start: Double)?,
        steps: [CapacityStepResult], conclusion: CapacityConclusion?, interrupted: Bool
    ) -> String {
        var root = JSONObject()
        root["kind"] = .string("capacity")
        root["scenario"] = .string(scenario)
        root["target"] = .string(target)
        root["sla"] = .array(sla.map { .string($0.expression) })
        root["precision"] = .double(precision, digits: 4)
        var capacity = JSONObject()
        capacity["last_pass_rps"] = conclusion?.lastPass.map { .double($0, digits: 3) } ?? .null
        capacity["first_fail_rps"] = conclusion?.firstFail.map { .double($0, digits: 3) } ?? .null
        capacity["confirmed"] = .bool(conclusion?.confirmed ?? false)
        capacity["limited_by"] = conclusion.map { .string($0.limitedBy.rawValue) } ?? .null
        root["capacity"] = .object(capacity)
        if let probe {
            var object = JSONObject()
            object["users"] = .int(probe.users)
            object["duration_s"] = .double(Double(probe.result.plannedNanoseconds) / 1e9, digits: 3)
            object["achieved_rps"] = .double(probe.result.goodput, digits: 3)
            object["start_rps"] = .double(probe.start, digits: 3)
            root["probe"] = .object(object)
        } else {
            root["probe"] = .null
        }
        root["steps"] = .array(
            steps.map { step in
                var item = JSONObject()
                item["rate"] = .double(step.rate, digits: 3)
                item["phase"] = .string(step.phase.rawValue)
                item["achieved_rps"] = .double(step.achievedRate, digits: 3)
                item["duration_s"] = .double(step.durationSeconds, digits: 3)
                item["calls"] = .int(Int(step.result.calls))
                var latency = JSONObject()
                for (key, p) in [("p50", 50.0), ("p99", 99.0), ("p999", 99.9)] {
                    latency[key] = step.latencyMilliseconds(p).map { .double($0, digits: 3) } ?? .null
                }
                item["latency_ms"] = .object(latency)
                item["error_rate"] = .double(step.result.errorRate, digits: 6)
                item["verdict"] = .string(step.verdict.rawValue)
                item["reason"] = .string(step.reason)
                return .object(item)
            })
        root["interrupted"] = .bool(interrupted)
        return LoadgenJSON.serialize(.object(root), indent: 2) + "\n"
    }
}
