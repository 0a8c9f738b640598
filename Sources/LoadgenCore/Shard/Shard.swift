/// One part of a run split over `count` machines: shard `index` sends the arrivals `i` with
/// `i mod count == index` of the single-machine schedule (open loops and ramps), or runs the virtual users
/// `u` with `u mod count == index` (closed loops). Together the shards `0..<count` send exactly the requests
/// of one unsharded run, because every request is generated from its arrival index.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// This shard's number, `0..<count`.
    public let index: Int
    /// How many shards the run is split into (at least 1).
    public let count: Int

    /// The largest number of shards a run may be split into.
    public static let maximumCount = 100_000

    /// The whole run: shard 0 of 1.
    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Shard `index` of `count`; throws when `count` is not in `1...maximumCount` or `index` not in `0..<count`.
    public init(index: Int, count: Int) throws(ShardError) {
        guard (1...Self.maximumCount).contains(count) else {
            throw ShardError("the shard count must be 1...\(Self.maximumCount), got \(count)")
        }
        guard (0..<count).contains(index) else {
            throw ShardError("the shard index must be 0...\(count - 1) for \(count) shards, got \(index)")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// Parses `K/N` (`2/4`: the third of four shards).
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ShardError("expected K/N like 0/4 (shard K of N, K from 0), got '\(text)'")
        }
        try self.init(index: index, count: count)
    }

    /// How many of the items `0..<total` belong to this shard (those with `item mod count == index`).
    public func share(of total: Int64) -> Int64 {
        total > Int64(index) ? (total - Int64(index) + Int64(count) - 1) / Int64(count) : 0
    }

    /// The whole run's item number of this shard's `local`-th item: `index + local·count`.
    public func item(_ local: Int64) -> Int64 { Int64(index) + local * Int64(count) }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }
}
