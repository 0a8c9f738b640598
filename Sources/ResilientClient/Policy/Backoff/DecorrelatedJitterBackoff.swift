/// Brooker's "decorrelated jitter": each delay is uniform in `base ... previous × 3`, capped, starting from
/// `previous = base`. It depends on the previous delay rather than on the retry count.
public struct DecorrelatedJitterBackoff: BackoffStrategy, Hashable {
    /// The smallest delay, and the first `previous`.
    public let base: Duration
    /// The largest delay.
    public let cap: Duration
    private var previous: Duration?

    /// A decorrelated schedule (`cap` below `base` is raised to it).
    public init(base: Duration, cap: Duration) {
        self.base = max(.zero, base)
        self.cap = max(self.base, cap)
    }

    /// A draw in `base ... min(cap, previous × 3)`.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        let delay = Backoff.decorrelated(base: base, cap: cap, previous: previous, using: &rng)
        previous = delay
        return delay
    }
}
