/// One row of `loadgen compare`: a metric's value on each side, the change, its confidence interval and the
/// verdict.
public struct MetricComparison: Sendable, Equatable {
    /// The metric.
    public var metric: CompareMetric
    /// The baseline's value (ms for latencies, calls/s for rates, a fraction for the error rate); `nil`
    /// without data.
    public var base: Double?
    /// The new side's value, in the same unit.
    public var new: Double?
    /// The change: percent of the baseline, or percentage points for the error rate; `nil` when undefined
    /// (no data, or a baseline of 0).
    public var change: Double?
    /// The lower end of the confidence interval of `change` (same unit); `nil` when unbounded or unknown.
    public var ciLow: Double?
    /// The upper end of the confidence interval of `change`; `nil` when unbounded or unknown.
    public var ciHigh: Double?
    /// The two-sided p-value of the Mann–Whitney U test across runs, when it decided significance.
    public var pValue: Double?
    /// The verdict.
    public var verdict: CompareVerdict
    /// Why the verdict could not be `better` or `worse` for want of data (`nil` normally).
    public var note: String?

    /// Creates a row.
    public init(
        metric: CompareMetric, base: Double?, new: Double?, change: Double?, ciLow: Double?, ciHigh: Double?,
        pValue: Double? = nil, verdict: CompareVerdict, note: String? = nil
    ) {
        self.metric = metric
        self.base = base
        self.new = new
        self.change = change
        self.ciLow = ciLow
        self.ciHigh = ciHigh
        self.pValue = pValue
        self.verdict = verdict
        self.note = note
    }
}
