import Foundation

/// The report's charts, built from the typed inputs. An input lacking what a chart needs is left out of it
/// with a note; a chart no input can feed is replaced by a sentence saying why.
enum ReportCharts {
    typealias RunEntry = HTMLReport.RunEntry
    typealias CapacityEntry = HTMLReport.CapacityEntry
    typealias Figure = HTMLReport.Figure

    /// The colour and dash of metric `metric` of input `index`: with one input the metrics take the palette's
    /// colours; with several, the input's colour and one dash per metric.
    static func style(input index: Int, metric: Int, single: Bool) -> (color: String, dash: String) {
        if single { return (HTMLReport.color(metric), "") }
        return (HTMLReport.color(index), HTMLReport.dashes[metric % HTMLReport.dashes.count])
    }

    /// `p99` alone for one input, `scenario (file) · p99` for several.
    static func name(_ metric: String, _ entry: RunEntry, single: Bool) -> String {
        single ? metric : "\(entry.input.label) · \(metric)"
    }

    /// Inputs with a non-empty timeseries, and notes for the others.
    static func withTimeseries(_ runs: [RunEntry]) -> (runs: [(RunEntry, Timeseries)], notes: [String]) {
        var notes: [String] = []
        var usable: [(RunEntry, Timeseries)] = []
        for run in runs {
            if let series = run.data.timeseries, !series.points.isEmpty {
                usable.append((run, series))
            } else {
                notes.append("\(run.input.file) has no \"timeseries\" (written by an older loadgen?): not shown here.")
            }
        }
        return (usable, notes)
    }

    static let timeAxis = ChartAxis("time since start (s)")

    /// p50, p99 and max per interval on a log scale, with the SLA lines of p50/p99/max thresholds.
    static func latencyOverTime(_ runs: [RunEntry]) -> Figure {
        let (usable, notes) = withTimeseries(runs)
        let title = "Latency over time (per interval, from intended start)"
        guard !usable.isEmpty else {
            return Figure(title: title, chart: nil, notes: notes, missing: "no input has a \"timeseries\".")
        }
        let single = usable.count == 1
        var series: [SVGChart.Series] = []
        for (run, timeseries) in usable {
            let metrics: [(String, KeyPath<LatencyFigures, Double?>)] = [("p50", \.p50), ("p99", \.p99), ("max", \.max)]
            for (offset, metric) in metrics.enumerated() {
                let look = style(input: run.index, metric: offset, single: single)
                let points = timeseries.points.map { point in
                    let value = point.latency[keyPath: metric.1]
                    return SVGChart.Point(
                        x: point.t + timeseries.interval / 2, y: value,
                        note: value.map { "\(name(metric.0, run, single: single)) at \(formatNumber(point.t, digits: 2))s: \(formatMilliseconds($0))" })
                }
                series.append(SVGChart.Series(name(metric.0, run, single: single), color: look.color, dash: look.dash, points: points))
            }
        }
        var rules: [SVGChart.Rule] = []
        var seen: Set<String> = []
        for (run, _) in usable {
            for threshold in run.data.thresholds where ["p50", "p99", "max"].contains(threshold.metric) {
                guard let limit = threshold.limit, limit > 0, seen.insert("\(threshold.metric)\(limit)").inserted else {
                    continue
                }
                let color = threshold.metric == "p99" ? "#b00020" : threshold.metric == "max" ? "#6a1b9a" : "#e65100"
                rules.append(SVGChart.Rule("SLA \(threshold.expression)", value: limit, color: color))
            }
        }
        let chart = SVGChart(
            id: "chart-latency", title: title, x: timeAxis,
            y: ChartAxis("latency", scale: .log, format: .milliseconds), series: series, rules: rules)
        return Figure(title: title, chart: chart, notes: notes, missing: "")
    }

    /// The percentile spectrum of `histograms.latency`: x is 1/(1−p) on a log scale labelled as percentiles.
    static func percentileSpectrum(_ runs: [RunEntry]) -> Figure {
        let title = "Latency by percentile (whole run, HdrHistogram style)"
        var notes: [String] = []
        var series: [SVGChart.Series] = []
        for run in runs {
            guard let counts = run.data.latencyCounts else {
                notes.append("\(run.input.file) has no \"histograms.latency\": not shown here.")
                continue
            }
            let points = PercentileSpectrum.points(counts)
            guard !points.isEmpty else {
                notes.append("\(run.input.file): the latency histogram is empty (no call completed).")
                continue
            }
            series.append(SVGChart.Series(run.input.label, color: HTMLReport.color(run.index), points: points))
        }
        notes += runs.flatMap { run in run.data.notes.map { "\(run.input.file): \($0)" } }
        guard !series.isEmpty else {
            return Figure(title: title, chart: nil, notes: notes, missing: "no input has latency histogram counts.")
        }
        let chart = SVGChart(
            id: "chart-percentiles", title: title,
            x: ChartAxis("percentile", scale: .log, format: .inversePercentile),
            y: ChartAxis("latency (ms)", format: .number), series: series)
        return Figure(title: title, chart: chart, notes: notes, missing: "")
    }

    /// Offered rate, throughput (attempts/s), goodput (ok/s) and 503s/s per interval.
    static func rates(_ runs: [RunEntry]) -> Figure {
        let (usable, notes) = withTimeseries(runs)
        let title = "Offered rate, throughput, goodput and 503s (per second)"
        guard !usable.isEmpty else {
            return Figure(title: title, chart: nil, notes: notes, missing: "no input has a \"timeseries\".")
        }
        let single = usable.count == 1
        var series: [SVGChart.Series] = []
        for (run, timeseries) in usable {
            let metrics: [(String, KeyPath<TimeseriesPoint, Double?>)] = [
                ("offered/s", \.offered), ("throughput (attempts/s)", \.attempts), ("goodput (ok/s)", \.ok),
                ("503s/s", \.status503),
            ]
            for (offset, metric) in metrics.enumerated() {
                // A closed loop has no offered rate; an older result may lack a column.
                guard timeseries.points.contains(where: { $0[keyPath: metric.1] != nil }) else { continue }
                let look = style(input: run.index, metric: offset, single: single)
                let points = timeseries.points.map { point in
                    SVGChart.Point(x: point.t + timeseries.interval / 2, y: point[keyPath: metric.1].map { $0 / timeseries.interval })
                }
                series.append(SVGChart.Series(name(metric.0, run, single: single), color: look.color, dash: look.dash, points: points))
            }
        }
        let chart = SVGChart(id: "chart-rates", title: title, x: timeAxis, y: ChartAxis("calls or attempts per second"), series: series)
        return Figure(title: title, chart: chart, notes: notes, missing: "")
    }

    /// Attempts and retries per second (left axis) and amplification, attempts per first attempt (right axis).
    static func attempts(_ runs: [RunEntry]) -> Figure {
        let (usable, notes) = withTimeseries(runs)
        let title = "Attempts, retries and amplification"
        guard !usable.isEmpty else {
            return Figure(title: title, chart: nil, notes: notes, missing: "no input has a \"timeseries\".")
        }
        let single = usable.count == 1
        var series: [SVGChart.Series] = []
        for (run, timeseries) in usable {
            let x = { (point: TimeseriesPoint) in point.t + timeseries.interval / 2 }
            var look = style(input: run.index, metric: 0, single: single)
            series.append(
                SVGChart.Series(
                    name("attempts/s", run, single: single), color: look.color, dash: look.dash,
                    points: timeseries.points.map { SVGChart.Point(x: x($0), y: $0.attempts.map { $0 / timeseries.interval }) }))
            look = style(input: run.index, metric: 1, single: single)
            series.append(
                SVGChart.Series(
                    name("retries/s", run, single: single), color: look.color, dash: look.dash,
                    points: timeseries.points.map { SVGChart.Point(x: x($0), y: $0.retries.map { $0 / timeseries.interval }) }))
            look = style(input: run.index, metric: 2, single: single)
            series.append(
                SVGChart.Series(
                    name("amplification (right axis)", run, single: single), color: look.color, dash: look.dash,
                    points: timeseries.points.map { point in
                        guard let attempts = point.attempts, let retries = point.retries, attempts - retries > 0 else {
                            return SVGChart.Point(x: x(point), y: nil)
                        }
                        return SVGChart.Point(x: x(point), y: attempts / (attempts - retries))
                    }, side: .right))
        }
        let chart = SVGChart(
            id: "chart-attempts", title: title, x: timeAxis, y: ChartAxis("per second"),
            y2: ChartAxis("amplification (attempts per call)", includeZero: false), series: series)
        return Figure(title: title, chart: chart, notes: notes, missing: "")
    }

    // MARK: Capacity

    static let rateAxis = ChartAxis("offered rate (calls/s)")

    /// The bracket [last pass, first fail] of each input as a band (or a line at the last pass alone).
    static func brackets(_ entries: [CapacityEntry]) -> (bands: [SVGChart.Band], rules: [SVGChart.Rule]) {
        var bands: [SVGChart.Band] = []
        var rules: [SVGChart.Rule] = []
        let single = entries.count == 1
        for entry in entries {
            let owner = single ? "" : " (\(entry.input.label))"
            let color = HTMLReport.color(entry.index)
            switch (entry.data.lastPass, entry.data.firstFail) {
            case (let pass?, let fail?):
                bands.append(
                    SVGChart.Band(
                        "capacity between \(HTMLReport.rate(pass)) and \(HTMLReport.rate(fail))\(owner)", from: pass, to: fail,
                        color: color))
            case (let pass?, nil):
                rules.append(SVGChart.Rule("last pass \(HTMLReport.rate(pass))\(owner)", value: pass, color: color, vertical: true))
            case (nil, let fail?):
                rules.append(SVGChart.Rule("first fail \(HTMLReport.rate(fail))\(owner)", value: fail, color: color, vertical: true))
            case (nil, nil): break
            }
        }
        return (bands, rules)
    }

    static func stepNote(_ step: CapacityStep, _ entry: CapacityEntry) -> String {
        var text = "\(entry.input.label): offered \(HTMLReport.rate(step.rate))"
        if !step.phase.isEmpty { text += " (\(step.phase))" }
        text += ", achieved \(HTMLReport.rate(step.achieved)), p99 \(HTMLReport.ms(step.latency.p99))"
        text += ", errors \(HTMLReport.percent(step.errorRate)): \(step.verdict)"
        if !step.reason.isEmpty { text += " (\(step.reason))" }
        return text
    }

    /// Achieved against offered rate, with the ideal `achieved = offered` line and the capacity bracket.
    static func capacityThroughput(_ entries: [CapacityEntry]) -> Figure {
        let title = "Capacity: achieved rate against offered rate"
        var series: [SVGChart.Series] = []
        var notes: [String] = []
        for entry in entries {
            let steps = entry.data.steps.sorted { $0.rate < $1.rate }
            guard steps.contains(where: { $0.achieved != nil }) else {
                notes.append("\(entry.input.file) has no step with \"achieved_rps\": not shown here.")
                continue
            }
            series.append(
                SVGChart.Series(
                    entry.input.label, color: HTMLReport.color(entry.index),
                    points: steps.map { SVGChart.Point(x: $0.rate, y: $0.achieved, note: stepNote($0, entry)) }, markers: true))
        }
        guard !series.isEmpty else {
            return Figure(title: title, chart: nil, notes: notes, missing: "no capacity input has measured steps.")
        }
        let highest = entries.flatMap { $0.data.steps.map(\.rate) }.max() ?? 1
        series.insert(
            SVGChart.Series(
                "achieved = offered", color: "#999", dash: "3 3", points: [SVGChart.Point(x: 0, y: 0), SVGChart.Point(x: highest, y: highest)]),
            at: 0)
        let marks = brackets(entries)
        let chart = SVGChart(
            id: "chart-capacity", title: title, x: rateAxis, y: ChartAxis("achieved rate (calls/s)"), series: series,
            rules: marks.rules, bands: marks.bands)
        return Figure(title: title, chart: chart, notes: notes, missing: "")
    }

    /// p99 against offered rate (log scale), with the SLA's latency limits and the capacity bracket.
    static func capacityLatency(_ entries: [CapacityEntry]) -> Figure {
        let title = "Capacity: p99 latency against offered rate"
        var series: [SVGChart.Series] = []
        var notes: [String] = []
        var rules: [SVGChart.Rule] = []
        var seen: Set<String> = []
        for entry in entries {
            let steps = entry.data.steps.sorted { $0.rate < $1.rate }
            if steps.contains(where: { $0.latency.p99 != nil }) {
                series.append(
                    SVGChart.Series(
                        entry.input.label, color: HTMLReport.color(entry.index),
                        points: steps.map { SVGChart.Point(x: $0.rate, y: $0.latency.p99, note: stepNote($0, entry)) },
                        markers: true))
            } else {
                notes.append("\(entry.input.file) has no step with a p99: not shown here.")
            }
            for expression in entry.data.sla {
                guard let threshold = try? Threshold(parsing: expression) else {
                    notes.append("\(entry.input.file): SLA \"\(expression)\" is not a threshold loadgen reads.")
                    continue
                }
                guard threshold.metric.isLatency, threshold.limit > 0, seen.insert(threshold.expression).inserted else { continue }
                rules.append(SVGChart.Rule("SLA \(threshold.expression)", value: threshold.limit, color: "#b00020"))
            }
        }
        guard !series.isEmpty else {
            return Figure(title: title, chart: nil, notes: notes, missing: "no capacity input has a p99 per step.")
        }
        let marks = brackets(entries)
        let chart = SVGChart(
            id: "chart-capacity-latency", title: title, x: rateAxis,
            y: ChartAxis("p99 latency", scale: .log, format: .milliseconds), series: series,
            rules: rules + marks.rules, bands: marks.bands)
        return Figure(title: title, chart: chart, notes: notes, missing: "")
    }
}
