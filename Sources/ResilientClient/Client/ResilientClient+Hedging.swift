import EndpointSpec
import Foundation
import Synchronization

extension ResilientClient {
    // MARK: - Hedging

    /// What one task of a hedged call reports.
    enum HedgeEvent: Sendable {
        /// An attempt ended.
        case ended(CallAttempt, Result<TransportResponse, TransportError>, started: Duration)
        /// The hedge timer of the given generation fired.
        case hedgeDue(generation: Int)
        /// A timer was cancelled (the call ended first).
        case timerCancelled
    }

    /// A hedged call (``HedgingPolicy``): its attempts run as child tasks, with a timer for the next hedge,
    /// until the machine finishes the call; the losers are then cancelled with the group.
    func runHedged(
        _ call: inout CallInProgress, first: CallAttempt, now started: Duration
    ) async throws(ResilientClientError) -> TransportResponse {
        let request = call.request
        let clock = self.clock
        let result = await withTaskGroup(of: HedgeEvent.self) { group -> Result<TransportResponse, ResilientClientError> in
            var timerGeneration = 0
            var action = CallAction.send(first)
            var now = started
            while true {
                switch action {
                case .send(let attempt):
                    let at = now
                    group.addTask { .ended(attempt, await self.send(request, timeout: attempt.timeout, until: attempt.timeout.map { at + $0 }), started: at) }
                    if let after = attempt.hedgeAfter {
                        timerGeneration += 1
                        let generation = timerGeneration
                        group.addTask {
                            do {
                                try await clock.sleep(for: after)
                                return .hedgeDue(generation: generation)
                            } catch {
                                return .timerCancelled
                            }
                        }
                    }
                case .awaitAttempts: break
                case .finish(let end):
                    group.cancelAll()
                    call.end = readClock()
                    return .failure(ended(&call, end))
                case .retry, .waitForGate, .pace:
                    group.cancelAll()
                    call.end = readClock()
                    _ = stop(&call, .shutdown)
                    return .failure(.shutdown)
                }
                // The next event that concerns the call.
                guard let event = await group.next() else { return .failure(.cancelled) }
                if Task.isCancelled {
                    group.cancelAll()
                    action = stop(&call, .cancelled)
                    trace?(action)
                    continue
                }
                now = readClock()
                switch event {
                case .timerCancelled:
                    action = .awaitAttempts
                    continue
                case .hedgeDue(let generation):
                    guard generation == timerGeneration else {
                        action = .awaitAttempts
                        continue
                    }
                    action = state.withLock { state in
                        let action = call.machine.hedgeDue(now: now, budget: &state.budget, gate: &state.gate)
                        if case .send = action { state.counters.attempts += 1 }
                        return action
                    }
                case .ended(let attempt, let sent, let attemptStarted):
                    let (next, response) = hedgeEnded(&call, attempt, sent: sent, started: attemptStarted, now: now)
                    if let response {
                        trace?(next)
                        group.cancelAll()
                        return .success(response)
                    }
                    if case .finish(.gaveUp(let reason)) = next {
                        trace?(next)
                        group.cancelAll()
                        call.end = now
                        return .failure(error(reason, outcome: call.machine.lastOutcome ?? .transport(.other), sent: sent, attempts: call.machine.attempts))
                    }
                    action = next
                }
                trace?(action)
            }
        }
        return try result.get()
    }

    /// An attempt of a hedged call ended: recorded, told to the machine with the gate and the budget; returns
    /// the machine's next action, and the response when it won.
    func hedgeEnded(
        _ call: inout CallInProgress, _ attempt: CallAttempt, sent: Result<TransportResponse, TransportError>,
        started: Duration, now: Duration
    ) -> (CallAction, TransportResponse?) {
        let outcome: AttemptOutcome
        var message = ""
        var response: TransportResponse?
        switch sent {
        case .success(let answer):
            outcome = .status(answer.status)
            response = answer
        case .failure(let error):
            outcome = .transport(error.kind)
            message = error.message
        }
        let succeeded = response.map { (200..<300).contains($0.status) } ?? false
        let record = AttemptRecord(
            number: attempt.number, outcome: outcome, message: message, latency: now - started, trial: attempt.trial)
        emit(.attempt(path: call.path, record))
        call.keep(record)
        let (step, wakes) = state.withLock { state in
            state.limiter?.record(outcome, now: now)
            let step = call.machine.attemptEnded(
                attempt.number, outcome, succeeded: succeeded, retryAfter: nil, now: now, wallClockSeconds: 0,
                budget: &state.budget, gate: &state.gate, rng: &state.rng)
            switch step.action {
            case .send: state.counters.attempts += 1
            case .finish(.succeeded): state.counters.succeeded += 1
            case .finish(.gaveUp(.budgetExhausted)): state.counters.budgetRefusals += 1
            default: break
            }
            return (step, state.gateChanged(step.transition, trialReleased: true))
        }
        if let transition = step.transition {
            announce(transition, waking: wakes)
        } else {
            for waiter in wakes { waiter.resume(returning: .changed) }
        }
        if case .finish(.succeeded) = step.action {
            call.end = now
            return (step.action, response)
        }
        return (step.action, nil)
    }
}
