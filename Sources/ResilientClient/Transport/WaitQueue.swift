// Used by `HostPool` alone (and built on NetIO's `FIFOQueue`): Linux only, as `LoopTransport` is.
#if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
import NetIO

/// The requests waiting for a connection to one host: first in, first out, each with the timer that bounds
/// its wait. A plain value (its driver, `HostPool`, arms and cancels the timers): a request taken from the
/// queue, cancelled or shut down hands back its timer so the driver cancels it, and a timer that fires finds
/// its request by id without a scan.
///
/// Removal from the middle (a timeout, a cancellation) is O(1): the id leaves the table at once and its
/// place in the order is skipped when it reaches the front.
struct WaitQueue<Job, Timer> {
    private var jobs: [UInt64: (job: Job, timer: Timer?)] = [:]
    private var order = FIFOQueue<UInt64>()

    /// Requests waiting.
    var count: Int { jobs.count }

    /// Whether no request waits.
    var isEmpty: Bool { jobs.isEmpty }

    /// Appends a request with the timer armed for its wait (`nil`: no timeout).
    mutating func append(_ job: Job, id: UInt64, timer: Timer?) {
        jobs[id] = (job, timer)
        order.append(id)
    }

    /// Takes the oldest waiting request, with its timer to cancel.
    mutating func popFirst() -> (job: Job, timer: Timer?)? {
        while let id = order.popFirst() {
            if let entry = jobs.removeValue(forKey: id) { return entry }
        }
        return nil
    }

    /// Takes request `id` (timed out, cancelled), with its timer to cancel; `nil` if it no longer waits.
    mutating func remove(_ id: UInt64) -> (job: Job, timer: Timer?)? {
        guard let entry = jobs.removeValue(forKey: id) else { return nil }
        if jobs.isEmpty { order = FIFOQueue() }
        return entry
    }

    /// Takes every waiting request, oldest first, with their timers to cancel.
    mutating func removeAll() -> [(job: Job, timer: Timer?)] {
        var all: [(job: Job, timer: Timer?)] = []
        while let entry = popFirst() { all.append(entry) }
        return all
    }
}
#endif
