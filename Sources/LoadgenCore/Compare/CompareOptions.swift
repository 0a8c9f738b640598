/// The knobs of `loadgen compare`'s statistics (see `Comparison`).
public struct CompareOptions: Sendable, Equatable {
    /// A relative change smaller than this (a fraction: 0.05 = 5%) is `~` however significant.
    public var tolerance: Double = 0.05
    /// The smallest rise of the error rate (a fraction: 0.001 = 0.1 percentage points) that can be `worse`;
    /// the error-rate tolerance is the larger of this and `tolerance` × the baseline's error rate.
    public var errorRateFloor: Double = 0.001
    /// Consecutive 1 s intervals are grouped until a window holds at least this many completed calls...
    public var minimumWindowCalls: Int64 = 100
    /// ...or spans at least this many seconds.
    public var maximumWindowSeconds: Double = 5
    /// Bootstrap resamples.
    public var resamples: Int = 2000
    /// Seed of the bootstrap's generator (fixed, so the output is deterministic).
    public var seed: UInt64 = 0x5EED_C0DE
    /// Each side needs at least this many runs for the Mann–Whitney test to decide significance.
    public var mannWhitneyMinimumRuns: Int = 4
    /// The family-wise significance level: the chance that any of the metrics compared together is called
    /// `better` or `worse` when nothing changed. Each of `m` metrics is judged at `alpha / m` (Bonferroni): its
    /// interval has level `1 − alpha / m`. The Mann–Whitney test uses `alpha` per metric, as benchstat does.
    public var alpha: Double = 0.05

    /// The default options.
    public init() {}
}
