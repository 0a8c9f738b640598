import Synchronization

/// The open connections of one server across its loops, against a limit (`HTTPServer`'s `maxConnections`).
final class ConnectionCount: Sendable {
    /// The most connections open at once.
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Counts one more connection if the limit allows it; false when `limit` are already open.
    func tryOpen() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// One counted connection closed.
    func closed() { open.subtract(1, ordering: .acquiringAndReleasing) }

    /// Connections open now.
    var current: Int { open.load(ordering: .acquiring) }
}
