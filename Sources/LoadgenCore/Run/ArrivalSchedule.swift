/// When each call of an open-loop run is due: a pure function of the arrival index.
///
/// The rate `r(t)` is piecewise linear (constant-rate: one flat segment; ramping-rate: one segment per stage,
/// from the previous stage's target to this stage's target). With `Λ(t) = ∫₀ᵗ r` the expected number of
/// arrivals by time `t`, arrival `i` (0-based) is due at the earliest `t` with `Λ(t) = i`, solved exactly
/// per segment (the quadratic in a linear ramp). The run has `count` arrivals: every `i` with due time
/// before the end, i.e. `ceil(Λ(T))`. Constant rate `r`: arrival `i` is due at `i / r` seconds.
public struct ArrivalSchedule: Sendable, Equatable {
    /// One linear piece of the rate.
    public struct Segment: Sendable, Equatable {
        /// Start, in nanoseconds from the run's start.
        public var start: Int64
        /// Length in nanoseconds (> 0).
        public var length: Int64
        /// Rate at the start, per second.
        public var startRate: Double
        /// Rate at the end, per second.
        public var endRate: Double
        /// Expected arrivals before the segment, `Λ(start)`.
        public var arrivalsBefore: Double

        /// Expected arrivals within the segment.
        public var arrivals: Double { (startRate + endRate) / 2 * Double(length) / 1e9 }
    }

    /// The rate's pieces, in time order.
    public let segments: [Segment]
    /// Number of arrivals in the run.
    public let count: Int64
    /// Total length in nanoseconds.
    public let length: Int64

    /// A piecewise-linear schedule starting at `startRate` and moving linearly to each stage's target.
    public init(startRate: Double, stages: [RampStage]) {
        var segments: [Segment] = []
        var time: Int64 = 0
        var rate = startRate
        var cumulative = 0.0
        for stage in stages where stage.duration.nanoseconds > 0 {
            let segment = Segment(
                start: time, length: stage.duration.nanoseconds, startRate: rate, endRate: stage.target,
                arrivalsBefore: cumulative)
            segments.append(segment)
            cumulative += segment.arrivals
            time += stage.duration.nanoseconds
            rate = stage.target
        }
        self.segments = segments
        self.length = time
        // Arrival i exists when Λ(i's time) = i < Λ(T); tolerate rounding so 200/s for 10s is 2000, not 2001.
        // Scenarios bound rates (RateValue.maximum) and durations; the clamp keeps a hand-built schedule from trapping.
        self.count = cumulative <= 1e-9 ? 0 : Int64(min((cumulative - 1e-6).rounded(.up), 9e18))
    }

    /// A constant rate for `duration`.
    public static func constant(rate: Double, duration: DurationValue) -> ArrivalSchedule {
        ArrivalSchedule(startRate: rate, stages: [RampStage(target: rate, duration: duration)])
    }

    /// The schedule of an open-loop load, or `nil` for a closed loop.
    public init?(load: LoadSpec) {
        switch load {
        case .constantRate(let rate, let duration):
            self = .constant(rate: rate, duration: duration)
        case .rampingRate(let start, let stages):
            self.init(startRate: start, stages: stages)
        case .closed:
            return nil
        }
    }

    /// `Λ(t)`: expected arrivals in `[0, t)` nanoseconds.
    public func expectedArrivals(at time: Int64) -> Double {
        guard let last = segments.last else { return 0 }
        if time >= last.start + last.length { return last.arrivalsBefore + last.arrivals }
        guard let segment = segments.last(where: { $0.start <= time }) else { return 0 }
        let t = Double(time - segment.start) / 1e9
        let slope = (segment.endRate - segment.startRate) / (Double(segment.length) / 1e9)
        return segment.arrivalsBefore + segment.startRate * t + slope * t * t / 2
    }

    /// The rate at `time` nanoseconds (0 outside the run).
    public func rate(at time: Int64) -> Double {
        guard let segment = segments.last(where: { $0.start <= time }), time < segment.start + segment.length else {
            return 0
        }
        let fraction = Double(time - segment.start) / Double(segment.length)
        return segment.startRate + (segment.endRate - segment.startRate) * fraction
    }

    /// When arrival `index` is due, in nanoseconds from the start (`index` in `0..<count`; larger indices get
    /// the end time).
    public func intendedTime(of index: Int64) -> Int64 {
        let target = Double(index)
        // The first segment whose arrivals extend past `target`.
        var low = 0
        var high = segments.count
        while low < high {
            let middle = (low + high) / 2
            let segment = segments[middle]
            if segment.arrivalsBefore + segment.arrivals > target { high = middle } else { low = middle + 1 }
        }
        guard low < segments.count else { return length }
        let segment = segments[low]
        let delta = max(0, target - segment.arrivalsBefore)
        if delta == 0 { return segment.start }
        let seconds = Double(segment.length) / 1e9
        let a = segment.startRate
        let k = (segment.endRate - segment.startRate) / seconds / 2  // Λ = a t + k t²
        let t: Double
        if abs(k) < 1e-12 {
            t = delta / a
        } else {
            // Root of k t² + a t - delta = 0 in the numerically stable form 2Δ / (a + √(a² + 4kΔ)).
            let discriminant = max(0, a * a + 4 * k * delta)
            t = 2 * delta / (a + discriminant.squareRoot())
        }
        let offset = min(Int64((t * 1e9).rounded()), segment.length)
        return segment.start + offset
    }
}

/// The closed-loop model: `users` virtual users, each issuing a call, waiting for its end (retries included),
/// pausing `thinkTime`, and repeating; no user starts a call at or after `duration`, and calls in flight then
/// finish (within the drain timeout). A call's intended start is when its user issued it, so latency and
/// service time coincide except for client-side queueing. Call `iteration` of user `user` has arrival index
/// `iteration * users + user`, which fixes its generated request.
public struct ClosedLoopModel: Sendable, Equatable {
    /// Concurrent virtual users.
    public var users: Int
    /// Time during which users start calls.
    public var duration: DurationValue
    /// Pause between a call's end and the user's next call.
    public var thinkTime: DurationValue

    /// Creates a model.
    public init(users: Int, duration: DurationValue, thinkTime: DurationValue) {
        self.users = users
        self.duration = duration
        self.thinkTime = thinkTime
    }

    /// The arrival index of a user's call, for `RequestGenerator.request(at:)`.
    public func arrivalIndex(user: Int, iteration: Int64) -> Int64 { iteration * Int64(users) + Int64(user) }
}
