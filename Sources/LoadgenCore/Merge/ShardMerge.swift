/// The merge of a sharded run's shard results (`loadgen merge`): checks that they belong to one run and
/// cover it, then adds them with `RunResult.merge(_:)` (counters sum, histograms add bucket by bucket, rates
/// are over the planned window).
///
/// Shards are added one at a time and only a ``ShardSummary`` of each is kept, so memory stays near one
/// shard's worth plus the merged result however many shards there are; the merge does not depend on their
/// order.
public struct ShardMerge: Sendable {
    /// The shards merged, by index (after ``finish(allowPartial:)``; in the order added before).
    public private(set) var shards: [ShardSummary] = []
    /// How many shards the run has.
    public private(set) var count = 0
    /// The shard indices that were not given (empty unless finished with `allowPartial`).
    public private(set) var missing: [Int] = []
    /// The merged result.
    public private(set) var result = RunResult()
    /// The run's thresholds (those of the shards), to judge on `result`.
    public private(set) var thresholds: [Threshold] = []
    private var given: Set<Int> = []

    /// An empty merge.
    public init() {}

    /// Checks and merges `shards` (see ``add(_:)`` and ``finish(allowPartial:)``).
    public init(_ shards: [ShardResult], allowPartial: Bool) throws(MergeError) {
        for shard in shards { try add(shard) }
        try finish(allowPartial: allowPartial)
    }

    /// Adds one shard. Throws when it differs from the first in fingerprint, shard count or start time, or when
    /// its index was already given.
    public mutating func add(_ shard: ShardResult) throws(MergeError) {
        if let first = shards.first {
            if shard.fingerprint != first.fingerprint {
                throw MergeError(
                    "\(shard.file) is from another run than \(first.file): scenario fingerprint \(shard.fingerprint) "
                        + "vs \(first.fingerprint) (every shard needs the same scenario file, overrides and seed)")
            }
            if shard.shard.count != first.shard.count {
                throw MergeError(
                    "\(shard.file) is shard \(shard.shard) but \(first.file) is shard \(first.shard): the shard counts differ")
            }
            if shard.startAt != first.startAt {
                throw MergeError(
                    "\(shard.file) started at \(shard.startAt) but \(first.file) at \(first.startAt): one run has one "
                        + "--start-at")
            }
            if given.contains(shard.shard.index) {
                let earlier = shards.first { $0.shard.index == shard.shard.index }?.file ?? "?"
                throw MergeError("shard \(shard.shard) is given twice: \(earlier) and \(shard.file)")
            }
        } else {
            count = shard.shard.count
            thresholds = shard.thresholds
            result.scenarioName = shard.result.scenarioName
            result.loadDescription = shard.result.loadDescription
            result.target = shard.result.target
        }
        given.insert(shard.shard.index)
        result.merge(shard.result)
        shards.append(ShardSummary(shard))
    }

    /// Ends the merge: throws when nothing was added or (unless `allowPartial`) when a shard is missing; sorts
    /// the shards by index.
    public mutating func finish(allowPartial: Bool) throws(MergeError) {
        guard let first = shards.first else { throw MergeError("no shard results given") }
        missing = (0..<count).filter { !given.contains($0) }
        if !missing.isEmpty, !allowPartial {
            throw MergeError(
                "\(Self.describe(missing, of: count)) missing (given: \(shards.count) of \(count)); "
                    + "merge what is there with --allow-partial")
        }
        result.startTime = first.startAt.seconds
        shards.sort { $0.shard.index < $1.shard.index }
    }

    /// `shard 2/4` or `shards 1/4, 3/4`.
    static func describe(_ indices: [Int], of count: Int) -> String {
        let names = indices.map { "\($0)/\(count)" }
        return (names.count == 1 ? "shard " : "shards ") + names.joined(separator: ", ")
    }
}
