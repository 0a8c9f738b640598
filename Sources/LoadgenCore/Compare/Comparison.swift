import EndpointSpec
import Foundation

/// `loadgen compare`'s statistics: a noise-aware verdict on each metric of new runs against baseline runs.
///
/// **Windows.** Each run's time series (one point per second, each with its latency histogram) is cut into
/// windows: the intervals that start before `planned_duration_s` (the drain after the last arrival is
/// skipped; the warmup is never in the series), grouped in time order until a window holds
/// `minimumWindowCalls` completed calls (100) or spans `maximumWindowSeconds` (5 s). A side's value of a metric
/// is computed over all its windows pooled: counters are summed, histograms merged exactly, so p99 is the p99
/// of every call of the side, not an average of per-window p99s.
///
/// **Interval.** The change is `new / base − 1` in percent (for the error rate, `new − base` in percentage
/// points). Its 95% confidence interval comes from a bootstrap over windows with a fixed seed (deterministic):
/// each of `resamples` rounds draws, with replacement, as many windows as each side has, pools them and
/// recomputes the change (on the log of the ratio). The interval is the change ± t × the bootstrap standard
/// error, with Student's t at `min(windows of a side) − 1` degrees of freedom: a bootstrap over a handful of
/// windows underestimates the spread, and t widens it accordingly. A side with a single window has no interval
/// (every verdict is `~`). Several runs per side add their windows, which narrows the interval.
///
/// **Verdict.** `worse` when the change is worse than the tolerance (relative, `--tolerance`, default 5%; for
/// the error rate the larger of 0.1 percentage points and the tolerance × the baseline's error rate) and the
/// interval excludes zero; `better` symmetrically; `~` otherwise. When each side has at least 4 runs, a
/// two-sided Mann–Whitney U test across the runs' values (p < 0.05) replaces the interval as the test of
/// significance, as benchstat does: runs, not windows, are then the independent samples.
///
/// **Capacity results** compare `capacity.last_pass_rps` only, one file per side. Each search brackets the
/// capacity in [last pass, first fail); the interval of the change is the range of ratios the two brackets
/// allow, so `worse` needs the new bracket wholly below the baseline's (and a drop beyond the tolerance).
public enum Comparison {
    /// Compares the run results `base` and `new` (each one or more runs of a side) on `metrics`. Throws when
    /// a file lacks the time series or its histograms.
    public static func compareRuns(
        base: [ReportInput], new: [ReportInput], metrics: [CompareMetric], options: CompareOptions = CompareOptions()
    ) throws(ReportInputError) -> [MetricComparison] {
        let baseSide = try side(base, options: options)
        let newSide = try side(new, options: options)
        return compare(base: baseSide, new: newSide, metrics: metrics, options: options)
    }

    /// The windows of runs `inputs` as one side.
    static func side(_ inputs: [ReportInput], options: CompareOptions) throws(ReportInputError) -> CompareSide {
        var runs: [[CompareWindow]] = []
        for input in inputs {
            guard case .run(let run) = input.result else {
                throw ReportInputError(input.file, "a capacity result cannot be compared with run results")
            }
            runs.append(
                try CompareWindow.windows(
                    of: run, file: input.file, minimumCalls: options.minimumWindowCalls,
                    maximumSeconds: options.maximumWindowSeconds))
        }
        return CompareSide(runs: runs)
    }

    /// Compares two sides.
    static func compare(base: CompareSide, new: CompareSide, metrics: [CompareMetric], options: CompareOptions)
        -> [MetricComparison]
    {
        let baseValues = base.values(of: metrics, over: base.allWindows)
        let newValues = new.values(of: metrics, over: new.allWindows)
        // Bootstrap: the same resamples serve every metric.
        var rng = SplitMix64(seed: options.seed)
        var draws = [[Double?]](repeating: [], count: metrics.count)
        let canResample = base.windows.count >= 2 && new.windows.count >= 2
        if canResample {
            for _ in 0..<options.resamples {
                let baseDraw = base.values(of: metrics, over: resample(base.windows.count, &rng))
                let newDraw = new.values(of: metrics, over: resample(new.windows.count, &rng))
                for index in metrics.indices {
                    draws[index].append(scaledChange(metrics[index], base: baseDraw[index], new: newDraw[index]))
                }
            }
        }
        let degrees = min(base.windows.count, new.windows.count) - 1
        let useRuns = base.runs.count >= options.mannWhitneyMinimumRuns && new.runs.count >= options.mannWhitneyMinimumRuns
        var rows: [MetricComparison] = []
        for (index, metric) in metrics.enumerated() {
            var row = MetricComparison(
                metric: metric, base: baseValues[index], new: newValues[index], change: nil, ciLow: nil, ciHigh: nil,
                verdict: .same)
            guard let baseValue = baseValues[index], let newValue = newValues[index] else {
                row.note = "no data on \(baseValues[index] == nil ? "the base" : "the new") side"
                rows.append(row)
                continue
            }
            guard let point = scaledChange(metric, base: baseValue, new: newValue) else {
                row.note = "the base is 0: no relative change"
                rows.append(row)
                continue
            }
            row.change = unscale(metric, point)
            let samples = draws[index].compactMap { $0 }
            if let t = StudentT.quantile975(degrees: degrees), samples.count * 2 >= options.resamples {
                let halfWidth = t * standardDeviation(samples)
                row.ciLow = unscale(metric, point - halfWidth)
                row.ciHigh = unscale(metric, point + halfWidth)
            } else {
                row.note = "too few windows for a confidence interval"
            }
            var significant = (row.ciLow ?? 0) > 0 || (row.ciHigh ?? 0) < 0
            if useRuns {
                let perRun = { (side: CompareSide) in side.runs.compactMap { side.values(of: [metric], over: $0)[0] } }
                let test = MannWhitney.test(perRun(base), perRun(new))
                row.pValue = test.pValue
                significant = test.pValue < options.alpha
            }
            row.verdict = verdict(
                metric, change: row.change ?? 0, base: baseValue, significant: significant, options: options)
            rows.append(row)
        }
        return rows
    }

    /// The change in the scale the interval is built on: the log of the ratio for relative metrics, the
    /// difference for the error rate; `nil` when undefined.
    static func scaledChange(_ metric: CompareMetric, base: Double?, new: Double?) -> Double? {
        guard let base, let new else { return nil }
        if metric.changeIsAbsolute { return new - base }
        if base == 0 && new == 0 { return 0 }
        guard base > 0, new > 0 else { return nil }
        return log(new / base)
    }

    /// A scaled change as reported: percent for relative metrics, percentage points for the error rate.
    static func unscale(_ metric: CompareMetric, _ scaled: Double) -> Double {
        metric.changeIsAbsolute ? scaled * 100 : (exp(scaled) - 1) * 100
    }

    /// The verdict on a change (percent, or percentage points for the error rate).
    static func verdict(
        _ metric: CompareMetric, change: Double, base: Double, significant: Bool, options: CompareOptions
    ) -> CompareVerdict {
        guard significant else { return .same }
        let tolerance =
            metric.changeIsAbsolute
            ? max(options.errorRateFloor, options.tolerance * base) * 100 : options.tolerance * 100
        let worse = metric.lowerIsBetter ? change > tolerance : change < -tolerance
        let better = metric.lowerIsBetter ? change < -tolerance : change > tolerance
        return worse ? .worse : better ? .better : .same
    }

    /// `count` window indices drawn with replacement.
    private static func resample(_ count: Int, _ rng: inout SplitMix64) -> [Int] {
        (0..<count).map { _ in Int(rng.next() % UInt64(count)) }
    }

    private static func standardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        let sum = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (sum / Double(values.count - 1)).squareRoot()
    }

    /// Compares the capacity results `base` and `new` on `capacity.last_pass_rps` (see the type's notes).
    public static func compareCapacity(
        base: CapacityReportData, new: CapacityReportData, baseFile: String, newFile: String,
        options: CompareOptions = CompareOptions()
    ) throws(ReportInputError) -> MetricComparison {
        guard let basePass = base.lastPass, basePass > 0 else {
            throw ReportInputError(baseFile, "no \"capacity.last_pass_rps\" (no rate met the SLA): nothing to compare")
        }
        guard let newPass = new.lastPass, newPass > 0 else {
            throw ReportInputError(newFile, "no \"capacity.last_pass_rps\" (no rate met the SLA): nothing to compare")
        }
        let change = (newPass / basePass - 1) * 100
        // The capacity lies in [last pass, first fail) on each side (no first fail: unbounded above).
        let low = base.firstFail.map { (newPass / $0 - 1) * 100 } ?? -100
        let high = new.firstFail.map { ($0 / basePass - 1) * 100 }
        let significant = low > 0 || (high ?? 0) < 0
        return MetricComparison(
            metric: .capacity, base: basePass, new: newPass, change: change, ciLow: low, ciHigh: high,
            verdict: verdict(.capacity, change: change, base: basePass, significant: significant, options: options))
    }
}
