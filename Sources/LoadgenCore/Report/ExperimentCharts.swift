/// An experiment's part of the report: the variants' table, the expectation's verdict, and two charts with
/// one line per variant — goodput per second (with the offered rate) and attempts per second — the trigger
/// shaded on both.
enum ExperimentCharts {
    typealias Entry = HTMLReport.ExperimentEntry

    /// The section for one experiment input.
    static func section(_ entry: Entry) -> String {
        let data = entry.data
        var html = "<section class=\"experiment\"><h2>Experiment \(HTML.escape(data.experiment))</h2>\n"
        html += table(data)
        if !data.expectationText.isEmpty {
            html += "<p>Expectation: \(HTML.escape(data.expectationText)) — "
            switch data.held {
            case true?: html += "<span class=\"pass\">held</span>"
            case false?: html += "<span class=\"fail\">did not hold</span>"
            case nil: html += "not judged"
            }
            html += "</p>\n"
        }
        html += HTMLReport.figure(perSecond(entry, goodput: true))
        html += HTMLReport.figure(perSecond(entry, goodput: false))
        return html + "</section>\n"
    }

    static func table(_ data: ExperimentReportData) -> String {
        var html = "<table class=\"summary\"><thead><tr><th>variant</th><th>amplification</th><th>goodput</th>"
        html += "<th>recovery</th><th>p50</th><th>p99</th><th>p99.9</th><th>wasted</th></tr></thead><tbody>\n"
        for (index, variant) in data.variants.enumerated() {
            let recovery = data.trigger == nil ? "—" : variant.recovery.map { formatNumber($0, digits: 1) + "s" } ?? "never"
            let cells = [
                variant.amplification.map { formatNumber($0, digits: 2) } ?? "—", HTMLReport.rate(variant.goodput), recovery,
                HTMLReport.ms(variant.latency.p50), HTMLReport.ms(variant.latency.p99), HTMLReport.ms(variant.latency.p999),
                HTMLReport.count(variant.wasted),
            ]
            html += "<tr><th>\(HTMLReport.swatch(index))\(HTML.escape(variant.name))</th>"
            html += cells.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    /// Goodput (and, in grey, the offered rate of the first variant: every variant is offered the same load)
    /// or attempts per second, one line per variant.
    static func perSecond(_ entry: Entry, goodput: Bool) -> HTMLReport.Figure {
        let data = entry.data
        let title = goodput ? "Goodput per second, by variant" : "Attempts per second, by variant"
        var series: [SVGChart.Series] = []
        if goodput, let offered = data.variants.first?.offered, !offered.isEmpty {
            series.append(
                SVGChart.Series(
                    "offered", color: "#9e9e9e", dash: "4 3",
                    points: offered.enumerated().map { SVGChart.Point(x: Double($0.offset) + 0.5, y: $0.element) }))
        }
        for (index, variant) in data.variants.enumerated() {
            let values = goodput ? variant.goodputPerSecond : variant.attempts
            guard !values.isEmpty else { continue }
            series.append(
                SVGChart.Series(
                    variant.name, color: HTMLReport.color(index),
                    points: values.enumerated().map { second in
                        SVGChart.Point(
                            x: Double(second.offset) + 0.5, y: second.element,
                            note: "\(variant.name) at \(second.offset)s: \(formatNumber(second.element, digits: 1))/s")
                    }))
        }
        guard series.contains(where: { $0.name != "offered" }) else {
            return HTMLReport.Figure(
                title: title, chart: nil, notes: [], missing: "the result has no per-second \"timeseries\".")
        }
        let bands = data.trigger.map { [SVGChart.Band("trigger", from: $0.lowerBound, to: $0.upperBound, color: "#fde0dc")] } ?? []
        let chart = SVGChart(
            id: "chart-experiment-\(entry.index)-\(goodput ? "goodput" : "attempts")", title: title,
            x: ReportCharts.timeAxis, y: ChartAxis(goodput ? "successful calls per second" : "attempts per second"),
            series: series, bands: bands)
        return HTMLReport.Figure(title: title, chart: chart, notes: [], missing: "")
    }
}
