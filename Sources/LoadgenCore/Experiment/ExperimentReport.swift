import EndpointSpec

/// The text table and the `--json` document of `loadgen experiment`.
public enum ExperimentReport {
    /// The table (variants as rows) with the expectation and its verdict under it.
    public static func table(_ outcome: ExperimentOutcome) -> String {
        let experiment = outcome.experiment
        var text = "\n\(experiment.name)"
        if outcome.runsPerVariant > 1 { text += " (\(outcome.runsPerVariant) runs per variant: mean ±95% interval)" }
        text += "\n\n"
        var columns: [(title: String, metric: ExperimentMetric, format: (Double) -> String)] = [
            ("calls", .calls, { formatNumber($0, digits: 0) }),
            ("attempts", .attempts, { formatNumber($0, digits: 0) }),
            ("amplif.", .amplification, { formatNumber($0, digits: 2) }),
            ("goodput/s", .goodputRPS, { formatNumber($0, digits: 1) }),
        ]
        if experiment.trigger != nil {
            columns.append(("recovery", .recoveryS, { formatNumber($0, digits: 1) + "s" }))
            columns.append(("trig.att.", .triggerAttempts, { formatNumber($0, digits: 0) }))
            columns.append(("1st ok", .firstSuccessS, { formatNumber($0, digits: 1) + "s" }))
        }
        if experiment.reportsMakespan {
            columns.append(("makespan", .makespanS, { formatNumber($0, digits: 2) + "s" }))
        }
        columns += [
            ("p50", .p50, formatMilliseconds), ("p99", .p99, formatMilliseconds), ("p99.9", .p999, formatMilliseconds),
            ("wasted", .wasted, { formatNumber($0, digits: 0) }),
        ]
        let nameWidth = max(8, (outcome.variants.map(\.name.count).max() ?? 0) + 2)
        var cells: [[String]] = []
        for variant in outcome.variants {
            var row: [String] = []
            for column in columns { row.append(cell(variant, column.metric, column.format, runs: outcome.runsPerVariant)) }
            cells.append(row)
        }
        let widths = columns.indices.map { index in
            max(columns[index].title.count, cells.map { $0[index].count }.max() ?? 0) + 2
        }
        text += pad("variant", nameWidth) + columns.indices.map { pad(columns[$0].title, widths[$0], right: true) }.joined()
        text += "\n"
        for (variant, row) in zip(outcome.variants, cells) {
            text += pad(variant.name, nameWidth) + row.indices.map { pad(row[$0], widths[$0], right: true) }.joined()
            text += "\n"
        }
        text += "\n" + legend(experiment)
        let checks = outcome.checks
        if !experiment.expectation.text.isEmpty || !checks.isEmpty {
            text += "\nexpectation: \(experiment.expectation.text)\n"
            for check in checks {
                text += "  \(check.held ? "held        " : "did not hold")  \(check.check.expression)  "
                text += "(\(number(check.left)) vs \(number(check.right)))\n"
            }
            switch outcome.held {
            case true?: text += "the expectation held\n"
            case false?: text += "the expectation did not hold\n"
            case nil: text += checks.isEmpty ? "" : "the expectation was not judged (not every variant ran)\n"
            }
        }
        return text
    }

    /// What the columns mean, printed under the table.
    static func legend(_ experiment: Experiment) -> String {
        var lines = [
            "amplif. = attempts per sent call; goodput = successful calls"
                + (experiment.deadline.map { " within \($0) of their intended start" } ?? "")
                + (experiment.reportsMakespan ? " per second of the makespan;" : " per second of load;"),
            "latency of successful calls from the intended start; wasted = calls the endpoint completed after their "
                + "client had given up (its /stats)",
        ]
        if let trigger = experiment.trigger {
            lines.append(
                "trigger \(trigger.start)..\(trigger.end): recovery = from its end to the first of "
                    + "\(VariantMetrics.recoverySeconds) seconds with goodput >= "
                    + "\(formatNumber(VariantMetrics.recoveryShare * 100, digits: 0))% of the offered rate (never: did not "
                    + "recover before the load ended); trig.att. = attempts sent during it; 1st ok = its end to the first "
                    + "successful call (to the second)")
        }
        if experiment.reportsMakespan {
            lines.append("makespan = first intended start to the last call's end")
        }
        return lines.map { "  " + $0 + "\n" }.joined()
    }

    /// One cell: the mean (±interval with several runs), `never` for a time that never came, `-` for no data.
    static func cell(_ variant: VariantSummary, _ metric: ExperimentMetric, _ format: (Double) -> String, runs: Int)
        -> String
    {
        guard let mean = variant.mean(metric) else {
            if metric.missingMeansNever, !variant.runs.isEmpty {
                let some = metric == .recoveryS ? variant.recovered : variant.runs.filter { $0.firstSuccessS != nil }.count
                return some > 0 ? "never (\(some)/\(variant.runs.count) did)" : "never"
            }
            return "-"
        }
        var text = format(mean)
        if runs > 1, let interval = variant.interval(metric) { text += " ±" + format(interval) }
        return text
    }

    static func number(_ value: Double?) -> String {
        guard let value else { return "no data" }
        if value == .infinity { return "never" }
        return formatNumber(value, digits: 3)
    }

    /// The `--json` document: `kind: "experiment"` and a `variants` list whose fields scripts read by name
    /// (`name`, `amplification`, `goodput_rps`, `recovery_s`, `latency_ms` {`p50`, `p99`, `p999`},
    /// `attempts`, `calls`, `wasted`), with each variant's per-second series and runs.
    public static func json(_ outcome: ExperimentOutcome) -> String {
        let experiment = outcome.experiment
        var root = JSONObject()
        root["kind"] = .string("experiment")
        root["experiment"] = .string(experiment.name)
        root["description"] = .string(experiment.description)
        root["repeat"] = .int(outcome.runsPerVariant)
        if let trigger = experiment.trigger {
            var object = JSONObject()
            object["start_s"] = .double(trigger.start.seconds, digits: 3)
            object["end_s"] = .double(trigger.end.seconds, digits: 3)
            root["trigger"] = .object(object)
        } else {
            root["trigger"] = .null
        }
        root["deadline_ms"] = experiment.deadline.map { .double($0.seconds * 1000, digits: 3) } ?? .null
        root["variants"] = .array(outcome.variants.map { variantJSON($0, runs: outcome.runsPerVariant) })
        var expectation = JSONObject()
        expectation["text"] = .string(experiment.expectation.text)
        expectation["checks"] = .array(
            outcome.checks.map { check in
                var object = JSONObject()
                object["check"] = .string(check.check.expression)
                object["held"] = .bool(check.held)
                object["left"] = value(check.left)
                object["right"] = value(check.right)
                return .object(object)
            })
        expectation["held"] = outcome.held.map { .bool($0) } ?? .null
        root["expectation"] = .object(expectation)
        return LoadgenJSON.serialize(.object(root), indent: 2) + "\n"
    }

    /// A figure for JSON: `null` when missing or never.
    static func value(_ number: Double?, digits: Int = 3) -> JSONValue {
        guard let number, number.isFinite else { return .null }
        return .double(number, digits: digits)
    }

    static func figures(_ value: (ExperimentMetric) -> Double?) -> JSONObject {
        var object = JSONObject()
        object["amplification"] = Self.value(value(.amplification), digits: 4)
        object["goodput_rps"] = Self.value(value(.goodputRPS))
        object["recovery_s"] = Self.value(value(.recoveryS))
        var latency = JSONObject()
        latency["p50"] = Self.value(value(.p50))
        latency["p99"] = Self.value(value(.p99))
        latency["p999"] = Self.value(value(.p999))
        object["latency_ms"] = .object(latency)
        object["attempts"] = Self.value(value(.attempts))
        object["calls"] = Self.value(value(.calls))
        object["wasted"] = Self.value(value(.wasted))
        object["makespan_s"] = Self.value(value(.makespanS))
        object["trigger_attempts"] = Self.value(value(.triggerAttempts))
        object["first_success_s"] = Self.value(value(.firstSuccessS))
        return object
    }

    static func variantJSON(_ variant: VariantSummary, runs: Int) -> JSONValue {
        var object = JSONObject([JSONObject.Pair(key: "name", value: .string(variant.name))])
        object.pairs += figures { variant.mean($0) }.pairs
        object["recovered_runs"] = .int(variant.recovered)
        if runs > 1 {
            object["interval95"] = .object(figures { variant.interval($0) })
        }
        object["timeseries"] = .object(timeseries(variant.runs))
        object["runs"] = .array(
            variant.runs.map { run in
                var item = figures { metric in VariantSummary(name: variant.name, runs: [run]).mean(metric) }
                item["ok"] = .number(String(run.ok))
                item["failed"] = .number(String(run.failed))
                item["not_sent"] = .number(String(run.notSent))
                return .object(item)
            })
        return .object(object)
    }

    /// Per second, averaged over the runs: calls offered, attempts sent, goodput.
    static func timeseries(_ runs: [VariantMetrics]) -> JSONObject {
        let length = runs.map(\.perSecond.count).max() ?? 0
        func series(_ field: (VariantMetrics.Second) -> Int64) -> JSONValue {
            .array(
                (0..<length).map { second in
                    let total = runs.reduce(0) { $0 + (second < $1.perSecond.count ? field($1.perSecond[second]) : 0) }
                    return .double(Double(total) / Double(max(1, runs.count)), digits: 2)
                })
        }
        var object = JSONObject()
        object["interval_s"] = .int(1)
        object["offered"] = series(\.offered)
        object["attempts"] = series(\.attempts)
        object["goodput"] = series(\.goodput)
        return object
    }
}
