import Synchronization

/// The moment a run was told to stop early (Ctrl-C), shared by every loop of the run. Set once from any
/// thread; the loops read it before starting a call, so no call due after the cut starts even before the
/// loop has handled the stop message.
final class EngineStop: Sendable {
    private let cut = Atomic<UInt64>(0)
    /// Set when the run is over: its loops may be gone, a late stop must not reach them.
    private let closed = Mutex(false)

    /// Records the cut at `now()` unless one is already set, then runs `notify` (to tell the loops), unless
    /// `close()` was called: then nothing happens.
    func request(now: () -> UInt64, notify: () -> Void) {
        closed.withLock { closed in
            guard !closed else { return }
            let value = max(1, now())
            guard cut.compareExchange(expected: 0, desired: value, ordering: .acquiringAndReleasing).exchanged else {
                return
            }
            notify()
        }
    }

    /// The run is over: later requests do nothing.
    func close() { closed.withLock { $0 = true } }

    /// Whether the run is over (its loops may be shut down: an `https` answer arriving now is dropped).
    var isClosed: Bool { closed.withLock { $0 } }

    /// The cut, or `nil` while the run has not been stopped.
    var at: UInt64? {
        let value = cut.load(ordering: .acquiring)
        return value == 0 ? nil : value
    }
}
