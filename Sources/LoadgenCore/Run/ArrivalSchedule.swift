/// When each call of an open-loop run is due: a pure function of the arrival index.
///
/// The rate `r(t)` is piecewise linear (constant-rate: one flat segment; ramping-rate: one segment per stage,
/// from the previous stage's target to this stage's target). With `Λ(t) = ∫₀ᵗ r` the expected number of
/// arrivals by time `t`, arrival `i` (0-based) is due at the earliest `t` with `Λ(t) = i`, solved exactly
/// per segment (the quadratic in a linear ramp). The run has `count` arrivals: every `i` with due time
/// before the end, i.e. `ceil(Λ(T))`. Constant rate `r`: arrival `i` is due at `i / r` seconds.
///
/// A schedule may send only part of the run (`sharded(_:)`, `skippingFirst(_:)`): its `n`-th arrival is then
/// arrival `arrivalIndex(of: n)` of the whole run, due when that arrival is due in the whole run, so the
/// shards of a run together send every arrival once, each at its single-machine time.
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
    /// Number of arrivals this schedule sends (the whole run's `totalCount` unless sharded or skipping).
    public private(set) var count: Int64
    /// Number of arrivals in the whole run (every shard).
    public let totalCount: Int64
    /// Which part of the run this schedule sends (`Shard.whole` by default).
    public private(set) var shard = Shard.whole
    /// How many of the shard's first arrivals this schedule does not send (see `skippingFirst(_:)`).
    public private(set) var skipped: Int64 = 0
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
        self.totalCount = cumulative <= 1e-9 ? 0 : Int64(min((cumulative - 1e-6).rounded(.up), 9e18))
        self.count = totalCount
    }

    /// The part of this (whole-run) schedule that `shard` sends: the arrivals `i` with
    /// `i mod shard.count == shard.index`, each at its time in the whole run.
    public func sharded(_ shard: Shard) -> ArrivalSchedule {
        var copy = self
        copy.shard = shard
        copy.skipped = 0
        copy.count = shard.share(of: totalCount)
        return copy
    }

    /// This schedule without its first `arrivals` (a shard that started late: they are not sent at all, and
    /// the rest keep their times); `skippedArrivals` lists them.
    public func skippingFirst(_ arrivals: Int64) -> ArrivalSchedule {
        var copy = self
        let skip = min(max(0, arrivals), count)
        copy.skipped += skip
        copy.count -= skip
        return copy
    }

    /// The arrivals this schedule skips (`skippingFirst(_:)`), in order: the whole run's arrival index and
    /// the time it is due.
    public var skippedArrivals: [(index: Int64, time: Int64)] {
        (0..<skipped).map { (shard.item($0), dueTime(ofArrival: shard.item($0))) }
    }

    /// Arrivals this schedule sends plus those it skips: the shard's share of the run.
    public var plannedCount: Int64 { skipped + count }

    /// The whole run's index of this schedule's `n`-th arrival (`n` itself for an unsharded schedule).
    public func arrivalIndex(of n: Int64) -> Int64 { shard.item(skipped + n) }

    /// How many of this schedule's arrivals are due before `time` nanoseconds from the start.
    public func arrivals(before time: Int64) -> Int64 {
        var low: Int64 = 0
        var high = count
        while low < high {
            let middle = low + (high - low) / 2
            if intendedTime(of: middle) < time { low = middle + 1 } else { high = middle }
        }
        return low
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

    /// When this schedule's `n`-th arrival is due, in nanoseconds from the start (`n` in `0..<count`; larger
    /// values get the end time); it is the whole run's arrival `arrivalIndex(of: n)`.
    public func intendedTime(of n: Int64) -> Int64 {
        n >= count ? length : dueTime(ofArrival: arrivalIndex(of: n))
    }

    /// When the whole run's arrival `index` is due.
    private func dueTime(ofArrival index: Int64) -> Int64 {
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
/// service time coincide except for client-side queueing. Call `iteration` of user `u` has arrival index
/// `iteration * totalUsers + u`, which fixes its generated request. A sharded model (`sharded(_:)`) runs the
/// users `u` with `u mod shard.count == shard.index`; its local user `n` is the run's user `shard.item(n)`.
public struct ClosedLoopModel: Sendable, Equatable {
    /// Concurrent virtual users of this model (this shard's share when sharded).
    public var users: Int
    /// Virtual users of the whole run (every shard).
    public private(set) var totalUsers: Int
    /// Which part of the run's users this model runs (`Shard.whole` by default).
    public private(set) var shard = Shard.whole
    /// Time during which users start calls.
    public var duration: DurationValue
    /// Pause between a call's end and the user's next call.
    public var thinkTime: DurationValue

    /// Creates a model.
    public init(users: Int, duration: DurationValue, thinkTime: DurationValue) {
        self.users = users
        self.totalUsers = users
        self.duration = duration
        self.thinkTime = thinkTime
    }

    /// The users of this (whole-run) model that `shard` runs.
    public func sharded(_ shard: Shard) -> ClosedLoopModel {
        var copy = self
        copy.shard = shard
        copy.users = Int(shard.share(of: Int64(totalUsers)))
        return copy
    }

    /// The arrival index of a call of this model's user `user` (`0..<users`), for
    /// `RequestGenerator.request(at:)`.
    public func arrivalIndex(user: Int, iteration: Int64) -> Int64 {
        iteration * Int64(totalUsers) + shard.item(Int64(user))
    }
}
