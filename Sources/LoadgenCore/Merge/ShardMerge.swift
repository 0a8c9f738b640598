/// The merge of a sharded run's shard results (`loadgen merge`): checks that they belong to one run and
/// cover it, then adds them with `RunResult.merge(_:)` (counters sum, histograms add bucket by bucket, rates
/// are over the planned window).
public struct ShardMerge: Sendable {
    /// The shards merged, by index.
    public let shards: [ShardResult]
    /// How many shards the run has.
    public let count: Int
    /// The shard indices that were not given (empty unless merged with `allowPartial`).
    public let missing: [Int]
    /// The merged result.
    public let result: RunResult
    /// The run's thresholds (those of the shards), to judge on `result`.
    public let thresholds: [Threshold]

    /// Checks and merges `shards`. Throws when there are none, when they differ in fingerprint, shard count or
    /// start time, when an index is given twice, or (unless `allowPartial`) when one is missing.
    public init(_ shards: [ShardResult], allowPartial: Bool) throws(MergeError) {
        guard let first = shards.first else { throw MergeError("no shard results given") }
        for other in shards.dropFirst() {
            if other.fingerprint != first.fingerprint {
                throw MergeError(
                    "\(other.file) is from another run than \(first.file): scenario fingerprint \(other.fingerprint) "
                        + "vs \(first.fingerprint) (every shard needs the same scenario file, overrides and seed)")
            }
            if other.shard.count != first.shard.count {
                throw MergeError(
                    "\(other.file) is shard \(other.shard) but \(first.file) is shard \(first.shard): the shard counts differ")
            }
            if other.startAt != first.startAt {
                throw MergeError(
                    "\(other.file) started at \(other.startAt) but \(first.file) at \(first.startAt): one run has one "
                        + "--start-at")
            }
        }
        var byIndex: [Int: ShardResult] = [:]
        for shard in shards {
            if let earlier = byIndex[shard.shard.index] {
                throw MergeError("shard \(shard.shard) is given twice: \(earlier.file) and \(shard.file)")
            }
            byIndex[shard.shard.index] = shard
        }
        let count = first.shard.count
        let missing = (0..<count).filter { byIndex[$0] == nil }
        if !missing.isEmpty, !allowPartial {
            throw MergeError(
                "\(Self.describe(missing, of: count)) missing (given: \(shards.count) of \(count)); "
                    + "merge what is there with --allow-partial")
        }
        self.shards = byIndex.keys.sorted().compactMap { byIndex[$0] }
        self.count = count
        self.missing = missing
        var merged = RunResult()
        for shard in self.shards { merged.merge(shard.result) }
        merged.scenarioName = first.result.scenarioName
        merged.loadDescription = first.result.loadDescription
        merged.target = first.result.target
        merged.startTime = first.startAt.seconds
        result = merged
        thresholds = first.thresholds
    }

    /// `shard 2/4` or `shards 1/4, 3/4`.
    static func describe(_ indices: [Int], of count: Int) -> String {
        let names = indices.map { "\($0)/\(count)" }
        return (names.count == 1 ? "shard " : "shards ") + names.joined(separator: ", ")
    }
}
