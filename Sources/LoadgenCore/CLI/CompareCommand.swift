import CommandLine
import EndpointSpec

/// `loadgen compare BASE.json NEW.json`: a noise-aware verdict of new runs against a baseline, for CI gates.
/// The statistics are described on `Comparison`.
enum CompareCommand {
    static let method = """
        METHOD:
            Each run's time series is cut into windows of consecutive 1 s intervals (at least 100 completed calls
            or 5 s each; intervals starting after planned_duration_s, the drain, are skipped). A side's value is
            computed over all its windows pooled (histograms merged exactly: p99 is the p99 of every call).
            The change is new/base - 1 in percent (error_rate: new - base in percentage points). Its
            confidence interval: a bootstrap over windows (2000 resamples per side, fixed seed, so the output is
            deterministic) gives each side's variance (of the log value); a run-level term of n/runs times it is
            added (a run may be off as a whole by as much as one window, which one run's windows cannot show;
            for p99 and p99.9 the window spread of p50 sets that term, as a tail's spread is mostly the
            sampling noise of its few calls), and the half-width is Student's t at min(windows per side) - 1
            degrees of freedom times the standard error. The metrics are judged as a family: with m metrics
            selected, each interval has level 1 - 0.05/m (99.3% for the 7 defaults; Bonferroni), so that a false
            alarm on any of them stays under 5%. Several runs per side (comma-separated) add windows; with at
            least 4 runs per side a two-sided Mann-Whitney U test across runs (p < 0.05 per metric, as
            benchstat; with 4 runs its smallest p is 0.029) decides significance instead of the interval.
            Verdict: 'worse' when the change is worse than the tolerance AND significant; 'better'
            symmetrically; '~' otherwise. Lower is better for latencies, error_rate and amplification; higher
            for throughput and goodput. The error_rate tolerance is the larger of --error-tolerance and
            --tolerance x the base error rate, in percentage points.
            Results must be of the same scenario (name and load description) unless --force. Capacity results
            ('loadgen capacity --json') compare capacity.last_pass_rps, one file per side: the interval is what
            the [last pass, first fail) brackets of the two searches allow.

        EXIT CODES:
            0  no selected metric is worse
            1  at least one selected metric is worse
            2  usage error, a file missing or invalid, or results of different scenarios (without --force)
            4  cannot write the --json file
        """

    /// The subcommand's definition for `LoadgenCommand.spec`.
    static let spec = CommandSpec(
        name: "compare", abstract: "Compare run results against a baseline: per-metric change, confidence interval, verdict.",
        discussion: method,
        options: [
            .value(
                "tolerance", valueName: "PCT",
                help: "Changes smaller than this are '~' however significant (e.g. 5%).", defaultDescription: "5%"),
            .value(
                "error-tolerance", valueName: "PP",
                help: "Smallest error_rate rise, in percentage points, that can be 'worse'.",
                defaultDescription: "0.1pp"),
            .value(
                "metric", valueName: "NAME", help: "Judge only this metric (repeatable): p50, p99, p99.9, throughput, "
                    + "goodput, error_rate, amplification (capacity results: capacity).", repeatable: true),
            .flag("force", help: "Compare results of different scenarios."),
            .value("json", valueName: "OUT.json", help: "Write the verdicts as JSON ('-' for stdout)."),
        ],
        positionals: [
            PositionalSpec("BASE", help: "baseline result JSON (several runs: A.json,B.json)"),
            PositionalSpec("NEW", help: "new result JSON (several runs: A.json,B.json)"),
        ])

    /// Runs `loadgen compare` with parsed arguments.
    static func run(_ parsed: ParsedArguments, environment: LoadgenEnvironment) -> LoadgenExitCode {
        var options = CompareOptions()
        var metrics: [CompareMetric] = []
        do {
            if let tolerance = try parsed.value("tolerance", expected: "a percentage like 5% (0 to 100)", percent) {
                options.tolerance = tolerance / 100
            }
            if let floor = try parsed.value(
                "error-tolerance", expected: "percentage points like 0.1pp (0 to 100)", percentagePoints)
            {
                options.errorRateFloor = floor / 100
            }
            metrics = try parsed.values("metric", expected: "one of \(metricNames)") { CompareMetric(name: $0) }
        } catch {
            environment.standardError(error.report)
            return .usageError
        }
        var sides: [[ReportInput]] = []
        for name in ["BASE", "NEW"] {
            let paths = (parsed.positional(name) ?? "").split(separator: ",").map(String.init)
            guard !paths.isEmpty else {
                environment.standardError(
                    CommandLineError("<\(name)> names no file", commandPath: parsed.commandPath).report)
                return .usageError
            }
            var inputs: [ReportInput] = []
            for path in paths {
                do {
                    inputs.append(try ReportInput.load(path: path, currentDirectory: environment.currentDirectory))
                } catch {
                    environment.standardError("error: \(error.description)\n")
                    return .usageError
                }
            }
            sides.append(inputs)
        }
        let base = sides[0]
        let new = sides[1]
        if !parsed.flag("force"), let difference = scenarioDifference(base + new) {
            environment.standardError("error: \(difference); pass --force to compare anyway\n")
            return .usageError
        }
        let rows: [MetricComparison]
        do {
            rows = try compare(base: base, new: new, metrics: metrics, options: options)
        } catch {
            environment.standardError("error: \(error.description)\n")
            return .usageError
        }
        let useRuns = base.count >= options.mannWhitneyMinimumRuns && new.count >= options.mannWhitneyMinimumRuns
        let table = render(rows, base: base, new: new, options: options, mannWhitney: useRuns)
        let jsonPath = parsed.string("json")
        if jsonPath == "-" { environment.standardError(table) } else { environment.standardOutput(table) }
        if let jsonPath {
            let document = json(rows, base: base, new: new, options: options, mannWhitney: useRuns)
            if jsonPath == "-" {
                environment.standardOutput(document)
            } else {
                let absolute = jsonPath.hasPrefix("/") ? jsonPath : environment.currentDirectory + "/" + jsonPath
                do {
                    try environment.writeFile(absolute, document)
                } catch {
                    environment.standardError("error: cannot write --json file '\(jsonPath)': \(error)\n")
                    return .runtimeError
                }
            }
        }
        return rows.contains { $0.verdict == .worse } ? .thresholdsFailed : .success
    }

    static var metricNames: String { CompareMetric.allCases.map(\.rawValue).joined(separator: ", ") }

    /// `5%`, `5` or `2.5%` → 5, 5, 2.5.
    static func percent(_ text: String) -> Double? {
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(number), value >= 0, value <= 100 else { return nil }
        return value
    }

    /// `0.1pp`, `0.1%` or `0.1` → 0.1.
    static func percentagePoints(_ text: String) -> Double? {
        percent(text.hasSuffix("pp") ? String(text.dropLast(2)) : text)
    }

    /// Runs or capacity results, by kind; a mix is an error naming the odd file.
    static func compare(base: [ReportInput], new: [ReportInput], metrics: [CompareMetric], options: CompareOptions)
        throws(ReportInputError) -> [MetricComparison]
    {
        let all = base + new
        let capacities = all.filter { if case .capacity = $0.result { return true } else { return false } }
        guard !capacities.isEmpty else {
            if let wrong = metrics.first(where: { $0 == .capacity }) {
                throw ReportInputError(all[0].file, "--metric \(wrong.rawValue) needs capacity results; this is a run result")
            }
            let selected = metrics.isEmpty ? CompareMetric.runMetrics : unique(metrics)
            return try Comparison.compareRuns(base: base, new: new, metrics: selected, options: options)
        }
        if capacities.count != all.count {
            let odd = all.first { if case .run = $0.result { return true } else { return false } }
            throw ReportInputError(
                odd?.file ?? all[0].file, "a run result cannot be compared with capacity results")
        }
        guard base.count == 1, new.count == 1, case .capacity(let baseData) = base[0].result,
            case .capacity(let newData) = new[0].result
        else {
            throw ReportInputError(
                (base.count > 1 ? base : new)[1].file, "capacity results compare one file per side")
        }
        if let wrong = metrics.first(where: { $0 != .capacity }) {
            throw ReportInputError(
                base[0].file, "--metric \(wrong.rawValue) is not in a capacity result (only 'capacity' is compared)")
        }
        return [
            try Comparison.compareCapacity(
                base: baseData, new: newData, baseFile: base[0].file, newFile: new[0].file, options: options)
        ]
    }

    private static func unique(_ metrics: [CompareMetric]) -> [CompareMetric] {
        var seen: [CompareMetric] = []
        for metric in metrics where !seen.contains(metric) { seen.append(metric) }
        return seen
    }

    /// The first field in which the files differ, as a sentence naming the field, the values and the files.
    static func scenarioDifference(_ inputs: [ReportInput]) -> String? {
        guard let first = inputs.first else { return nil }
        func load(_ input: ReportInput) -> String? {
            if case .run(let run) = input.result { return run.load }
            return nil
        }
        for other in inputs.dropFirst() {
            if other.scenario != first.scenario {
                return "the results are of different scenarios: \"scenario\" is \"\(first.scenario)\" in "
                    + "\(first.file) but \"\(other.scenario)\" in \(other.file)"
            }
            if let mine = load(first), let theirs = load(other), mine != theirs {
                return "the results ran different loads: \"load\" is \"\(mine)\" in \(first.file) but "
                    + "\"\(theirs)\" in \(other.file)"
            }
        }
        return nil
    }

    // MARK: Output

    static func formatValue(_ metric: CompareMetric, _ value: Double?) -> String {
        guard let value else { return "-" }
        switch metric {
        case .p50, .p99, .p999: return formatMilliseconds(value)
        case .throughput, .goodput, .capacity: return formatNumber(value, digits: 1) + "/s"
        case .errorRate: return formatNumber(value * 100, digits: 3) + "%"
        case .amplification: return formatNumber(value, digits: 3)
        }
    }

    static func formatChange(_ metric: CompareMetric, _ change: Double?) -> String {
        guard let change else { return "-" }
        let unit = metric.changeIsAbsolute ? "pp" : "%"
        let digits = metric.changeIsAbsolute ? 3 : 1
        let text = formatNumber(change, digits: digits)
        return (change > 0 && text != "0" ? "+" : "") + text + unit
    }

    static func formatInterval(_ row: MetricComparison) -> String {
        guard row.ciLow != nil || row.ciHigh != nil else { return "-" }
        let low = row.ciLow.map { formatChange(row.metric, $0) } ?? "-inf"
        let high = row.ciHigh.map { formatChange(row.metric, $0) } ?? "+inf"
        return "[\(low), \(high)]"
    }

    static func describe(_ inputs: [ReportInput]) -> String {
        inputs.count == 1 ? inputs[0].file : "\(inputs.count) runs (\(inputs.map(\.file).joined(separator: ", ")))"
    }

    /// The table printed by `loadgen compare`.
    static func render(
        _ rows: [MetricComparison], base: [ReportInput], new: [ReportInput], options: CompareOptions,
        mannWhitney: Bool
    ) -> String {
        var text = "\ncompare \(base.first?.scenario ?? "")"
        if let first = base.first, case .run(let run) = first.result, let load = run.load { text += ": \(load)" }
        text += "\n  base  \(describe(base))\n  new   \(describe(new))\n"
        let tolerance = formatNumber(options.tolerance * 100, digits: 2)
        let level = formatNumber(Comparison.intervalLevel(metrics: rows.count, options: options) * 100, digits: 1) + "%"
        let significance =
            mannWhitney
            ? "Mann-Whitney U across runs, p < \(formatNumber(options.alpha, digits: 3))"
            : "\(level) CI excludes 0 (\(rows.count) metrics, 5% family-wise)"
        text += "  worse/better: change beyond \(tolerance)% and \(significance)\n\n"
        let header = [
            pad("metric", 14), pad("base", 11, right: true), pad("new", 11, right: true),
            pad("change", 11, right: true), "  " + pad("\(level) CI", 24), pad("verdict", 7),
        ]
        text += "  " + header.joined() + (mannWhitney ? "  p" : "") + "\n"
        for row in rows {
            var line = "  " + pad(row.metric.rawValue, 14)
            line += pad(formatValue(row.metric, row.base), 11, right: true)
            line += pad(formatValue(row.metric, row.new), 11, right: true)
            line += pad(formatChange(row.metric, row.change), 11, right: true)
            line += "  " + pad(formatInterval(row), 24) + pad(row.verdict.rawValue, 7)
            if let p = row.pValue { line += "  " + formatNumber(p, digits: 3) }
            if let note = row.note { line += "  (\(note))" }
            while line.hasSuffix(" ") { line.removeLast() }
            text += line + "\n"
        }
        let worse = rows.filter { $0.verdict == .worse }.map(\.metric.rawValue)
        let better = rows.filter { $0.verdict == .better }.map(\.metric.rawValue)
        text += "\n"
        text += worse.isEmpty ? "no metric is worse" : "WORSE: \(worse.joined(separator: ", "))"
        if !better.isEmpty { text += "; better: \(better.joined(separator: ", "))" }
        return text + "\n"
    }

    /// The `--json` document: `{"base": [files], "new": [files], "tolerance_pct", "significance":
    /// "bootstrap-ci" | "mann-whitney", "metrics": [{"name", "base", "new", "change", "change_unit" ("%" or
    /// "pp"), "ci_low", "ci_high", "p_value", "verdict"}], "worse": bool}`. Values are in ms (latencies), /s
    /// (rates) or a fraction (error_rate); `null` when unknown or unbounded.
    static func json(
        _ rows: [MetricComparison], base: [ReportInput], new: [ReportInput], options: CompareOptions,
        mannWhitney: Bool
    ) -> String {
        func number(_ value: Double?, _ digits: Int = 6) -> JSONValue {
            guard let value, value.isFinite else { return .null }
            return .double(value, digits: digits)
        }
        var root = JSONObject()
        root["base"] = .array(base.map { .string($0.file) })
        root["new"] = .array(new.map { .string($0.file) })
        root["tolerance_pct"] = number(options.tolerance * 100)
        root["significance"] = .string(mannWhitney ? "mann-whitney" : "bootstrap-ci")
        root["metrics"] = .array(
            rows.map { row in
                var item = JSONObject()
                item["name"] = .string(row.metric.rawValue)
                item["base"] = number(row.base)
                item["new"] = number(row.new)
                item["change"] = number(row.change, 4)
                item["change_unit"] = .string(row.metric.changeIsAbsolute ? "pp" : "%")
                item["ci_low"] = number(row.ciLow, 4)
                item["ci_high"] = number(row.ciHigh, 4)
                if let p = row.pValue { item["p_value"] = number(p) }
                item["verdict"] = .string(row.verdict.rawValue)
                if let note = row.note { item["note"] = .string(note) }
                return .object(item)
            })
        root["worse"] = .bool(rows.contains { $0.verdict == .worse })
        return LoadgenJSON.serialize(.object(root), indent: 2) + "\n"
    }
}
