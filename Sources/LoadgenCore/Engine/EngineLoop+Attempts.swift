import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - Calls

    func dispatch(index: Int64, intendedStart: UInt64, warmup: Bool, user: Int) {
        let request = settings.requests.request(at: index)
        progress.offered += 1
        let call = EngineCall(
            index: index, intendedStart: intendedStart, warmup: warmup, user: user, request: request,
            machine: CallMachine(
                policy: settings.policy.call, idempotent: settings.requests.idempotent[request.requestIndex],
                deadline: nil))
        call.liveIndex = live.count
        live.append(call)
        if !idle.isEmpty || newQueue.count < settings.queueLimit {
            newQueue.append(call)
            pump()
        } else {
            finishNotSent(call, reason: .clientQueueFull)
        }
    }

    /// Starts queued calls while connections are free (retries first).
    func pump() {
        guard !pumping else { return }
        pumping = true
        defer { pumping = false }
        while !idle.isEmpty, !expired {
            // Once interrupted, calls already sent may retry, but no call makes its first attempt.
            guard let call = retryQueue.popFirst() ?? (settings.stop.at == nil ? newQueue.popFirst() : nil) else {
                return
            }
            startAttempt(call, slot: idle.removeLast())
        }
    }

    /// Gives the call's next attempt a connection slot, if its machine sends one (the gate may hold it: a
    /// blocked gate ends the call, `failFast`, as the scenario's health gate is documented to do). When the
    /// loop's adaptive rate limiter makes the attempt wait, the slot goes back and the call waits on a loop
    /// timer, then queues with the retries; its intended start stays, so the wait shows in its latency.
    func startAttempt(_ call: EngineCall, slot: Int) {
        let now = EventLoop.now()
        let action =
            call.machine.state == .idle
            ? call.machine.start(now: Self.duration(now), budget: &budget, gate: &gate, limiter: &limiter)
            : call.machine.wake(now: Self.duration(now), gate: &gate, limiter: &limiter)
        settings.trace?(call.index, action)
        if case .pace(let wait) = action {
            call.pacedAttempts += 1
            idle.append(slot)
            call.phase = .backoff
            call.timer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(wait)))) { [self] in
                backoffEnded(call)
            }
            return
        }
        guard case .send(let attempt) = action else {
            idle.append(slot)
            if !call.hasAttempts {
                finishNotSent(call, reason: .healthGate)
            } else {
                finishSent(call, now: now)  // the last attempt stands
            }
            return
        }
        launch(call, attempt, slot: slot, now: now)
    }

    /// Sends `attempt` of `call` on connection slot `slot` (opening a connection first when the slot has none
    /// it can reuse), and arms the call's hedge timer when the machine asks for one.
    func launch(_ call: EngineCall, _ attempt: CallAttempt, slot: Int, now: UInt64) {
        let deadline = attempt.timeout.map { now &+ UInt64(max(0, Self.nanoseconds($0))) } ?? UInt64.max
        let sent = EngineAttempt(number: attempt.number, slot: slot, sent: now, deadline: deadline)
        call.attemptDeadline = deadline
        call.attemptSent = now
        call.slot = slot
        slots[slot].call = call
        slots[slot].attempt = sent
        if let after = attempt.hedgeAfter { armHedge(call, after: after) }
        if settings.policy.call.hedging != nil { call.hedges.append(sent) }
        submitting += 1
        defer { submitting -= 1 }
        if let connection = slots[slot].connection, connection.isReusable {
            send(call, sent, on: connection)
        } else {
            if let stale = slots[slot].connection {
                stale.close()
                slots[slot].connection = nil
            }
            // https: no connection of the loop's own (slots only bound the attempts in flight).
            if let secure = settings.secure {
                sendSecure(call, slot: slot, via: secure)
                return
            }
            if call.phase != .inFlight { call.phase = .connecting }
            HTTPClientConnection.connect(
                host: settings.host, port: settings.port, on: loop, timeout: settings.policy.connectTimeout,
                limits: settings.policy.responseLimits
            ) { [self] result in
                connected(call, sent, result: result)
            }
        }
    }

    /// Whether `attempt`'s end is still awaited: the call lives and its machine waits for that attempt.
    func awaited(_ call: EngineCall, _ attempt: EngineAttempt) -> Bool {
        (call.phase == .inFlight || call.phase == .connecting) && call.machine.isInFlight(attempt.number)
    }

    func connected(
        _ call: EngineCall, _ attempt: EngineAttempt, result: Result<HTTPClientConnection, HTTPClientError>
    ) {
        guard awaited(call, attempt), !reported else {
            if case .success(let connection) = result { connection.close() }
            return
        }
        switch result {
        case .success(let connection):
            slots[attempt.slot].connection = connection
            submitting += 1
            defer { submitting -= 1 }
            send(call, attempt, on: connection)
        case .failure(let error):
            attemptEnded(call, attempt, result: .failure(error))
        }
    }

    /// Sends `attempt` of `call` on `connection` (its slot's); the answer comes back through the slot
    /// (`slotAnswered`), which `launch` gave the call and the attempt.
    func send(_ call: EngineCall, _ attempt: EngineAttempt, on connection: HTTPClientConnection) {
        call.phase = .inFlight
        let request = call.request
        connection.send(
            method: request.method, encodedRequest: request.encoded, deadline: attempt.deadline,
            completion: slots[attempt.slot].answer)
    }

    /// The answer on connection slot `slot`, for the call and attempt the slot holds; none when the attempt was
    /// cancelled (a hedged call's loser: its slot was cleared before its connection was closed).
    func slotAnswered(_ slot: Int, _ result: Result<HTTPResponse, HTTPClientError>) {
        guard let call = slots[slot].call else { return }
        attemptEnded(call, slots[slot].attempt, result: result)
    }

    func attemptEnded(_ call: EngineCall, _ attempt: EngineAttempt, result: Result<HTTPResponse, HTTPClientError>) {
        guard awaited(call, attempt) else { return }
        let now = EventLoop.now()
        let slot = attempt.slot
        slots[slot].call = nil
        let record: MeasuredAttempt
        let outcome: AttemptOutcome
        var succeeded = false
        var retryAfter: RetryAfter?
        switch result {
        case .success(let response):
            (record, outcome, succeeded, retryAfter) = answered(
                call, sent: attempt.sent, status: response.head.status,
                retryAfter: response.head.headers["Retry-After"], now: now)
            if let connection = slots[slot].connection, !connection.isReusable {
                connection.close()
                slots[slot].connection = nil
            }
        case .failure(let error):
            let failure = TransportFailure(error, expired: expired)
            record = .failure(sent: Int64(attempt.sent), ended: Int64(now), error: failure.kind)
            outcome = failure.outcome
            // The connection is broken (or was never opened): the next attempt on this slot reconnects.
            if let connection = slots[slot].connection {
                connection.close()
                slots[slot].connection = nil
            }
        }
        attemptRecorded(
            call, attempt, record: record, outcome: outcome, succeeded: succeeded, retryAfter: retryAfter, now: now)
    }

    /// What an answer with `status` means for the call (record, outcome for the planner and the gate, success,
    /// `Retry-After`); counts a measured 503.
    @inline(__always)
    func answered(
        _ call: EngineCall, sent: UInt64, status: Int, retryAfter header: @autoclosure () -> String?, now: UInt64
    ) -> (MeasuredAttempt, AttemptOutcome, Bool, RetryAfter?) {
        let succeeded = settings.requests.isSuccess(status, requestIndex: call.request.requestIndex)
        let record = MeasuredAttempt.response(
            sent: Int64(sent), ended: Int64(now), status: status, succeeded: succeeded)
        var retryAfter: RetryAfter?
        if !succeeded, let value = header() {
            retryAfter = RetryAfter(headerValue: value, nowSecondsSince1970: Self.wallClock())
        }
        if status == 503, !call.warmup { progress.status503 += 1 }
        return (record, .status(status), succeeded, retryAfter)
    }

    /// The attempt is recorded: free its slot, then retry, finish or give up (`conclude`), and start what waits.
    @inline(__always)
    func attemptRecorded(
        _ call: EngineCall, _ attempt: EngineAttempt, record: MeasuredAttempt, outcome: AttemptOutcome,
        succeeded: Bool, retryAfter: RetryAfter?, now: UInt64
    ) {
        progress.attempts += 1
        call.append(record)
        if !call.hedges.isEmpty { call.hedges.removeAll { $0.number == attempt.number } }
        if !expired { idle.append(attempt.slot) }
        conclude(
            call, attempt: attempt.number, outcome: outcome, succeeded: succeeded, retryAfter: retryAfter, now: now)
        pump()
    }

    /// After an attempt: its call's machine tells the gate and decides: finish, or sleep before the next attempt.
    func conclude(
        _ call: EngineCall, attempt: Int, outcome: AttemptOutcome, succeeded: Bool, retryAfter: RetryAfter?,
        now: UInt64
    ) {
        if expired {
            finishSent(call, now: now)
            return
        }
        limiter?.record(outcome, now: Self.duration(now))
        let step = call.machine.attemptEnded(
            attempt, outcome, succeeded: succeeded, retryAfter: retryAfter, now: Self.duration(now),
            wallClockSeconds: retryAfter == nil ? 0 : Self.wallClock(), budget: &budget, gate: &gate, rng: &rng)
        if let transition = step.transition, transition.to == .blocked { startProber() }
        settings.trace?(call.index, step.action)
        switch step.action {
        case .retry(let delay, _):
            call.phase = .backoff
            call.timer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(delay)))) { [self] in
                backoffEnded(call)
            }
        case .finish(let end):
            if end == .gaveUp(.budgetExhausted) { call.budgetDenied = true }
            finishSent(call, now: now)
        case .send(let next):
            // A hedged call's next hedge, at once after a non-fatal failure, on the slot just freed.
            if let slot = idle.popLast() {
                launch(call, next, slot: slot, now: now)
            } else {
                finishSent(call, now: now)
            }
        case .awaitAttempts:
            break  // a hedged call's other attempts run on
        case .waitForGate, .pace:
            finishSent(call, now: now)  // not after an outcome: the engine's gate fails fast, pacing comes at a wake
        }
    }

    func backoffEnded(_ call: EngineCall) {
        call.timer = nil
        guard call.phase == .backoff, !expired else { return }
        call.phase = .queued
        retryQueue.append(call)
        pump()
    }

    func finishSent(_ call: EngineCall, now: UInt64) {
        guard call.phase != .finished else { return }
        if !call.hasAttempts {
            finishNotSent(call, reason: .runEnded)
            return
        }
        retire(call)
        if !call.hedges.isEmpty { cancelLosers(call, now: now) }
        if call.warmup {
            result.warmupCalls += 1
        } else {
            let last = call.lastAttempt
            if let last { lastEnd = max(lastEnd, UInt64(last.ended)) }
            if last?.succeeded == true { progress.ok += 1 } else { progress.failed += 1 }
            call.copyAttempts(into: &scratchAttempts)
            result.record(
                .sent(
                    index: call.index, intendedStart: Int64(call.intendedStart), attempts: scratchAttempts,
                    retryDeniedByBudget: call.budgetDenied, requestIndex: call.request.requestIndex,
                    pacedAttempts: call.pacedAttempts))
        }
        if call.user >= 0 { userCallEnded(call.user, gateRefused: false) }
        checkDone()
    }

    func finishNotSent(_ call: EngineCall, reason: NotSentReason) {
        guard call.phase != .finished else { return }
        retire(call)
        if call.warmup {
            result.warmupCalls += 1
        } else {
            result.record(
                .notSent(
                    index: call.index, intendedStart: Int64(call.intendedStart), reason: reason,
                    requestIndex: call.request.requestIndex))
        }
        if call.user >= 0 { userCallEnded(call.user, gateRefused: reason == .healthGate) }
        checkDone()
    }

    /// Marks a call finished and removes it from the live list.
    func retire(_ call: EngineCall) {
        call.phase = .finished
        if let timer = call.timer {
            loop.cancel(timer)
            call.timer = nil
        }
        if let timer = call.hedgeTimer {
            loop.cancel(timer)
            call.hedgeTimer = nil
        }
        let position = call.liveIndex
        if position >= 0, position < live.count, live[position] === call {
            let last = live.removeLast()
            if last !== call {
                live[position] = last
                last.liveIndex = position
            }
        }
        call.liveIndex = -1
    }
}
