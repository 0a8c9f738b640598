/// A variant's runs (one, or `--repeat N`) summed up: the mean of each figure and the half-width of its 95%
/// confidence interval (Student's t over the runs; `nil` with one run).
///
/// A time to recover (or to first success) is the mean over the runs only when every run recovered;
/// otherwise it is `nil` ("never"), and `recovered` says how many did. Wasted work is `nil` when any run's
/// endpoint did not report it.
public struct VariantSummary: Sendable, Equatable {
    /// The variant's name.
    public var name: String
    /// The runs, in order.
    public var runs: [VariantMetrics]

    /// Creates a summary.
    public init(name: String, runs: [VariantMetrics]) {
        self.name = name
        self.runs = runs
    }

    /// Runs that recovered (had a time to recover).
    public var recovered: Int { runs.filter { $0.recoveryS != nil }.count }

    /// The values of `metric` over the runs (`nil` entries where a run lacks it).
    func values(_ metric: ExperimentMetric) -> [Double?] {
        runs.map { run in
            switch metric {
            case .amplification: return run.amplification
            case .goodputRPS: return run.goodputRPS
            case .recoveryS: return run.recoveryS
            case .p50: return run.p50ms
            case .p99: return run.p99ms
            case .p999: return run.p999ms
            case .attempts: return Double(run.attempts)
            case .calls: return Double(run.calls)
            case .wasted: return run.wasted.map(Double.init)
            case .makespanS: return run.makespanS
            case .triggerAttempts: return run.triggerAttempts.map(Double.init)
            case .firstSuccessS: return run.firstSuccessS
            }
        }
    }

    /// The mean of `metric` over the runs; `nil` when any run lacks it (or there are no runs).
    public func mean(_ metric: ExperimentMetric) -> Double? {
        let all = values(metric)
        let present = all.compactMap { $0 }
        guard !present.isEmpty, present.count == all.count else { return nil }
        return present.reduce(0, +) / Double(present.count)
    }

    /// The half-width of the 95% confidence interval of `metric`'s mean; `nil` with fewer than two runs or
    /// when the mean is `nil`.
    public func interval(_ metric: ExperimentMetric) -> Double? {
        guard let mean = mean(metric), runs.count >= 2, let t = StudentT.quantile(0.975, degrees: runs.count - 1) else {
            return nil
        }
        let values = self.values(metric).compactMap { $0 }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return t * (variance / Double(values.count)).squareRoot()
    }
}
