/// What a loop reports about itself for the progress line.
struct LoopProgress: Sendable {
    /// Attempts that ended (warmup included).
    var attempts: Int64 = 0
    /// Calls that came due (warmup included).
    var offered: Int64 = 0
    /// Measured calls that succeeded.
    var ok: Int64 = 0
    /// Measured calls that failed.
    var failed: Int64 = 0
    /// Measured attempts answered 503.
    var status503: Int64 = 0
    /// Calls queued, in flight or in backoff.
    var live = 0
    /// End-to-end latency of the measured calls so far.
    var latency: Histogram?
}
