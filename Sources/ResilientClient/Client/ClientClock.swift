import Foundation

/// The time source of a ``ResilientClient``: a monotonic clock, the wall clock (for `Retry-After`
/// dates) and two kinds of sleep. Inject your own to test code that uses the client without waiting.
///
/// The client calls ``sleep(for:)`` for backoff delays and probe intervals, and ``sleep(until:)`` for
/// timers (per-attempt timeouts, call deadlines, gate waits) that race against other work. A real
/// clock implements both the same way; a test clock may advance virtual time at once in
/// `sleep(for:)` while keeping `sleep(until:)` pending until time is advanced, which makes every
/// schedule deterministic.
public protocol ClientClock: Sendable {
    /// Monotonic time since an arbitrary fixed origin.
    var now: Duration { get }
    /// Wall-clock seconds since 1970-01-01T00:00:00Z.
    var wallClockSecondsSince1970: Double { get }
    /// Suspends for `duration`; throws `CancellationError` at once if the task is cancelled.
    func sleep(for duration: Duration) async throws
    /// Suspends until ``now`` reaches `deadline`; throws `CancellationError` at once on cancellation.
    func sleep(until deadline: Duration) async throws
}

/// The real clock: `CLOCK_MONOTONIC` (on Linux; `ContinuousClock` elsewhere) for monotonic time, `Date` for
/// the wall clock, `Task.sleep` on the continuous clock for waiting (sleeps are relative, so the two agree).
public struct SystemClientClock: ClientClock {
    #if !canImport(Glibc)
    private static let origin = ContinuousClock.now
    #endif

    /// Creates the clock.
    public init() {}

    /// On Linux, `CLOCK_MONOTONIC` read directly (half the instructions of `ContinuousClock.now` and the
    /// subtraction of an origin; a call reads it twice); elsewhere, time since the first use of this type.
    public var now: Duration { Self.monotonicNow() }

    /// ``now`` without an instance (the client reads it this way, skipping the protocol's dispatch).
    static func monotonicNow() -> Duration {
        #if canImport(Glibc)
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Duration(
            secondsComponent: Int64(time.tv_sec), attosecondsComponent: Int64(time.tv_nsec) &* 1_000_000_000)
        #else
        return origin.duration(to: ContinuousClock.now)
        #endif
    }

    /// `Date().timeIntervalSince1970`.
    public var wallClockSecondsSince1970: Double { Date().timeIntervalSince1970 }

    /// `Task.sleep(for:)`.
    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else {
            try Task.checkCancellation()
            return
        }
        try await Task.sleep(for: duration, clock: .continuous)
    }

    /// Sleeps for the time left until `deadline`.
    public func sleep(until deadline: Duration) async throws {
        try await sleep(for: deadline - now)
    }
}
