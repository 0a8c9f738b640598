import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - Hedging

    /// Arms the timer that asks the call's machine for its next hedge (replacing an earlier one).
    func armHedge(_ call: EngineCall, after delay: Duration) {
        if let timer = call.hedgeTimer { loop.cancel(timer) }
        call.hedgeTimer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(delay)))) { [self] in
            call.hedgeTimer = nil
            hedgeDue(call)
        }
    }

    /// The hedge delay passed with the call's attempts still in flight. A hedge needs a free connection slot:
    /// with none free, no hedge is sent (the attempts in flight run on).
    func hedgeDue(_ call: EngineCall) {
        guard call.phase == .inFlight || call.phase == .connecting, !expired, let slot = idle.popLast() else { return }
        let now = EventLoop.now()
        let action = call.machine.hedgeDue(now: Self.duration(now), budget: &budget, gate: &gate)
        settings.trace?(call.index, action)
        switch action {
        case .send(let attempt):
            launch(call, attempt, slot: slot, now: now)
        case .finish:
            idle.append(slot)
            finishSent(call, now: now)
        case .retry, .waitForGate, .awaitAttempts, .pace:
            idle.append(slot)
        }
    }

    /// A hedged call ended: its attempts still in flight are the losers. Each is cancelled (its connection
    /// closed, its slot freed) and recorded as a sent attempt of kind `cancelled`, before the attempt that
    /// decided the call.
    func cancelLosers(_ call: EngineCall, now: UInt64) {
        let losers = call.hedges
        call.hedges.removeAll()
        for loser in losers where slots[loser.slot].call === call {
            slots[loser.slot].call = nil
            if let connection = slots[loser.slot].connection {
                slots[loser.slot].connection = nil
                connection.close()
            }
            if !expired { idle.append(loser.slot) }
            call.insertBeforeLast(.failure(sent: Int64(loser.sent), ended: Int64(now), error: TransportFailure.cancelledKind))
            progress.attempts += 1
        }
    }
}
