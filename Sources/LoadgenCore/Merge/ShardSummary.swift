import EndpointSpec

/// What `loadgen merge` keeps of a shard once it is added to the merge: its identity and the figures of its
/// summary line, not its histograms (so merging a thousand shards holds one shard at a time).
public struct ShardSummary: Sendable {
    /// The file it was read from.
    public var file: String
    /// Which shard it is.
    public var shard: Shard
    /// The run's common start.
    public var startAt: StartTime
    /// The scenario fingerprint.
    public var fingerprint: String
    /// How long after the start the shard was ready (0 when on time).
    public var lateBySeconds: Double
    /// Whether the shard's run was interrupted.
    public var interrupted: Bool
    /// Calls the shard planned.
    public var calls: Int64
    /// Arrivals it missed by starting late.
    public var lateStarts: Int64
    /// Its own end-to-end latency percentiles, as the run JSON's `latency_ms` writes them.
    public var latency: JSONValue
    /// Its own p99 in milliseconds, `nil` without calls.
    public var p99Milliseconds: Double?

    /// The summary of `shard`.
    public init(_ shard: ShardResult) {
        file = shard.file
        self.shard = shard.shard
        startAt = shard.startAt
        fingerprint = shard.fingerprint
        lateBySeconds = shard.lateBySeconds
        interrupted = shard.interrupted
        calls = shard.result.calls
        lateStarts = shard.result.notSent[.lateStart] ?? 0
        latency = Report.latencyJSON(shard.result.latency)
        let histogram = shard.result.latency
        p99Milliseconds = histogram.totalCount > 0 ? Double(histogram.value(atPercentile: 99)) / 1000 : nil
    }
}
