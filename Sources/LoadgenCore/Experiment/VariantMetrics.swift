/// The figures of one run of one variant, computed from its `RunResult` (pure: no clock, no IO), plus the
/// endpoint's count of wasted work read at the end.
///
/// - goodput counts successful calls that ended within the experiment's deadline from their intended start,
///   per second of the planned load or, without a trigger (a population that starts together, whose planned
///   load may last a millisecond), per second of the makespan;
/// - latency percentiles are of the successful calls, from the intended start (as loadgen's thresholds);
/// - the time to recover is from the trigger's end to the start of the first of `recoverySeconds`
///   consecutive one-second intervals whose goodput is at least `recoveryShare` of the calls offered in
///   that interval (`nil`: it never recovered before the load ended);
/// - the makespan is from the first intended start to the end of the last call (the run's window, drain
///   included).
public struct VariantMetrics: Sendable, Equatable {
    /// Consecutive seconds of goodput at the offered rate that count as recovered.
    public static let recoverySeconds = 3
    /// Share of the offered rate a second's goodput must reach.
    public static let recoveryShare = 0.95

    /// Calls scheduled.
    public var calls: Int64
    /// Attempts sent.
    public var attempts: Int64
    /// Attempts per sent call.
    public var amplification: Double
    /// Successful calls within the deadline per second of planned load (of the makespan without a trigger).
    public var goodputRPS: Double
    /// Seconds from the trigger's end to recovery (`nil`: never, or no trigger).
    public var recoveryS: Double?
    /// Latency of the successful calls from the intended start, in milliseconds (`nil`: none succeeded).
    public var p50ms: Double?
    /// See `p50ms`.
    public var p99ms: Double?
    /// See `p50ms`.
    public var p999ms: Double?
    /// First intended start to the last call's end, in seconds.
    public var makespanS: Double
    /// Attempts sent during the trigger (`nil`: no trigger).
    public var triggerAttempts: Int64?
    /// Seconds from the trigger's end to the first successful call (`nil`: none, or no trigger), to the second.
    public var firstSuccessS: Double?
    /// Calls the endpoint completed after their client had given up (`nil`: the endpoint did not say).
    public var wasted: Int64?
    /// Calls that succeeded (whatever their latency).
    public var ok: Int64
    /// Calls sent that did not succeed.
    public var failed: Int64
    /// Calls never sent.
    public var notSent: Int64
    /// The run second by second.
    public var perSecond: [Second]

    /// One second of the run.
    public struct Second: Sendable, Equatable {
        /// Calls due in this second.
        public var offered: Int64
        /// Attempts sent in this second.
        public var attempts: Int64
        /// Calls that succeeded within the deadline and ended in this second.
        public var goodput: Int64
    }

    /// Computes the figures of `result`.
    public init(result: RunResult, trigger: ExperimentTrigger?, deadline: DurationValue?, wasted: Int64?) {
        calls = result.calls
        attempts = result.attempts
        amplification = result.amplification
        ok = result.ok
        failed = result.failed
        notSent = result.notSentTotal
        self.wasted = wasted
        let limit = deadline?.microseconds
        func withinDeadline(_ histogram: Histogram) -> Int64 {
            guard let limit else { return histogram.totalCount }
            return histogram.nonZeroCounts().reduce(0) { $0 + ($1.value <= limit ? $1.count : 0) }
        }
        let seconds = Double(trigger == nil ? result.elapsedNanoseconds : result.rateNanoseconds) / 1e9
        goodputRPS = seconds > 0 ? Double(withinDeadline(result.latencyOk)) / seconds : 0
        if result.latencyOk.totalCount > 0 {
            p50ms = Double(result.latencyOk.value(atPercentile: 50)) / 1000
            p99ms = Double(result.latencyOk.value(atPercentile: 99)) / 1000
            p999ms = Double(result.latencyOk.value(atPercentile: 99.9)) / 1000
        }
        makespanS = result.elapsedSeconds
        let intervals = result.timeline.intervals
        let layout = Histogram.latency()
        perSecond = intervals.map { interval in
            Second(
                offered: interval.offered, attempts: interval.attempts,
                goodput: interval.latencyOk.isEmpty ? 0 : withinDeadline(interval.latencyOk.unpacked(like: layout)))
        }
        if let trigger {
            let loadSeconds = Int((Double(result.plannedNanoseconds) / 1e9).rounded(.down))
            recoveryS = Self.recovery(perSecond, triggerEnd: trigger.end.seconds, loadSeconds: loadSeconds)
            let first = Int(trigger.start.seconds.rounded(.down))
            let last = Int(trigger.end.seconds.rounded(.up))
            triggerAttempts = perSecond.enumerated().reduce(0) { sum, entry in
                sum + (entry.offset >= first && entry.offset < last ? entry.element.attempts : 0)
            }
            let from = Int(trigger.end.seconds.rounded(.up))
            if let second = perSecond.indices.first(where: { $0 >= from && perSecond[$0].goodput > 0 }) {
                firstSuccessS = Double(second) - trigger.end.seconds
            }
        }
    }

    /// Seconds from `triggerEnd` to the start of the first run of `recoverySeconds` whole seconds, all within
    /// the first `loadSeconds` (the planned load, not the drain), whose goodput reaches `recoveryShare` of
    /// the offered calls; `nil` when there is none. A second that starts before `triggerEnd` does not count.
    static func recovery(_ seconds: [Second], triggerEnd: Double, loadSeconds: Int) -> Double? {
        let first = Int(triggerEnd.rounded(.up))
        let end = min(seconds.count, loadSeconds)
        var start = first
        while start + recoverySeconds <= end {
            let window = seconds[start..<(start + recoverySeconds)]
            if let bad = window.lastIndex(where: { Double($0.goodput) < recoveryShare * Double($0.offered) }) {
                start = bad + 1
                continue
            }
            return Double(start) - triggerEnd
        }
        return nil
    }
}
