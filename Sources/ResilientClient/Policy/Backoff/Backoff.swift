/// How a backoff delay is randomised, after Marc Brooker's "Exponential Backoff and Jitter" (AWS
/// Architecture Blog, 2015). With `exp = min(cap, base × multiplier^(retry-1))`:
///
/// | mode | delay |
/// |---|---|
/// | `none` | `exp` |
/// | `full` | uniform in `0 ... exp` |
/// | `equal` | `exp/2` + uniform in `0 ... exp/2` |
/// | `decorrelated` | `min(cap, uniform in base ... previous × 3)`, `previous` starting at `base` |
///
/// `full` spreads clients best and is the default; `equal` never retries almost at once;
/// `decorrelated` depends on the previous delay rather than on the retry count.
public enum JitterMode: String, Sendable, Equatable, Hashable, CaseIterable, Codable {
    /// No randomness: every client retries at the same instants (only for tests and demonstrations).
    case none
    /// Uniform between zero and the exponential delay.
    case full
    /// Half the exponential delay plus a uniform share of the other half.
    case equal
    /// Uniform between `base` and three times the previous delay, capped.
    case decorrelated
}

/// A jittered exponential backoff schedule: a pure value, randomness injected.
///
/// Defaults: `base` 100 ms, `multiplier` 2, `cap` 5 s, `jitter` `.full`. Retry number 1 is the first
/// retry (the delay slept after the first attempt failed).
///
/// ```swift
/// let backoff = Backoff(base: .milliseconds(50), multiplier: 2, cap: .seconds(2), jitter: .equal)
/// var rng = SplitMix64(seed: 1)
/// var previous: Duration? = nil
/// for retry in 1...4 {
///     let delay = backoff.delay(forRetry: retry, previous: previous, using: &rng)
///     previous = delay
/// }
/// ```
public struct Backoff: Sendable, Equatable, Hashable {
    /// The delay before the first retry, before jitter. Default 100 ms.
    public var base: Duration
    /// The growth factor per retry (values below 1 are treated as 1). Default 2.
    public var multiplier: Double
    /// The largest delay ever returned. Default 5 s. (A server's `Retry-After` is honoured beyond it: see
    /// ``RetryPolicy/retryAfterCap``.)
    public var cap: Duration
    /// How the delay is randomised. Default `.full`.
    public var jitter: JitterMode

    /// Creates a schedule; negative durations are treated as zero and a cap below `base` is raised to it.
    public init(
        base: Duration = .milliseconds(100), multiplier: Double = 2, cap: Duration = .seconds(5),
        jitter: JitterMode = .full
    ) {
        self.base = max(base, .zero)
        self.multiplier = multiplier.isFinite ? max(multiplier, 1) : 1
        self.cap = max(cap, self.base)
        self.jitter = jitter
    }

    /// The un-jittered delay for retry `retry` (1-based): `min(cap, base × multiplier^(retry-1))`.
    public func exponentialDelay(forRetry retry: Int) -> Duration {
        min(cap, Self.exponential(base: base, multiplier: multiplier, retry: retry))
    }

    /// The delay to sleep before retry `retry` (1-based).
    ///
    /// - Parameters:
    ///   - retry: 1 for the first retry, 2 for the second, …
    ///   - previous: the delay returned for the previous retry (used by `.decorrelated` only; `nil` = `base`).
    ///   - rng: the random source; a seeded `SplitMix64` makes the schedule reproducible.
    /// - Returns: a delay in `0 ... cap`.
    public func delay(
        forRetry retry: Int, previous: Duration?, using rng: inout some RandomNumberGenerator
    ) -> Duration {
        switch jitter {
        case .none: return exponentialDelay(forRetry: retry)
        case .full: return Self.fullJitter(exponentialDelay(forRetry: retry), using: &rng)
        case .equal: return Self.equalJitter(exponentialDelay(forRetry: retry), using: &rng)
        case .decorrelated: return Self.decorrelated(base: base, cap: cap, previous: previous, using: &rng)
        }
    }

    /// This schedule as a composed ``BackoffStrategy``: exponential, then maximum, then the jitter (or
    /// ``DecorrelatedJitterBackoff``). It gives the same delays, drawn the same way, as ``delay(forRetry:previous:using:)``.
    public func strategy() -> AnyBackoffStrategy {
        let curve = ExponentialBackoff(initial: base, factor: multiplier).maximum(cap)
        switch jitter {
        case .none: return AnyBackoffStrategy(curve)
        case .full: return AnyBackoffStrategy(curve.fullJitter())
        case .equal: return AnyBackoffStrategy(curve.equalJitter())
        case .decorrelated: return AnyBackoffStrategy(DecorrelatedJitterBackoff(base: base, cap: cap))
        }
    }

    // The curves and jitters, shared by `delay(forRetry:previous:using:)` and the composed strategies.

    /// `base × multiplier^(retry-1)` for `retry ≥ 1` (below 1: `base`), saturating.
    static func exponential(base: Duration, multiplier: Double, retry: Int) -> Duration {
        let exponent = max(retry, 1) - 1
        var factor = 1.0
        for _ in 0..<min(exponent, 4096) {
            factor *= multiplier
            if factor > 1e30 { break }
        }
        return Duration.clampedNanoseconds(Double(base.clampedNanoseconds) * factor)
    }

    /// A uniform draw in `0 ... delay`.
    static func fullJitter(_ delay: Duration, using rng: inout some RandomNumberGenerator) -> Duration {
        Duration.clampedNanoseconds(Double(delay.clampedNanoseconds) * unitInterval(&rng))
    }

    /// `delay/2` plus a uniform draw in `0 ... delay/2`.
    static func equalJitter(_ delay: Duration, using rng: inout some RandomNumberGenerator) -> Duration {
        let half = Double(delay.clampedNanoseconds) / 2
        return Duration.clampedNanoseconds(half + half * unitInterval(&rng))
    }

    /// A uniform draw in `base ... max(base, previous × 3)`, cut to `cap` (`previous` `nil`: `base`).
    static func decorrelated(
        base: Duration, cap: Duration, previous: Duration?, using rng: inout some RandomNumberGenerator
    ) -> Duration {
        let low = Double(base.clampedNanoseconds)
        let high = max(low, Double((previous ?? base).clampedNanoseconds) * 3)
        return min(cap, Duration.clampedNanoseconds(low + (high - low) * unitInterval(&rng)))
    }
}
