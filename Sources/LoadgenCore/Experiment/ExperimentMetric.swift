/// A figure of a variant that an expectation can compare, named as in `--json`.
public enum ExperimentMetric: String, Sendable, CaseIterable {
    /// Attempts per sent call.
    case amplification
    /// Calls per second that succeeded within the deadline.
    case goodputRPS = "goodput_rps"
    /// Seconds from the trigger's end to recovery; never recovered compares as infinitely late.
    case recoveryS = "recovery_s"
    /// Median latency of the successful calls from the intended start, in milliseconds.
    case p50 = "p50_ms"
    /// 99th percentile, in milliseconds.
    case p99 = "p99_ms"
    /// 99.9th percentile, in milliseconds.
    case p999 = "p999_ms"
    /// Attempts sent.
    case attempts
    /// Calls scheduled.
    case calls
    /// Calls the endpoint completed after their client had given up.
    case wasted
    /// Seconds from the first call's intended start to the last call's end.
    case makespanS = "makespan_s"
    /// Attempts sent during the trigger.
    case triggerAttempts = "trigger_attempts"
    /// Seconds from the trigger's end to the first successful call; never compares as infinitely late.
    case firstSuccessS = "first_success_s"

    /// Whether a missing value means "never" (compares as +∞) rather than "no data".
    var missingMeansNever: Bool { self == .recoveryS || self == .firstSuccessS }
}
