import EndpointSpec
import Foundation
import Synchronization

extension ResilientClient {
    // MARK: - The call loop

    func finishEarly(_ spec: RouteSpec, _ error: ResilientClientError) -> CallReport {
        let report = CallReport(method: spec.verb, path: spec.path, error: error)
        state.withLock { state in
            state.counters.calls += 1
            state.counters.failed += 1
            if case .validation = error { state.counters.validationFailures += 1 }
        }
        emit(.callFinished(report))
        return report
    }

    /// One call in progress: what its attempt loop keeps between awaits. The loop itself only awaits;
    /// every locked section and closure runs in the synchronous methods it calls, because an async
    /// function allocates a closure's context (and a `withLock` body's) on the task allocator, which
    /// costs more than the locked work itself.
    struct CallInProgress {
        let request: TransportRequest
        /// The route path as the caller gave it (the report's) and its URL's path (attempt events').
        let route: RouteURL
        var path: String { route.path }
        let start: Duration
        /// The call's life: it decides, this client does what it says.
        var machine: CallMachine
        /// The machine's first action, decided when the call began; `nil` once taken.
        var firstAction: CallAction?
        /// The gate's generation when the machine last said to wait for it.
        var gateGeneration: UInt64 = 0
        var records: [AttemptRecord] = []
        var gateWait: Duration = .zero
        /// Whether attempt records are kept: only for someone who reads them, the caller or an observer of
        /// `callFinished` (one that starts listening during the call sees a report without attempts).
        let keepAttempts: Bool
        /// When the attempts ended, if the clock was read then: a call whose first attempt succeeds reads
        /// it only for someone who reads the latency or the report.
        var end: Duration?

        mutating func keep(_ record: AttemptRecord) {
            if keepAttempts { records.append(record) }
        }
    }

    /// How a call continues after an attempt.
    enum Concluded {
        case succeeded(TransportResponse)
        case failed(ResilientClientError)
        case next(CallAction)
    }

    /// Runs one call and decodes its reply with `decode` (a reply that does not decode fails the call,
    /// counted and reported as such). `report` is set to the call's report, or left `nil` when neither the
    /// caller (`wantsReport`) nor an observer of `callFinished` reads it.
    @inline(__always)
    func execute<Reply>(
        spec: RouteSpec, body: JSONValue?, bytes: consuming [UInt8], idempotent: Bool, deadline: Duration?,
        options: CallOptions? = nil, wantsReport: Bool = true, report: inout CallReport?,
        decode: (TransportResponse) throws(ResilientClientError) -> Reply
    ) async throws(ResilientClientError) -> Reply {
        var call: CallInProgress
        do throws(ResilientClientError) {
            call = try begin(
                spec: spec, body: body, bytes: bytes, idempotent: idempotent, deadline: deadline, options: options,
                wantsReport: wantsReport)
        } catch {
            // Invalid body, no URL, or cancelled: nothing was sent.
            report = finishEarly(spec, error)
            throw error
        }
        // The attempts do not depend on the reply's type.
        let response: TransportResponse
        do throws(ResilientClientError) {
            response = try await runAttempts(&call)
        } catch {
            report = finish(&call, failure: error, undecodable: false)
            throw error
        }
        do throws(ResilientClientError) {
            let reply = try decode(response)
            report = finish(&call, failure: nil, undecodable: false)
            return reply
        } catch {
            report = finish(&call, failure: error, undecodable: true)
            throw error
        }
    }

    /// Does what the call's machine says until one attempt succeeds (its response is returned) or the call
    /// ends otherwise (thrown). Sets `call.end` to the (monotonic) time the attempts ended, except after a
    /// first attempt that succeeded with nobody reading the time.
    @inline(__always)
    func runAttempts(_ call: inout CallInProgress) async throws(ResilientClientError) -> TransportResponse {
        var action = call.firstAction ?? .finish(.shutdown)
        call.firstAction = nil
        var now = call.start
        while true {
            trace?(action)
            switch action {
            case .send(let attempt) where attempt.hedgeAfter != nil:
                return try await runHedged(&call, first: attempt, now: now)
            case .send(let attempt):
                let sent: Result<TransportResponse, TransportError>
                #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
                if let loopTransport {
                    do throws(TransportError) {
                        sent = .success(try await loopTransport.send(call.request, timeout: attempt.timeout))
                    } catch {
                        sent = .failure(error)
                    }
                } else {
                    sent = await send(call.request, timeout: attempt.timeout, until: attempt.timeout.map { now + $0 })
                }
                #else
                sent = await send(call.request, timeout: attempt.timeout, until: attempt.timeout.map { now + $0 })
                #endif
                switch conclude(&call, sent: sent, started: now, attempt: attempt) {
                case .succeeded(let response): return response
                case .failed(let error): throw error
                case .next(let next): action = next
                }
            case .retry(let delay, _), .pace(let delay):
                do {
                    try await clock.sleep(for: delay)
                    now = readClock()
                    action = wake(&call, now: now)
                } catch {
                    action = stop(&call, .cancelled)
                }
            case .waitForGate(let deadline):
                let waitStart = now
                action = await waitAtGate(&call, deadline: deadline)
                now = readClock()
                call.gateWait += now - waitStart
            case .finish(let end):
                call.end = readClock()
                throw ended(&call, end)
            case .awaitAttempts:
                // Only a hedged call has attempts to await, and it runs in `runHedged`.
                call.end = readClock()
                _ = stop(&call, .shutdown)
                throw .shutdown
            }
        }
    }

    /// The synchronous start of a call: validation, the route's URL, and one critical section that
    /// counts the call and starts its machine (budget deposit, the gate's answer for the first attempt).
    /// Never inlined into the async caller, where its lock's closure context would be allocated on the
    /// task. Throws when the call ends before it starts (the caller reports it). A call without `options`
    /// pays one `nil` check for them.
    @inline(never)
    func begin(
        spec: RouteSpec, body: JSONValue?, bytes: consuming [UInt8], idempotent: Bool, deadline: Duration?,
        options: CallOptions?, wantsReport: Bool
    ) throws(ResilientClientError) -> CallInProgress {
        if let body, let problem = JSONBridge.validate(body, template: spec.body) { throw .validation(problem) }
        if Task.isCancelled { throw .cancelled }
        let start = readClock()
        var policy = callPolicy
        var callDeadline = deadline ?? configuration.deadline
        // A GET carries no body (nor a Content-Type for one).
        let isGet = spec.verb == "GET"
        var headers = isGet ? configuration.headers : bodyHeaders
        // `!= nil` and a call: `if let` would copy the options (and their retry policy) even when there are none.
        if options != nil { Self.apply(options, policy: &policy, deadline: &callDeadline, headers: &headers, given: deadline) }
        var machine = CallMachine(policy: policy, idempotent: idempotent, deadline: callDeadline.map { start + $0 })
        let path = spec.path
        // One critical section for a known path (the usual case); set in place, not returned, to spare copies.
        var route: RouteURL?
        var action = CallAction.finish(.shutdown)
        var generation: UInt64 = 0
        state.withLock { state in
            route = state.routeURL(for: path)
            guard route != nil else { return }
            action = state.begin(&machine, now: start)
            generation = state.gateGeneration
        }
        if route == nil {
            // The first call of this path: parse its URL once.
            guard let url = url(for: path) else {
                throw .invalidRequest("cannot form a URL from \(configuration.baseURL) and \(path)")
            }
            let parsed = RouteURL(routePath: path, url: url, path: url.path)
            route = parsed
            state.withLock { state in
                state.remember(parsed)
                action = state.begin(&machine, now: start)
                generation = state.gateGeneration
            }
        }
        guard let route else { throw .invalidRequest("unreachable: no URL for \(path)") }
        let request = TransportRequest(method: spec.verb, url: route.url, headers: headers, body: isGet ? [] : bytes)
        return CallInProgress(
            request: request, route: route, start: start, machine: consume machine, firstAction: action,
            gateGeneration: generation, keepAttempts: wantsReport || hasListeners)
    }

    /// What a call's `options` change: the retry policy, the deadline (unless the call `given` one), headers.
    @inline(never)
    static func apply(
        _ options: CallOptions?, policy: inout CallPolicy, deadline: inout Duration?, headers: inout [(name: String, value: String)],
        given: Duration?
    ) {
        guard let options else { return }
        if let retry = options.retry {
            policy = CallPolicy(
                retry: retry, attemptTimeout: policy.attemptTimeout, gateWaitMode: policy.gateWaitMode,
                retryTransportErrors: policy.retryTransportErrors, hedging: policy.hedging)
        }
        if given == nil, let own = options.deadline { deadline = own }
        if !options.headers.isEmpty { headers = CallOptions.merge(options.headers, over: headers) }
    }

    /// The machine's next step after a backoff sleep or a gate change, or `.cancelled` for a cancelled task.
    @inline(never)
    func wake(_ call: inout CallInProgress, now: Duration) -> CallAction {
        if Task.isCancelled { return stop(&call, .cancelled) }
        return state.withLock { state in
            let action = state.wake(&call.machine, now: now)
            call.gateGeneration = state.gateGeneration
            return action
        }
    }

    /// Ends the call from outside (cancelled, shut down); a trial slot it held is given back to the gate.
    @inline(never)
    func stop(_ call: inout CallInProgress, _ end: CallEnd) -> CallAction {
        let (action, wakes) = state.withLock { state in
            let trial = call.machine.state == .attempting(trial: true)
            let action = call.machine.stop(end, gate: &state.gate)
            return (action, state.gateChanged(nil, trialReleased: trial))
        }
        for waiter in wakes { waiter.resume(returning: .changed) }
        return action
    }

    /// The error of a call that ended without a decision on an attempt's outcome (the gate, the deadline,
    /// cancellation, shutdown); counts and reports a gate rejection.
    func ended(_ call: inout CallInProgress, _ end: CallEnd) -> ResilientClientError {
        let attempts = call.machine.attempts
        let last = call.machine.lastOutcome
        switch end {
        case .gateBlocked:
            state.withLock { $0.counters.gateRejections += 1 }
            emit(.gateRejected(path: call.path))
            return .gateBlocked
        case .cancelled: return .cancelled
        case .shutdown: return .shutdown
        case .gaveUp(.budgetExhausted):
            if let last { return .budgetExhausted(attempts: attempts, last: last) }
            return .deadlineExceeded(attempts: attempts, last: last)
        case .gaveUp: return .deadlineExceeded(attempts: attempts, last: last)
        case .succeeded: return .invalidRequest("unreachable: a call ended as a success without a response")
        }
    }

    /// Records an attempt's outcome and gives it to the call's machine (one critical section with the gate,
    /// the budget and the counters): the call succeeds, fails, or goes on with the machine's next action. A
    /// 2xx that arrived is returned even if the task was cancelled meanwhile: the work is done, and nothing
    /// is left to stop.
    @inline(never)
    func conclude(
        _ call: inout CallInProgress, sent: Result<TransportResponse, TransportError>, started: Duration,
        attempt: CallAttempt
    ) -> Concluded {
        if case .success(let response) = sent, (200..<300).contains(response.status) {
            // A 2xx is a success whatever the policy (RetryClassifier): no header search, and no attempt
            // record (nor even a clock reading) unless someone reads it.
            let outcome = AttemptOutcome.status(response.status)
            if call.keepAttempts || hasListeners {
                let finished = readClock()
                call.end = finished
                let record = AttemptRecord(
                    number: attempt.number, outcome: outcome, message: "", latency: finished - started,
                    trial: attempt.trial)
                emit(.attempt(path: call.path, record))
                call.keep(record)
            } else {
                call.end = nil  // not an earlier attempt's
            }
            let (transition, wakes) = state.withLock { state in
                state.counters.succeeded += 1
                state.limiter?.record(outcome, now: call.end ?? started)
                let step = call.machine.attemptEnded(
                    attempt.number, outcome, succeeded: true, retryAfter: nil, now: started, wallClockSeconds: 0,
                    budget: &state.budget, gate: &state.gate, rng: &state.rng)
                return (step.transition, state.gateChanged(step.transition))
            }
            trace?(.finish(.succeeded))
            if let transition { announce(transition, waking: wakes) }
            return .succeeded(response)
        }
        let finished = readClock()
        call.end = finished
        if Task.isCancelled {
            call.keep(AttemptRecord(
                number: attempt.number, outcome: .transport(.cancelled), message: "cancelled",
                latency: finished - started, trial: attempt.trial))
            return .next(stop(&call, .cancelled))
        }
        let outcome: AttemptOutcome
        var message = ""
        switch sent {
        case .success(let response): outcome = .status(response.status)
        case .failure(let error):
            outcome = .transport(error.kind)
            message = error.message
        }
        var record = AttemptRecord(
            number: attempt.number, outcome: outcome, message: message, latency: finished - started,
            trial: attempt.trial)
        emit(.attempt(path: call.path, record))

        var retryAfter: RetryAfter?
        var wall = 0.0
        if case .success(let response) = sent, let value = response.header("Retry-After") {
            wall = clock.wallClockSecondsSince1970
            retryAfter = RetryAfter(headerValue: value, nowSecondsSince1970: wall)
        }
        let cancelled = outcome == .transport(.cancelled)
        // The gate learns the outcome and the machine decides in one critical section.
        let (step, wakes) = state.withLock { state in
            state.limiter?.record(outcome, now: finished)
            let step = call.machine.attemptEnded(
                attempt.number, outcome, succeeded: false, retryAfter: retryAfter, now: finished, wallClockSeconds: wall,
                budget: &state.budget, gate: &state.gate, rng: &state.rng)
            switch step.action {
            case .retry: state.counters.retries += 1
            case .finish(.gaveUp(.budgetExhausted)): state.counters.budgetRefusals += 1
            default: break
            }
            return (step, state.gateChanged(step.transition, trialReleased: cancelled && attempt.trial))
        }
        if let transition = step.transition {
            announce(transition, waking: wakes)
        } else {
            for waiter in wakes { waiter.resume(returning: .changed) }
        }
        switch step.action {
        case .retry(let delay, let reason):
            record.delayAfter = delay
            record.delayReason = reason
            call.keep(record)
            emit(.retryScheduled(path: call.path, nextAttempt: attempt.number + 1, delay: delay, reason: reason))
            return .next(step.action)
        case .finish(.gaveUp(let reason)):
            trace?(step.action)
            call.keep(record)
            if reason == .budgetExhausted { emit(.budgetRefused(path: call.path, attempts: attempt.number)) }
            return .failed(error(reason, outcome: outcome, sent: sent, attempts: attempt.number))
        case .send, .waitForGate, .finish, .awaitAttempts, .pace:
            call.keep(record)
            return .next(step.action)
        }
    }

    /// Completes the call's report, counts a failure (a success was counted with its decision) and
    /// tells observers.
    ///
    /// - Parameter undecodable: the last attempt succeeded but its reply did not decode (`failure` says
    ///   how): the call had been counted as a success with that attempt, and is now a failure.
    @inline(never)
    func finish(
        _ call: inout CallInProgress, failure: ResilientClientError?, undecodable: Bool
    ) -> CallReport? {
        if let error = failure {
            state.withLock { state in
                state.counters.failed += 1
                if undecodable { state.counters.succeeded -= 1 }
                if case .deadlineExceeded = error { state.counters.deadlinesExceeded += 1 }
            }
        }
        // No report for no reader (an observer that started listening during the call gets one without attempts).
        guard call.keepAttempts || hasListeners else { return nil }
        let report = CallReport(
            method: call.request.method, path: call.route.routePath, attempts: call.records, gateWait: call.gateWait,
            duration: (call.end ?? readClock()) - call.start, error: failure)
        emit(.callFinished(report))
        return report
    }

    func error(
        _ reason: GiveUpReason, outcome: AttemptOutcome, sent: Result<TransportResponse, TransportError>, attempts: Int
    ) -> ResilientClientError {
        switch reason {
        case .deadlineExceeded: return .deadlineExceeded(attempts: attempts, last: outcome)
        case .budgetExhausted: return .budgetExhausted(attempts: attempts, last: outcome)
        case .retryAfterBeyondDeadline(let wait):
            return .retryAfterBeyondDeadline(wait: wait, attempts: attempts, last: outcome)
        case .notRetryable, .attemptsExhausted:
            switch sent {
            case .failure(let error): return .transport(error, attempts: attempts)
            case .success(let response):
                if reason == .attemptsExhausted { return .overloaded(attempts: attempts, lastStatus: response.status) }
                if response.status == 422, let problem = ValidationProblem.fromResponseBody(response.body) {
                    return .validation(problem)
                }
                return .httpStatus(status: response.status, body: response.body, attempts: attempts)
            }
        }
    }

    func url(for path: String) -> URL? {
        var base = configuration.baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + (path.hasPrefix("/") ? path : "/" + path))
    }
}
