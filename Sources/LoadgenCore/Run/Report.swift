import EndpointSpec

/// Text and JSON renderings of a run's result.
public enum Report {
    /// The summary table printed after a run.
    public static func summary(_ result: RunResult, outcomes: [ThresholdOutcome]) -> String {
        var text = "\n\(result.scenarioName): \(result.loadDescription)"
        if !result.target.isEmpty { text += " against \(result.target)" }
        text += "\n\n"
        let notSent = result.notSent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        var calls = "\(result.calls)  (ok \(result.ok), failed \(result.failed), not sent \(result.notSentTotal)"
        if !notSent.isEmpty { calls += ": " + notSent.joined(separator: ", ") }
        calls += ")"
        text += row("calls", calls)
        text += row(
            "attempts",
            "\(result.attempts)  (retries \(result.retries), amplification \(formatNumber(result.amplification, digits: 3))"
                + (result.budgetDenials > 0 ? ", retries denied by budget \(result.budgetDenials)" : "")
                + (result.pacedAttempts > 0 ? ", paced by the rate limiter \(result.pacedAttempts)" : "") + ")")
        if let generator = generatorLine(result) { text += row("generator", generator) }
        text += row("rates", rates(result))
        text += row("error rate", formatNumber(result.errorRate * 100, digits: 3) + "%")
        text += "\n" + pad("", 22) + ["p50", "p90", "p99", "p99.9", "max", "mean"].map { pad($0, 10, right: true) }
            .joined() + "\n"
        text += latencyRow("latency (intended)", result.latency)
        if result.failed > 0 { text += latencyRow("  successful calls", result.latencyOk) }
        text += latencyRow("service time (sent)", result.serviceTime)
        text += latencyRow("wait before send", result.sendLag)
        text += latencyRow("per attempt", result.attemptLatency)
        if !result.requestLabels.isEmpty, !result.byRequest.isEmpty {
            text += "\n" + pad("  by name", 22)
                + ["calls", "ok", "errors", "p50 ok", "p99 ok"].map { pad($0, 10, right: true) }.joined() + "\n"
            for (name, stats) in result.byName {
                var line = "  " + pad(name, 20)
                line += [stats.calls, stats.ok, stats.errors].map { pad("\($0)", 10, right: true) }.joined()
                for percentile in [50.0, 99] {
                    let value = stats.latencyOk.flatMap { $0.totalCount > 0 ? $0.value(atPercentile: percentile) : nil }
                    line += pad(value.map { formatMilliseconds(Double($0) / 1000) } ?? "-", 10, right: true)
                }
                text += line + "\n"
            }
        }
        if result.attemptErrors.total > 0 || result.callFailures.total > 0 {
            text += "\n"
            text += row("failed attempts", describe(result.attemptErrors))
            text += row("failed calls", describe(result.callFailures))
        }
        if result.warmupCalls > 0 { text += row("warmup", "\(result.warmupCalls) calls not counted") }
        let problems = result.accountingProblems()
        if !problems.isEmpty { text += "\nACCOUNTING MISMATCH: " + problems.joined(separator: "; ") + "\n" }
        if !outcomes.isEmpty {
            text += "\nthresholds:\n"
            for outcome in outcomes {
                text += "  \(outcome.pass ? "PASS" : "FAIL")  \(pad(outcome.threshold.expression, 24)) observed \(outcome.observedText)\n"
            }
            if outcomes.contains(where: { $0.threshold.metric.isLatency && $0.threshold.calls == .successful }) {
                text += "  (latency thresholds judge successful calls; METRIC{status:any} judges every call)\n"
            }
            let failed = outcomes.filter { !$0.pass }.count
            text += failed == 0 ? "all \(outcomes.count) thresholds passed\n" : "\(failed) of \(outcomes.count) thresholds failed\n"
        }
        return text
    }

    /// `offered 250/s over 5s (planned); achieved throughput 249.8/s, goodput 249.8/s; the drain after the load
    /// took 1.9s`: rates are over the planned window, the drain is said apart.
    static func rates(_ result: RunResult) -> String {
        let window = DurationValue(nanoseconds: result.rateNanoseconds)
        let achieved = "throughput \(formatNumber(result.throughput, digits: 1))/s, goodput \(formatNumber(result.goodput, digits: 1))/s"
        var text: String
        if result.plannedNanoseconds <= 0 {
            text = achieved + " over \(window) (measured)"
        } else if let offered = result.offeredRate {
            text = "offered \(formatNumber(offered, digits: 1))/s over \(window) (planned); achieved " + achieved
        } else {
            text = achieved + " over \(window) (planned)"
        }
        if result.drainNanoseconds > 0 {
            text += "; the drain after the load took \(DurationValue(nanoseconds: result.drainNanoseconds))"
        }
        return text
    }

    /// `503 ×3, 500 ×1, timeout ×2` (statuses ascending, then kinds by name), or `none`.
    static func describe(_ counts: ErrorCounts) -> String {
        var parts = counts.byStatus.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        parts += counts.byKind.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    private static func row(_ label: String, _ value: String) -> String { "  " + pad(label, 20) + value + "\n" }

    private static func latencyRow(_ label: String, _ histogram: Histogram) -> String {
        var line = "  " + pad(label, 20)
        if histogram.totalCount == 0 { return line + pad("no data", 10, right: true) + "\n" }
        for percentile in [50.0, 90, 99, 99.9] {
            line += pad(formatMilliseconds(Double(histogram.value(atPercentile: percentile)) / 1000), 10, right: true)
        }
        line += pad(formatMilliseconds(Double(histogram.maxValue ?? 0) / 1000), 10, right: true)
        line += pad(formatMilliseconds(histogram.mean / 1000), 10, right: true)
        return line + "\n"
    }

    /// Lag of the open-loop generator worth a line: arrivals it could not start, or starts late by more than
    /// 10 ms. Nil when it kept up.
    static func generatorLine(_ result: RunResult) -> String? {
        let behind = result.notSent[.generatorBehind] ?? 0
        let lag = Double(result.generatorLagMaxNanoseconds) / 1e6
        guard behind > 0 || lag > 10 else { return nil }
        var text = "behind its schedule by up to \(formatMilliseconds(lag))"
        if behind > 0 { text += ", \(behind) arrivals not sent (generator_behind)" }
        return text + ": loadgen could not keep up with the rate; the target is not to blame for this"
    }

    /// The `--json` document. Keys (snake_case): `scenario`, `load`, `target`, `duration_s` (the measurement
    /// window, drain included), `planned_duration_s`, `offered_rps`, `drain_s`, `calls`, `ok`,
    /// `failed`, `not_sent` (`total`, `by_reason`), `attempts`, `retries`, `budget_denials`, `generator_lag_max_ms` (the
    /// most the open-loop generator started a call behind its schedule), `warmup_calls`,
    /// `throughput_rps` and `goodput_rps` (over `planned_duration_s`), `amplification`, `error_rate`,
    /// `latency_ms` (every sent call),
    /// `latency_ok_ms` (successful calls: what latency thresholds judge), `service_time_ms`,
    /// `attempt_latency_ms` (each `p50`, `p90`, `p99`, `p999`, `max`, `mean`, `min`, `count`), `errors`
    /// (`attempts` and `calls`, each `by_status` and `by_kind`), `by_name` (per request label: `calls`, `ok`,
    /// `failed`, `not_sent`, `error_rate`, `latency_ok_ms`), `thresholds` (`expression`, `metric`,
    /// `calls` for latencies (`ok` or `any`), `limit`, `observed`, `pass`), `passed`, `accounting_ok`, and
    /// `histograms` (`latency`, `service_time`, `attempt_latency`, `latency_ok` in `Histogram.serialized()`
    /// form, for merging shards).
    public static func json(_ result: RunResult, outcomes: [ThresholdOutcome]) -> String {
        var root = JSONObject()
        root["kind"] = .string("run")
        root["scenario"] = .string(result.scenarioName)
        root["load"] = .string(result.loadDescription)
        root["target"] = .string(result.target)
        root["duration_s"] = .double(result.elapsedSeconds, digits: 3)
        root["planned_duration_s"] = .double(Double(result.plannedNanoseconds) / 1e9, digits: 3)
        root["offered_rps"] = result.offeredRate.map { .double($0, digits: 3) } ?? .null
        root["drain_s"] = .double(Double(result.drainNanoseconds) / 1e9, digits: 3)
        root["calls"] = .int(Int(result.calls))
        root["ok"] = .int(Int(result.ok))
        root["failed"] = .int(Int(result.failed))
        var notSent = JSONObject()
        notSent["total"] = .int(Int(result.notSentTotal))
        notSent["by_reason"] = .object(
            JSONObject(result.notSent.sorted { $0.key < $1.key }.map { .init(key: $0.key.rawValue, value: .int(Int($0.value))) }))
        root["not_sent"] = .object(notSent)
        root["attempts"] = .int(Int(result.attempts))
        root["retries"] = .int(Int(result.retries))
        root["budget_denials"] = .int(Int(result.budgetDenials))
        root["paced_attempts"] = .int(Int(result.pacedAttempts))
        root["generator_lag_max_ms"] = .double(Double(result.generatorLagMaxNanoseconds) / 1e6, digits: 3)
        root["warmup_calls"] = .int(Int(result.warmupCalls))
        root["throughput_rps"] = .double(result.throughput, digits: 3)
        root["goodput_rps"] = .double(result.goodput, digits: 3)
        root["amplification"] = .double(result.amplification, digits: 4)
        root["error_rate"] = .double(result.errorRate, digits: 6)
        root["latency_ms"] = latencyJSON(result.latency)
        root["latency_ok_ms"] = latencyJSON(result.latencyOk)
        root["service_time_ms"] = latencyJSON(result.serviceTime)
        root["send_lag_ms"] = latencyJSON(result.sendLag)
        root["attempt_latency_ms"] = latencyJSON(result.attemptLatency)
        var errors = JSONObject()
        errors["attempts"] = errorsJSON(result.attemptErrors)
        errors["calls"] = errorsJSON(result.callFailures)
        root["errors"] = .object(errors)
        root["by_name"] = .object(
            JSONObject(
                result.byName.map { group in
                    var item = JSONObject()
                    item["calls"] = .int(Int(group.stats.calls))
                    item["ok"] = .int(Int(group.stats.ok))
                    item["failed"] = .int(Int(group.stats.failed))
                    item["not_sent"] = .int(Int(group.stats.notSent))
                    let calls = group.stats.calls
                    item["error_rate"] = .double(calls > 0 ? Double(group.stats.errors) / Double(calls) : 0, digits: 6)
                    item["latency_ok_ms"] = latencyJSON(group.stats.latencyOk ?? Histogram.latency())
                    return JSONObject.Pair(key: group.name, value: .object(item))
                }))
        root["thresholds"] = .array(
            outcomes.map { outcome in
                var item = JSONObject()
                item["expression"] = .string(outcome.threshold.expression)
                item["metric"] = .string(outcome.threshold.metric.description)
                if outcome.threshold.metric.isLatency { item["calls"] = .string(outcome.threshold.calls.rawValue) }
                item["limit"] = .double(outcome.threshold.limit, digits: 6)
                item["observed"] = outcome.observed.map { .double($0, digits: 6) } ?? .null
                if let window = outcome.threshold.window {
                    item["window_s"] = .double(window.seconds, digits: 3)
                    item["worst_window_start_s"] = outcome.worstWindowStart.map { .double($0, digits: 3) } ?? .null
                }
                item["pass"] = .bool(outcome.pass)
                return .object(item)
            })
        root["passed"] = .bool(outcomes.allSatisfy(\.pass))
        root["accounting_ok"] = .bool(result.accountingProblems().isEmpty)
        root["timeseries"] = timeSeriesJSON(result.timeline)
        var histograms = JSONObject()
        histograms["latency"] = result.latency.jsonValue
        histograms["service_time"] = result.serviceTime.jsonValue
        histograms["send_lag"] = result.sendLag.jsonValue
        histograms["attempt_latency"] = result.attemptLatency.jsonValue
        histograms["latency_ok"] = result.latencyOk.jsonValue
        root["histograms"] = .object(histograms)
        return LoadgenJSON.serialize(.object(root), indent: 2) + "\n"
    }

    /// `{"interval_s": 1, "points": [{"t", "offered", "attempts", "retries", "ok", "failed", "not_sent",
    /// "status_503", "latency_ms" (as the run's), "hdr"}, ...]}`: one point per interval,
    /// `t` in seconds from the start of the measurement; latencies of the calls that completed in the interval,
    /// also whole as `hdr` (the HdrHistogram V2 compressed encoding in base64, values in µs), so that windows
    /// can be merged exactly by `compare` and other tools.
    static func timeSeriesJSON(_ timeline: Timeline) -> JSONValue {
        let template = Histogram.latency()
        var points: [JSONValue] = []
        for (index, interval) in timeline.intervals.enumerated() {
            var point = JSONObject()
            point["t"] = .double(Double(Int64(index) * timeline.intervalNanoseconds) / 1e9, digits: 3)
            point["offered"] = .int(Int(interval.offered))
            point["attempts"] = .int(Int(interval.attempts))
            point["retries"] = .int(Int(interval.retries))
            point["ok"] = .int(Int(interval.ok))
            point["failed"] = .int(Int(interval.failed))
            point["not_sent"] = .int(Int(interval.notSent))
            point["status_503"] = .int(Int(interval.status503))
            let latency = interval.latency.unpacked(like: template)
            point["latency_ms"] = latencyJSON(latency)
            let latencyOk = interval.latencyOk.unpacked(like: template)
            point["latency_ok_ms"] = latencyJSON(latencyOk)
            point["hdr_ok"] = .string(latencyOk.hdrBase64)
            point["hdr"] = .string(latency.hdrBase64)
            points.append(.object(point))
        }
        var series = JSONObject()
        series["interval_s"] = .double(Double(timeline.intervalNanoseconds) / 1e9, digits: 3)
        series["points"] = .array(points)
        return .object(series)
    }

    static func latencyJSON(_ histogram: Histogram) -> JSONValue {
        var object = JSONObject()
        let empty = histogram.totalCount == 0
        func ms(_ microseconds: Int64) -> JSONValue { empty ? .null : .double(Double(microseconds) / 1000, digits: 3) }
        object["p50"] = ms(histogram.value(atPercentile: 50))
        object["p90"] = ms(histogram.value(atPercentile: 90))
        object["p99"] = ms(histogram.value(atPercentile: 99))
        object["p999"] = ms(histogram.value(atPercentile: 99.9))
        object["max"] = ms(histogram.maxValue ?? 0)
        object["mean"] = empty ? .null : .double(histogram.mean / 1000, digits: 3)
        object["min"] = ms(histogram.minValue ?? 0)
        object["count"] = .int(Int(histogram.totalCount))
        return .object(object)
    }

    static func errorsJSON(_ counts: ErrorCounts) -> JSONValue {
        var object = JSONObject()
        object["total"] = .int(Int(counts.total))
        object["by_status"] = .object(
            JSONObject(counts.byStatus.sorted { $0.key < $1.key }.map { .init(key: String($0.key), value: .int(Int($0.value))) }))
        object["by_kind"] = .object(
            JSONObject(counts.byKind.sorted { $0.key < $1.key }.map { .init(key: $0.key.rawValue, value: .int(Int($0.value))) }))
        return .object(object)
    }

    /// One progress line (no newline):
    /// `[  3s/10s]  offered 200/s  achieved 199.8 req/s  ok 199.5/s  p99 4.21ms  errors 0  503s 0  in flight 3`
    /// (a closed loop has no offered rate).
    public static func progressLine(_ snapshot: ProgressSnapshot) -> String {
        let elapsed = Int(snapshot.elapsed.seconds.rounded(.down))
        let total = Int(snapshot.total.seconds.rounded(.up))
        var line = snapshot.warmingUp ? "[warmup \(elapsed)s]" : "[\(pad("\(elapsed)s", 4, right: true))/\(total)s]"
        if let offered = snapshot.offeredRate {
            line += "  offered \(pad(formatNumber(offered, digits: 1), 5, right: true))/s  achieved"
        }
        line += " \(pad(formatNumber(snapshot.attemptRate, digits: 1), 7, right: true)) req/s"
        line += "  ok \(formatNumber(snapshot.goodputRate, digits: 1))/s"
        line += "  p99 " + (snapshot.p99Microseconds.map { formatMilliseconds(Double($0) / 1000) } ?? "-")
        line += "  errors \(snapshot.errors)  503s \(snapshot.status503)  in flight \(snapshot.inFlight)"
        return line
    }
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    guard text.count < width else { return text }
    let fill = String(repeating: " ", count: width - text.count)
    return right ? fill + text : text + fill
}
