import Foundation

/// Client-side rate limiting that adapts to throttling, like the AWS SDKs' "adaptive" retry mode: a token bucket
/// in front of every send whose fill rate follows CUBIC (the TCP congestion-control curve) on the answers.
///
/// **How it behaves.** Until the first throttling answer (503 or 429 from an overloaded endpoint) the limiter
/// is off and every send goes at once. A throttling answer turns it on and cuts the allowed rate to `beta` (70%)
/// of the rate the client was actually sending; each later success lets the rate grow back along a cubic curve
/// that is flat around the rate where throttling began and steep far from it, so the client probes that rate
/// carefully and then climbs past it if the endpoint has room. The rate never exceeds twice what the client
/// measured itself sending, so a quiet spell does not build up a burst.
///
/// The facts (CUBIC's `beta` 0.7 and scale 0.4, a measured sending rate smoothed over half-second buckets with
/// weight 0.8, a floor of 0.5 sends/s) are those of the AWS SDKs' adaptive mode.
///
/// It is a pure value: time is passed in as `now`, a monotonic reading since any fixed origin, and nothing
/// sleeps. A driver asks `reserve(now:)` before each send, waits the delay it returns, then sends; it reports
/// each answer with `record(_:now:)` (or `record(throttled:now:)`).
///
/// ``ResilientClient`` (``ResilientClientConfiguration/adaptiveRateLimit``) and loadgen's engine
/// (`client.adaptiveRateLimit`) drive it the same way: one limiter per client (per event loop in loadgen),
/// a reservation before a call's first attempt and before each retry (hedges are not paced: the retry
/// budget bounds them), and every attempt's outcome recorded with `record(_:now:)`.
///
/// ```swift
/// var limiter = AdaptiveRateLimiter(now: .zero)
/// limiter.reserve(now: .zero)                           // .zero: off until throttled
/// limiter.record(throttled: true, now: .seconds(1))     // on: the rate drops to 70% of the measured rate
/// let wait = limiter.reserve(now: .seconds(1))          // may now be > 0: wait, then send
/// ```
public struct AdaptiveRateLimiter: Sendable, Equatable {
    /// The constants of the curve and the measurement.
    public struct Configuration: Sendable, Equatable, Hashable {
        /// The fraction of the sending rate kept after a throttling answer. Default 0.7.
        public var beta: Double
        /// CUBIC's scale constant `C` (how fast the rate grows away from the last maximum). Default 0.4.
        public var scale: Double
        /// The weight of the newest half-second bucket in the measured sending rate. Default 0.8.
        public var smoothing: Double
        /// The lowest fill rate, in sends per second. Default 0.5.
        public var minimumRate: Double

        /// Creates a configuration; values outside their sense are clamped (`beta` and `smoothing` to (0, 1],
        /// `scale` > 0, `minimumRate` ≥ 0.01).
        public init(beta: Double = 0.7, scale: Double = 0.4, smoothing: Double = 0.8, minimumRate: Double = 0.5) {
            self.beta = beta.isFinite ? min(1, max(0.01, beta)) : 0.7
            self.scale = scale.isFinite ? max(0.001, scale) : 0.4
            self.smoothing = smoothing.isFinite ? min(1, max(0.01, smoothing)) : 0.8
            self.minimumRate = minimumRate.isFinite ? max(0.01, minimumRate) : 0.5
        }
    }

    /// The constants in use.
    public let configuration: Configuration
    /// Whether a throttling answer has turned the bucket on.
    public private(set) var isEnabled = false
    /// The bucket's fill rate, in sends per second (meaningful once enabled).
    public private(set) var fillRate: Double
    /// The client's own measured sending rate, in sends per second.
    public private(set) var measuredRate = 0.0

    private var capacity: Double
    /// Tokens in the bucket; negative while sends already reserved wait for tokens that have not arrived.
    private var tokens = 0.0
    private var lastRefill: Double?
    private var lastMaxRate = 0.0
    private var lastThrottle: Double
    private var bucketStart: Double
    private var sendsInBucket = 0.0

    /// A limiter that is off until the first throttling answer; `now` starts the curve's clock.
    public init(_ configuration: Configuration = Configuration(), now: Duration) {
        self.configuration = configuration
        let seconds = Self.seconds(now)
        fillRate = configuration.minimumRate
        capacity = 1
        lastThrottle = seconds
        bucketStart = Self.halfSecondBucket(seconds)
    }

    /// Takes a token for one send and returns how long the send must wait for it (`.zero`: send now). The
    /// token is taken even when the send must wait, so sends reserved together queue one behind the other.
    public mutating func reserve(now: Duration) -> Duration {
        guard isEnabled else { return .zero }
        let seconds = Self.seconds(now)
        refill(seconds)
        tokens -= 1
        guard tokens < 0 else { return .zero }
        return .clampedNanoseconds(-tokens / fillRate * 1e9)
    }

    /// Records an answer: `throttled` when the endpoint said it is overloaded (503, 429), otherwise any answer
    /// that was not a throttle (successes and other errors alike; a transport failure need not be recorded).
    public mutating func record(throttled: Bool, now: Duration) {
        let seconds = Self.seconds(now)
        measure(seconds)
        let calculated: Double
        if throttled {
            let rate = isEnabled ? min(measuredRate, fillRate) : measuredRate
            lastMaxRate = rate
            lastThrottle = seconds
            calculated = rate * configuration.beta
            if !isEnabled {
                // The bucket starts empty at the first throttle: no burst into an endpoint that just said stop.
                isEnabled = true
                tokens = 0
                lastRefill = seconds
            }
        } else {
            // K: the time the cubic takes to climb from beta × lastMaxRate back to lastMaxRate.
            let window = cbrt(lastMaxRate * (1 - configuration.beta) / configuration.scale)
            let elapsed = seconds - lastThrottle - window
            calculated = configuration.scale * elapsed * elapsed * elapsed + lastMaxRate
        }
        setRate(min(calculated, 2 * measuredRate), now: seconds)
    }

    /// Records an attempt's outcome, the one rule both drivers (``ResilientClient`` and loadgen's engine)
    /// follow: a 503 or a 429 is a throttle, any other status is not, and a transport failure (no answer, or
    /// an attempt cancelled here) is not recorded at all: it says nothing about the endpoint's rate.
    public mutating func record(_ outcome: AttemptOutcome, now: Duration) {
        guard let throttled = Self.isThrottle(outcome) else { return }
        record(throttled: throttled, now: now)
    }

    /// Whether `outcome` is a throttling answer (503, 429), not one (any other status), or nothing to
    /// record (`nil`: a transport failure).
    public static func isThrottle(_ outcome: AttemptOutcome) -> Bool? {
        switch outcome {
        case .status(let status): return status == 503 || status == 429
        case .transport: return nil
        }
    }

    /// Updates the measured sending rate: sends are counted in half-second buckets, and each finished bucket's
    /// rate is blended into the estimate with weight `smoothing`.
    private mutating func measure(_ seconds: Double) {
        sendsInBucket += 1
        let bucket = Self.halfSecondBucket(seconds)
        guard bucket > bucketStart else { return }
        let current = sendsInBucket / (bucket - bucketStart)
        measuredRate = current * configuration.smoothing + measuredRate * (1 - configuration.smoothing)
        sendsInBucket = 0
        bucketStart = bucket
    }

    private mutating func setRate(_ rate: Double, now seconds: Double) {
        refill(seconds)
        fillRate = max(rate, configuration.minimumRate)
        capacity = max(rate, 1)
        tokens = min(tokens, capacity)
    }

    private mutating func refill(_ seconds: Double) {
        guard isEnabled else { return }
        if let lastRefill, seconds > lastRefill {
            tokens = min(capacity, tokens + (seconds - lastRefill) * fillRate)
        }
        lastRefill = max(lastRefill ?? seconds, seconds)
    }

    private static func halfSecondBucket(_ seconds: Double) -> Double {
        (seconds * 2).rounded(.down) / 2
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.clampedNanoseconds) * 1e-9
    }
}
