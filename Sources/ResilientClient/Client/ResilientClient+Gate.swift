import EndpointSpec
import Foundation
import Synchronization

extension ResilientClient {
    /// Tells observers about a gate change, then wakes the waiting calls (each asks the gate again), and
    /// starts the prober if the gate blocked.
    func announce(_ transition: HealthGate.Transition, waking wakes: [CheckedContinuation<GateWake, Never>]) {
        deliverGateEvents()
        for waiter in wakes { waiter.resume(returning: .changed) }
        if transition.to == .blocked { startProberIfNeeded() }
    }

    // MARK: - The health gate

    /// Waits at the blocked gate until the call's machine sends an attempt or ends the call (at its deadline,
    /// on cancellation, on shutdown). Starts the prober if none runs.
    func waitAtGate(_ call: inout CallInProgress, deadline: Duration?) async -> CallAction {
        startProberIfNeeded()
        while true {
            let generation = call.gateGeneration
            let woke = await race(until: deadline) { await self.gateChange(after: generation) }
            switch woke {
            case .value(.changed), .timedOut:
                // The machine ends the call once its deadline has passed.
                let action = wake(&call, now: readClock())
                if case .waitForGate = action { continue }
                return action
            case .value(.cancelled): return stop(&call, .cancelled)
            case .value(.shutdown): return stop(&call, .shutdown)
            }
        }
    }

    /// Suspends until the gate changes after `generation` (at once if it already has), the client shuts
    /// down, or the task is cancelled.
    func gateChange(after generation: UInt64) async -> GateWake {
        let id = state.withLock { $0.makeID() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<GateWake, Never>) in
                let immediate = state.withLock { state -> GateWake? in
                    if state.shutDown { return .shutdown }
                    if Task.isCancelled { return .cancelled }
                    if state.gateGeneration != generation { return .changed }
                    state.gateWaiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.gateWaiters.removeValue(forKey: id) }
            waiter?.resume(returning: .cancelled)
        }
    }

    /// Starts the single prober while the gate is blocked. The prober's task holds the client weakly (a
    /// client dropped while its gate is blocked is not kept alive by it); `deinit` and `shutdown()` cancel it.
    func startProberIfNeeded() {
        state.withLock { state in
            guard !state.shutDown, state.gate.beginProbing() else { return }
            state.prober = Task { [weak self, clock] in
                while !Task.isCancelled {
                    guard let delay = self?.nextProbeDelay() else { return }
                    do {
                        try await clock.sleep(for: delay)
                    } catch {
                        break
                    }
                    // The client is held only for the probe itself.
                    guard let healthy = await self?.probe(), !healthy else { return }
                }
                self?.state.withLock { $0.gate.endProbing() }
            }
        }
    }

    func nextProbeDelay() -> Duration {
        state.withLock { $0.gate.nextProbeDelay(using: &$0.rng) }
    }

    /// One `GET /ping` of the prober, reported to the gate; `true` when it moved the gate out of closed (the
    /// prober's work is done).
    func probe() async -> Bool {
        // A probe is bounded by the attempt timeout, or 10 s when there is none.
        let bound = configuration.attemptTimeout == nil ? readClock() + .seconds(10) : nil
        let (outcome, _) = await ping(until: bound)
        if Task.isCancelled {
            state.withLock { $0.gate.endProbing() }
            return true
        }
        let healthy = outcome == .status(200)
        let (transition, wakes) = state.withLock { state in
            state.counters.probes += 1
            let transition = state.gate.recordProbe(healthy: healthy)
            state.pendingGateEvents.append(.probe(healthy: healthy, outcome: outcome))
            return (transition, state.gateChanged(transition))
        }
        deliverGateEvents()
        for waiter in wakes { waiter.resume(returning: .changed) }
        return transition != nil
    }
}
