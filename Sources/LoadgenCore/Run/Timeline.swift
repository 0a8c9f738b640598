/// A run second by second: per-interval counters and end-to-end latency histograms, for the time series in
/// `--json`, thresholds over windows (`p99[10s] < 100ms`), `loadgen compare` and HdrHistogram interval logs.
///
/// Each event is counted in the interval of the moment it happened, measured from `origin` (the start of the
/// measurement): a call is *offered* (and, if never sent, *not sent*) at its intended start; an attempt is
/// counted when it was sent, and as a 503 when its answer came; a call is *ok* or *failed*, and its latency
/// recorded, when it completed. Summed over all intervals the counters equal the run's totals exactly.
///
/// The interval being recorded keeps a dense histogram; older intervals are packed (`PackedHistogram`), so a
/// long run costs a few KB per interval, not the 190 KB of a dense latency histogram.
public struct Timeline: Sendable, Equatable {
    /// One interval's counts.
    public struct Interval: Sendable, Equatable {
        /// Calls whose intended start fell in this interval (sent or not).
        public var offered: Int64 = 0
        /// Attempts sent in this interval (first attempts and retries).
        public var attempts: Int64 = 0
        /// Of `attempts`, the retries.
        public var retries: Int64 = 0
        /// Calls that completed successfully in this interval.
        public var ok: Int64 = 0
        /// Calls that completed without success in this interval.
        public var failed: Int64 = 0
        /// Calls due in this interval that were never sent.
        public var notSent: Int64 = 0
        /// Attempts answered 503 in this interval.
        public var status503: Int64 = 0
        /// End-to-end latency (µs) of the calls that completed in this interval (`ok + failed` values).
        public var latency = PackedHistogram()
        /// End-to-end latency (µs) of the calls that completed successfully in this interval (`ok` values).
        public var latencyOk = PackedHistogram()

        /// Creates an empty interval.
        public init() {}

        /// Calls that completed in this interval.
        public var completed: Int64 { ok + failed }

        mutating func add(_ other: Interval) {
            offered += other.offered
            attempts += other.attempts
            retries += other.retries
            ok += other.ok
            failed += other.failed
            notSent += other.notSent
            status503 += other.status503
            latency.merge(other.latency)
            latencyOk.merge(other.latencyOk)
        }
    }

    /// Monotonic nanoseconds of the measurement's start; set by the engine, or by the first recorded call.
    public var origin: Int64?
    /// Length of an interval in nanoseconds.
    public let intervalNanoseconds: Int64
    /// Intervals that have packed latencies (see `sealed()` for all of them).
    private var packed: [Interval] = []
    /// The interval whose latencies are recorded in `open` (-1: none).
    private var openIndex = -1
    /// Dense latencies of interval `openIndex`, allocated at the first recorded latency.
    private var open: Histogram?
    /// Dense latencies of the successful calls of interval `openIndex`, allocated at the first one.
    private var openOk: Histogram?

    /// The layout of every interval's histogram (that of `RunResult.latency`).
    static let layout = Histogram.latency()

    /// At most this many intervals (12 days of 1 s); later events count in the last one.
    static let maxIntervals = 1 << 20

    /// An empty timeline of `interval`-long intervals starting at `origin`.
    public init(interval: DurationValue = .seconds(1), origin: Int64? = nil) {
        intervalNanoseconds = max(1, interval.nanoseconds)
        self.origin = origin
    }

    /// A timeline holding `intervals` (as read back from a result file), starting at `origin`.
    public init(intervals: [Interval], interval: DurationValue = .seconds(1), origin: Int64? = nil) {
        self.init(interval: interval, origin: origin)
        packed = Array(intervals.prefix(Self.maxIntervals))
    }

    /// The intervals, every latency packed.
    public var intervals: [Interval] { sealed().packed }

    /// Number of intervals so far.
    public var count: Int { packed.count }

    /// Records one call of the run (the same calls `RunResult.record(_:)` takes).
    public mutating func record(_ call: CallRecord) {
        if origin == nil { origin = call.intendedStart }
        let due = index(of: call.intendedStart)
        packed[due].offered += 1
        if call.notSentReason != nil || call.attempts.isEmpty {
            packed[due].notSent += 1
            return
        }
        for (number, attempt) in call.attempts.enumerated() {
            let sent = index(of: attempt.sent)
            packed[sent].attempts += 1
            if number > 0 { packed[sent].retries += 1 }
            if attempt.status == 503 { packed[index(of: attempt.ended)].status503 += 1 }
        }
        guard let last = call.attempts.last else { return }
        let ended = index(of: last.ended)
        if last.succeeded { packed[ended].ok += 1 } else { packed[ended].failed += 1 }
        recordLatency((last.ended - call.intendedStart) / 1000, ok: last.succeeded, in: ended)
    }

    /// Records `count` calls due at `intendedStart` that were never sent (as `record` does for each).
    public mutating func recordNotSent(_ count: Int64, intendedStart: Int64) {
        guard count > 0 else { return }
        if origin == nil { origin = intendedStart }
        let due = index(of: intendedStart)
        packed[due].offered += count
        packed[due].notSent += count
    }

    /// The interval holding monotonic time `time`, creating intervals up to it.
    private mutating func index(of time: Int64) -> Int {
        let offset = max(0, time - (origin ?? time))
        let index = Int(min(offset / intervalNanoseconds, Int64(Self.maxIntervals - 1)))
        if index >= packed.count {
            packed.append(contentsOf: repeatElement(Interval(), count: index + 1 - packed.count))
        }
        return index
    }

    private mutating func recordLatency(_ microseconds: Int64, ok: Bool, in index: Int) {
        if index != openIndex {
            if index < openIndex {
                // A call that completed in an interval already packed (rare: calls are recorded as they end).
                packed[index].latency.record(microseconds, layout: Self.layout)
                if ok { packed[index].latencyOk.record(microseconds, layout: Self.layout) }
                return
            }
            seal()
            openIndex = index
        }
        Histogram.recordLatency(microseconds, into: &open)
        if ok { Histogram.recordLatency(microseconds, into: &openOk) }
    }

    /// Packs the interval being recorded.
    private mutating func seal() {
        guard openIndex >= 0 else { return }
        if var histogram = open, histogram.totalCount > 0 {
            packed[openIndex].latency.merge(PackedHistogram(histogram))
            histogram.reset()
            open = histogram
        }
        if var histogram = openOk, histogram.totalCount > 0 {
            packed[openIndex].latencyOk.merge(PackedHistogram(histogram))
            histogram.reset()
            openOk = histogram
        }
    }

    /// A copy whose every interval is packed.
    public func sealed() -> Timeline {
        var copy = self
        copy.seal()
        return copy
    }

    /// Adds `other` interval by interval (timelines of one run share their origin; another origin is aligned to
    /// the nearest interval).
    public mutating func merge(_ other: Timeline) {
        let theirs = other.intervals
        guard !theirs.isEmpty else { return }
        seal()
        if origin == nil { origin = other.origin }
        let shift = Int(((other.origin ?? 0) - (origin ?? 0)) / intervalNanoseconds)
        for (offset, interval) in theirs.enumerated() {
            let target = min(max(0, offset + shift), Self.maxIntervals - 1)
            if target >= packed.count {
                packed.append(contentsOf: repeatElement(Interval(), count: target + 1 - packed.count))
            }
            packed[target].add(interval)
        }
    }

    /// The latencies of intervals `range` (clamped to the timeline) in one histogram.
    public func latency(in range: Range<Int>) -> Histogram {
        let all = intervals
        var merged = PackedHistogram()
        for index in range.clamped(to: 0..<all.count) { merged.merge(all[index].latency) }
        return merged.unpacked(like: Self.layout)
    }

    /// Equal when every interval's counts are (however much of each is still dense).
    public static func == (lhs: Timeline, rhs: Timeline) -> Bool {
        lhs.origin == rhs.origin && lhs.intervalNanoseconds == rhs.intervalNanoseconds && lhs.intervals == rhs.intervals
    }
}
