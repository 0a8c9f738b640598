import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - https attempts

    /// Sends the call's attempt through the `https` transport on a task; the answer comes back to this loop
    /// (`secureAttemptEnded`). When the transport does not bound the attempt itself, a loop timer does.
    func sendSecure(_ call: EngineCall, slot: Int, via secure: SecureSender) {
        call.phase = .inFlight
        let sent = call.attemptSent
        guard let request = secure.request(call.request) else {
            secureAttemptEnded(call, slot: slot, sent: sent, result: .failure(TransportError(.other, "unreadable request")))
            return
        }
        let timeout = Self.duration(settings.policy.attemptTimeout)
        let stop = settings.stop
        call.task = Task { [self, loop] in
            let result: Result<TransportResponse, TransportError>
            do throws(TransportError) {
                result = .success(try await secure.transport.send(request, timeout: timeout))
            } catch {
                result = .failure(error)
            }
            guard !stop.isClosed else { return }
            loop.execute { [self] in secureAttemptEnded(call, slot: slot, sent: sent, result: result) }
        }
        if !secure.transport.enforcesTimeout {
            call.timer = loop.schedule(after: settings.policy.attemptTimeout) { [self] in
                call.timer = nil
                guard call.phase == .inFlight, call.attemptSent == sent else { return }
                call.task?.cancel()
                secureAttemptEnded(
                    call, slot: slot, sent: sent, result: .failure(TransportError(.responseTimeout, "timed out")))
            }
        }
    }

    /// An `https` attempt ended (loop thread): recorded like an answer on the loop's own connections. A late
    /// answer (the attempt already timed out, or the run expired) is dropped.
    func secureAttemptEnded(
        _ call: EngineCall, slot: Int, sent: UInt64, result: Result<TransportResponse, TransportError>
    ) {
        guard call.phase == .inFlight, call.attemptSent == sent else { return }
        if let timer = call.timer {
            loop.cancel(timer)
            call.timer = nil
        }
        call.task = nil
        let now = EventLoop.now()
        slots[slot].call = nil
        let attempt = EngineAttempt(number: call.machine.attempts, slot: slot, sent: sent, deadline: call.attemptDeadline)
        switch result {
        case .success(let response):
            let (record, outcome, succeeded, retryAfter) = answered(
                call, sent: sent, status: response.status,
                retryAfter: response.headers.first { $0.name.lowercased() == "retry-after" }?.value, now: now)
            attemptRecorded(
                call, attempt, record: record, outcome: outcome, succeeded: succeeded, retryAfter: retryAfter,
                now: now)
        case .failure(let error):
            let failure = TransportFailure(error, expired: expired)
            attemptRecorded(
                call, attempt,
                record: .failure(sent: Int64(call.attemptSent), ended: Int64(now), error: failure.kind),
                outcome: failure.outcome, succeeded: false, retryAfter: nil, now: now)
        }
    }
}
