import EndpointSpec
import Foundation
import Synchronization

extension ResilientClient {
    // MARK: - Events

    /// Delivers the queued gate and probe events in the order the gate changed. Gate changes happen on
    /// different tasks (the prober, the calls) and a woken call may change the gate again at once, so
    /// delivering each change from its own task could reorder them (`trial → open` before
    /// `closed → trial`). Every caller returns only after its own events were delivered, by itself or by
    /// the caller that held the delivery lock before it, and delivers before waking the waiters it admitted.
    func deliverGateEvents() {
        gateEventDelivery.withLock { _ in
            while true {
                let events = state.withLock { state in
                    defer { state.pendingGateEvents.removeAll() }
                    return state.pendingGateEvents
                }
                if events.isEmpty { return }
                for event in events { emit(event) }
            }
        }
    }

    /// Whether anyone observes events: an `onEvent` hook or an open stream.
    var hasListeners: Bool {
        hasEventHook || streamCount.load(ordering: .relaxed) > 0
    }

    /// The monotonic time.
    @inline(__always)
    func readClock() -> Duration {
        usesSystemClock ? SystemClientClock.monotonicNow() : clock.now
    }

    func emit(_ make: @autoclosure () -> ClientEvent) {
        let onEvent = configuration.onEvent
        let hasStreams = streamCount.load(ordering: .relaxed) > 0
        guard onEvent != nil || hasStreams else { return }
        let event = make()
        onEvent?(event)
        guard hasStreams else { return }
        let streams = state.withLock { Array($0.streams.values) }
        for continuation in streams { continuation.yield(event) }
    }
}
