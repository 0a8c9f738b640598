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
/// points). Its confidence interval comes from a bootstrap over windows with a fixed seed (deterministic):
/// each of `resamples` rounds draws, with replacement, as many windows as each side has, pools them and
/// recomputes each side's value (its log for relative metrics). Each side's variance is the bootstrap variance
/// `σ²/n` plus a run-level term `σ²/runs` (`sideVariance`): a whole run can be shifted by the machine's state,
/// which resampling one run's windows cannot see, and the term assumes a run may be off by as much as one
/// window. For p99 and p99.9 that term uses p50's spread: a tail's window-to-window spread is mostly the
/// sampling noise of its few calls, already in the bootstrap term, not a shift of the run. The interval is the
/// change ± t × √(sum of both sides' variances), with Student's t at `min(windows of a side) − 1` degrees of
/// freedom. A side with a single window has no interval (every verdict is `~`). Several runs per side add their
/// windows, which narrows the interval.
///
/// **Family-wise.** The metrics are judged together, so each of `m` metrics gets a `1 − alpha/m` interval
/// (Bonferroni; `alpha` = 5%): the chance that any metric is called `better` or `worse` when nothing changed stays
/// at 5%, where seven 95% intervals would raise one in up to three comparisons in ten. The interval
/// printed is that interval (99.3% for the seven default metrics). The Mann–Whitney test below keeps benchstat's
/// p < `alpha` per metric: with 4 runs a side its smallest p is 2/70 ≈ 0.029, so a corrected level could never
/// be reached.
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
        // Bootstrap: the same resamples serve every metric; each side is resampled on its own. p50 is always
        // drawn: it measures the run level of every latency percentile (see `sideVariance`).
        let drawn = metrics.contains(.p50) ? metrics : metrics + [.p50]
        var rng = SplitMix64(seed: options.seed)
        var baseDraws = [[Double]](repeating: [], count: drawn.count)
        var newDraws = [[Double]](repeating: [], count: drawn.count)
        let canResample = base.windows.count >= 2 && new.windows.count >= 2
        if canResample {
            for _ in 0..<options.resamples {
                let baseDraw = base.values(of: drawn, over: resample(base.windows.count, &rng))
                let newDraw = new.values(of: drawn, over: resample(new.windows.count, &rng))
                for index in drawn.indices {
                    if let value = scaled(drawn[index], baseDraw[index]) { baseDraws[index].append(value) }
                    if let value = scaled(drawn[index], newDraw[index]) { newDraws[index].append(value) }
                }
            }
        }
        let p50Index = drawn.firstIndex(of: .p50) ?? 0
        let degrees = min(base.windows.count, new.windows.count) - 1
        let level = intervalLevel(metrics: metrics.count, options: options)
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
            let enough = baseDraws[index].count * 2 >= options.resamples && newDraws[index].count * 2 >= options.resamples
            if point == 0, baseValue == newValue, standardDeviation(baseDraws[index]) == 0,
                standardDeviation(newDraws[index]) == 0
            {
                row.ciLow = 0
                row.ciHigh = 0
            } else if let t = StudentT.quantile((1 + level) / 2, degrees: degrees), enough {
                // The run level of a tail percentile is p50's: a run shifted as a whole moves its median as much as
                // its tail, while a tail's window-to-window spread is mostly the sampling noise of a few calls
                // (which the bootstrap term already holds).
                let level = metric == .p99 || metric == .p999 ? p50Index : index
                let variance =
                    sideVariance(
                        baseDraws[index], level: baseDraws[level], windows: base.windows.count, runs: base.runs.count)
                    + sideVariance(
                        newDraws[index], level: newDraws[level], windows: new.windows.count, runs: new.runs.count)
                let halfWidth = t * variance.squareRoot()
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

    /// The level of each metric's interval when `metrics` metrics are judged together: `1 − alpha/metrics`.
    public static func intervalLevel(metrics: Int, options: CompareOptions) -> Double {
        1 - options.alpha / Double(max(1, metrics))
    }

    /// The variance of one side's value: the bootstrap variance over its windows (`σ²/n` for `n` windows of
    /// spread `σ`) plus a run-level term `σ_level²/runs`. A run's level may be off as a whole (another process on
    /// the machine, a colder cache), which no resampling of one run's windows can see; the term assumes a run
    /// can be off by as much as one window of the `level` metric (the metric itself, or p50 for p99 and p99.9),
    /// so more runs per side shrink it.
    static func sideVariance(_ draws: [Double], level: [Double], windows: Int, runs: Int) -> Double {
        let bootstrap = standardDeviation(draws)
        let levelSpread = standardDeviation(level)
        return bootstrap * bootstrap + levelSpread * levelSpread * Double(windows) / Double(max(1, runs))
    }

    /// A side's value in the scale the interval is built on (log for relative metrics); `nil` if undefined.
    static func scaled(_ metric: CompareMetric, _ value: Double?) -> Double? {
        guard let value else { return nil }
        if metric.changeIsAbsolute { return value }
        return value > 0 ? log(value) : nil
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
