import EndpointSpec
import Foundation
import Synchronization

/// A client for one inference endpoint that makes transient overload invisible to its caller.
///
/// - **Retries** 503 (and, for idempotent routes, timeouts, resets, 502 and 504) with jittered
///   exponential backoff, honouring `Retry-After` up to the backoff cap (``RetryPolicy``).
/// - **Never multiplies load**: a per-client ``RetryBudget`` lets retries add at most a fixed share of
///   extra traffic; when it is empty the call fails fast with ``ResilientClientError/budgetExhausted(attempts:last:)``.
/// - **Holds traffic** while the endpoint is unhealthy: after a run of failures the ``HealthGate``
///   closes, calls wait (or fail fast), one prober polls `GET /ping`, and a few trial calls go first
///   when it answers.
/// - **Deadlines**: one deadline per call across attempts, sleeps and gate waits, a timeout per attempt,
///   and task cancellation honoured at once, also during a backoff sleep.
/// - **Typed routes** validated on the client with the server's own template validator.
///
/// ```swift
/// let client = ResilientClient(configuration: .init(baseURL: URL(string: "http://127.0.0.1:8080")!))
/// try await client.waitUntilHealthy(timeout: .seconds(30))
/// let predict = Route<PredictBody, Prediction>(path: "/predict", body: [BodyParam(name: "filename", type: .str)])
/// let reply = try await client.call(predict, PredictBody(filename: "cat.jpg"))
/// print(client.counters)
/// ```
///
/// All decisions are made by the pure values in this module (``RetryPlanner``, ``RetryBudget``,
/// ``HealthGate``); this class only sends, sleeps and waits.
public final class ResilientClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: ResilientClientConfiguration
    private let transport: any HTTPTransport
    private let clock: any ClientClock
    private let state: Mutex<State>
    /// Held while queued gate events are delivered, so that they reach observers one at a time, in order.
    private let gateEventDelivery = Mutex<Void>(())
    /// Open event streams, readable without the state lock: with no `onEvent` and no stream, events
    /// are not even built.
    private let streamCount = Atomic<Int>(0)
    /// The configuration's headers plus `Content-Type: application/json`, for requests with a body.
    private let bodyHeaders: [(name: String, value: String)]
    /// The URL (and its path) of each route path called so far, so that a call parses no URL.
    private let routeURLs = Mutex<[String: RouteURL]>([:])
    /// One encoder and one decoder for every typed call (both are thread-safe).
    private static let encoder = JSONEncoder()
    private static let decoder = JSONDecoder()

    private struct RouteURL: Sendable {
        var url: URL
        var path: String
    }

    private struct State: ~Copyable {
        var budget: RetryBudget
        var gate: HealthGate
        var rng: SplitMix64
        var counters = ClientCounters()
        var nextID: UInt64 = 0
        var gateWaiters: [UInt64: CheckedContinuation<HealthGate.Admission?, Never>] = [:]
        var streams: [UInt64: AsyncStream<ClientEvent>.Continuation] = [:]
        /// Gate and probe events, queued in the same critical section as the gate change they report.
        var pendingGateEvents: [ClientEvent] = []
        var prober: Task<Void, Never>?
        var shutDown = false

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }

        /// Counts a transition and, if the gate let traffic through again, admits waiting calls.
        mutating func apply(_ transition: HealthGate.Transition)
            -> [(CheckedContinuation<HealthGate.Admission?, Never>, HealthGate.Admission)]
        {
            switch transition.to {
            case .closed: counters.gateClosed += 1
            case .halfOpen: counters.gateHalfOpened += 1
            case .open: counters.gateOpened += 1
            }
            guard transition.to != .closed else { return [] }
            var admitted: [(CheckedContinuation<HealthGate.Admission?, Never>, HealthGate.Admission)] = []
            for id in gateWaiters.keys.sorted() {
                let admission = gate.admit()
                guard case .proceed = admission, let waiter = gateWaiters.removeValue(forKey: id) else { break }
                admitted.append((waiter, admission))
            }
            return admitted
        }
    }

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - configuration: endpoint URL and policies.
    ///   - transport: how attempts are sent; default: `LoopTransport` (the project's own HTTP/1.1
    ///     keep-alive pool) for `http://`, ``URLSessionTransport`` for `https://`.
    ///   - clock: the time source; inject one to test without waiting.
    public init(
        configuration: ResilientClientConfiguration, transport: (any HTTPTransport)? = nil,
        clock: any ClientClock = SystemClientClock()
    ) {
        self.configuration = configuration
        self.transport = transport ?? Self.defaultTransport(for: configuration.baseURL)
        self.clock = clock
        self.bodyHeaders = configuration.headers + [("Content-Type", "application/json")]
        var seeder = SystemRandomNumberGenerator()
        self.state = Mutex(State(
            budget: RetryBudget(configuration.budget), gate: HealthGate(configuration.gate),
            rng: SplitMix64(seed: configuration.randomSeed ?? seeder.next())))
    }

    deinit {
        state.withLock { state in
            state.prober?.cancel()
            for continuation in state.streams.values { continuation.finish() }
        }
    }

    static func defaultTransport(for url: URL) -> any HTTPTransport {
        if url.scheme?.lowercased() == "http", let shared = LoopTransport.shared { return shared }
        return URLSessionTransport()
    }

    // MARK: - Public API

    /// Calls a typed route: validates `body` against the route's template, sends it with retries, and
    /// decodes the reply.
    ///
    /// ```swift
    /// let reply = try await client.call(predict, PredictBody(filename: "cat.jpg"), deadline: .seconds(5))
    /// ```
    ///
    /// - Parameters:
    ///   - route: the route.
    ///   - body: the request body; encoded with `JSONEncoder`.
    ///   - deadline: the overall deadline of this call; `nil` uses the configuration's.
    /// - Throws: ``ResilientClientError``; `.validation` without any network traffic if the body does
    ///   not match the template.
    public func call<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration? = nil
    ) async throws(ResilientClientError) -> Reply {
        try await typedCall(route, body, deadline: deadline, wantsReport: false).result.get()
    }

    /// Like ``call(_:_:deadline:)`` but never throws: returns the result together with the call's
    /// ``CallReport`` (every attempt, its latency, the delays slept and why).
    public func callReporting<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration? = nil
    ) async -> (result: Result<Reply, ResilientClientError>, report: CallReport) {
        await typedCall(route, body, deadline: deadline, wantsReport: true)
    }

    private func typedCall<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration?, wantsReport: Bool
    ) async -> (result: Result<Reply, ResilientClientError>, report: CallReport) {
        let bytes: [UInt8]
        let value: JSONValue
        if let fast = try? JSONValueEncoder.encode(body) {
            // What JSONEncoder would write (keys in encoding order), without a JSONEncoder and a parse.
            value = fast
            bytes = JSON.serialize(fast)
        } else {
            do {
                bytes = Array(try Self.encoder.encode(body))
            } catch {
                let report = finishEarly(route.spec, .invalidRequest("body is not encodable: \(error)"))
                return (.failure(.invalidRequest("body is not encodable: \(error)")), report)
            }
            do {
                value = try JSONBridge.parse(bytes)
            } catch {
                let failure = ResilientClientError.invalidRequest("encoded body is not JSON: \(error.message)")
                return (.failure(failure), finishEarly(route.spec, failure))
            }
        }
        let (result, report) = await execute(
            spec: route.spec, body: value, bytes: bytes, idempotent: route.idempotent, deadline: deadline,
            wantsReport: wantsReport)
        switch result {
        case .failure(let error): return (.failure(error), report)
        case .success(let response):
            do {
                if let value = try? JSON.parse(response.body),
                    let reply = try? JSONValueDecoder.decode(Reply.self, from: value)
                {
                    return (.success(reply), report)
                }
                return (.success(try Self.decoder.decode(Reply.self, from: Data(response.body))), report)
            } catch {
                var failed = report
                failed.error = .decoding(message: "\(error)", body: response.body)
                return (.failure(.decoding(message: "\(error)", body: response.body)), failed)
            }
        }
    }

    /// Calls a route with an untyped JSON body and returns the reply as JSON.
    ///
    /// ```swift
    /// let reply = try await client.callJSON(spec, .object(JSONObject([.init(key: "filename", value: .string("cat.jpg"))])))
    /// ```
    public func callJSON(
        _ spec: RouteSpec, _ body: JSONValue, idempotent: Bool = true, deadline: Duration? = nil
    ) async throws(ResilientClientError) -> JSONValue {
        let (result, _) = await execute(
            spec: spec, body: body, bytes: JSONBridge.serialize(body), idempotent: idempotent, deadline: deadline,
            wantsReport: false)
        let response = try result.get()
        do {
            return try JSONBridge.parse(response.body)
        } catch {
            throw .decoding(message: error.message, body: response.body)
        }
    }

    /// Polls `GET /ping` with backoff until it answers 200.
    ///
    /// Any other answer — refused connections, 404, 502, 503, timeouts — means "not up yet". Useful
    /// right after starting an endpoint.
    ///
    /// ```swift
    /// try await client.waitUntilHealthy(timeout: .seconds(60))
    /// ```
    ///
    /// - Throws: `.deadlineExceeded` (with the last outcome) when `timeout` passes, `.cancelled`, or
    ///   `.transport` for a failure that polling cannot fix (bad URL, protocol error).
    public func waitUntilHealthy(timeout: Duration) async throws(ResilientClientError) {
        let deadline = clock.now + timeout
        let backoff = configuration.gate.probeBackoff
        var previous: Duration?
        var attempts = 0
        while true {
            if Task.isCancelled { throw .cancelled }
            attempts += 1
            let (outcome, error) = await ping(until: deadline)
            if Task.isCancelled { throw .cancelled }
            if outcome == .status(200) { return }
            if case .transport(let kind) = outcome, kind == .other || kind == .protocolError {
                throw .transport(error ?? TransportError(kind), attempts: attempts)
            }
            let delay = state.withLock { backoff.delay(forRetry: attempts, previous: previous, using: &$0.rng) }
            previous = delay
            if clock.now + delay >= deadline { throw .deadlineExceeded(attempts: attempts, last: outcome) }
            do {
                try await clock.sleep(for: delay)
            } catch {
                throw .cancelled
            }
        }
    }

    /// A snapshot of the client's counters.
    public var counters: ClientCounters { state.withLock { $0.counters } }

    /// The health gate's current state.
    public var gateState: HealthGate.State { state.withLock { $0.gate.state } }

    /// Retries the budget would allow now.
    public var availableRetries: Int {
        let now = clock.now
        return state.withLock { $0.budget.available(now: now) }
    }

    /// A stream of every ``ClientEvent`` from now on. Several streams may be open; each keeps at most
    /// `bufferingNewest` unread events (older ones are dropped). The stream ends when the client is
    /// shut down or deallocated.
    ///
    /// ```swift
    /// Task { for await event in client.events() { print(event) } }
    /// ```
    public func events(bufferingNewest: Int = 1024) -> AsyncStream<ClientEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ClientEvent.self, bufferingPolicy: .bufferingNewest(max(1, bufferingNewest)))
        let id = state.withLock { state -> UInt64? in
            guard !state.shutDown else { return nil }
            let id = state.makeID()
            state.streams[id] = continuation
            streamCount.add(1, ordering: .relaxed)
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            let removed = self.state.withLock { $0.streams.removeValue(forKey: id) }
            if removed != nil { self.streamCount.subtract(1, ordering: .relaxed) }
        }
        return stream
    }

    /// Stops the health prober and ends every event stream. Calls in flight continue; a call waiting
    /// for the gate waits until its deadline.
    public func shutdown() {
        let streams = state.withLock { state in
            state.shutDown = true
            state.prober?.cancel()
            state.prober = nil
            let streams = Array(state.streams.values)
            streamCount.subtract(state.streams.count, ordering: .relaxed)
            state.streams.removeAll()
            return streams
        }
        for continuation in streams { continuation.finish() }
    }

    // MARK: - The call loop

    private func finishEarly(_ spec: RouteSpec, _ error: ResilientClientError) -> CallReport {
        let report = CallReport(method: spec.verb, path: spec.path, error: error)
        state.withLock { state in
            state.counters.calls += 1
            state.counters.failed += 1
            if case .validation = error { state.counters.validationFailures += 1 }
        }
        emit(.callFinished(report))
        return report
    }

    func execute(
        spec: RouteSpec, body: JSONValue?, bytes: [UInt8], idempotent: Bool, deadline: Duration?,
        wantsReport: Bool = true
    ) async -> (Result<TransportResponse, ResilientClientError>, CallReport) {
        if let body, let problem = JSONBridge.validate(body, template: spec.body) {
            return (.failure(.validation(problem)), finishEarly(spec, .validation(problem)))
        }
        guard let route = routeURL(for: spec.path) else {
            let error = ResilientClientError.invalidRequest("cannot form a URL from \(configuration.baseURL) and \(spec.path)")
            return (.failure(error), finishEarly(spec, error))
        }
        let headers = spec.verb != "GET" ? bodyHeaders : configuration.headers
        let request = TransportRequest(method: spec.verb, url: route.url, headers: headers, body: bytes)
        let start = clock.now
        let deadlineAt = (deadline ?? configuration.deadline).map { start + $0 }
        state.withLock { state in
            state.counters.calls += 1
            state.budget.deposit(now: start)
        }
        var report = CallReport(method: spec.verb, path: spec.path)
        // The attempt records are kept only for someone who reads them: the caller, or an observer of
        // `callFinished` (one that starts listening during the call sees a report without attempts).
        let keepAttempts = wantsReport || configuration.onEvent != nil || streamCount.load(ordering: .relaxed) > 0
        let result = await attemptLoop(
            request: request, path: route.path, idempotent: idempotent, start: start, deadlineAt: deadlineAt,
            keepAttempts: keepAttempts, report: &report)
        report.duration = clock.now - start
        // A success was counted with the attempt's decision.
        if case .failure(let error) = result {
            report.error = error
            state.withLock { state in
                state.counters.failed += 1
                if case .deadlineExceeded = error { state.counters.deadlinesExceeded += 1 }
            }
        }
        emit(.callFinished(report))
        return (result, report)
    }

    private func attemptLoop(
        request: TransportRequest, path: String, idempotent: Bool, start: Duration, deadlineAt: Duration?,
        keepAttempts: Bool, report: inout CallReport
    ) async -> Result<TransportResponse, ResilientClientError> {
        var lastOutcome: AttemptOutcome?
        func keep(_ record: AttemptRecord) {
            lastOutcome = record.outcome
            if keepAttempts { report.attempts.append(record) }
        }
        // The first attempt starts when the call does; later ones read the clock.
        var attemptStart: Duration? = start
        var planner = RetryPlanner(policy: configuration.retry, idempotent: idempotent, deadline: deadlineAt)
        while true {
            if Task.isCancelled { return .failure(.cancelled) }
            // 1. The health gate (no clock reads when it admits at once).
            let trial: Bool
            let now: Duration
            let admission = state.withLock { $0.gate.admit() }
            if case .proceed(let isTrial) = admission {
                trial = isTrial
                now = attemptStart ?? clock.now
            } else {
                let gateStart = clock.now
                switch await passGate(path: path, deadlineAt: deadlineAt, first: admission) {
                case .proceed(let isTrial): trial = isTrial
                case .failFast: return .failure(.gateClosed)
                case .deadline:
                    report.gateWait += clock.now - gateStart
                    return .failure(.deadlineExceeded(attempts: planner.attempts, last: lastOutcome))
                case .cancelled: return .failure(.cancelled)
                }
                now = clock.now
                report.gateWait += now - gateStart
            }
            attemptStart = nil

            // 2. One attempt, bounded by its timeout and the deadline.
            let timeout = planner.attemptTimeout(perAttempt: configuration.attemptTimeout, now: now)
            if let timeout, timeout <= .zero {
                releaseTrial(trial)
                return .failure(.deadlineExceeded(attempts: planner.attempts, last: lastOutcome))
            }
            planner.recordAttempt()
            state.withLock { $0.counters.attempts += 1 }
            let sent = await send(request, timeout: timeout, until: timeout.map { now + $0 })
            let finished = clock.now
            if Task.isCancelled {
                releaseTrial(trial)
                keep(AttemptRecord(
                    number: planner.attempts, outcome: .transport(.cancelled), message: "cancelled",
                    latency: finished - now, trial: trial))
                return .failure(.cancelled)
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
                number: planner.attempts, outcome: outcome, message: message, latency: finished - now, trial: trial)
            emit(.attempt(path: path, record))

            // 3. Tell the gate, then decide.
            let retryAfter: RetryAfter?
            // A 2xx is always a success (RetryClassifier), so its headers are not searched.
            if case .success(let response) = sent, !(200..<300).contains(response.status),
                let value = response.header("Retry-After")
            {
                retryAfter = RetryAfter(headerValue: value, nowSecondsSince1970: clock.wallClockSecondsSince1970)
            } else {
                retryAfter = nil
            }
            // The gate learns the outcome and the planner decides in one critical section.
            let wall = retryAfter == nil ? 0 : clock.wallClockSecondsSince1970
            let cancelled = outcome == .transport(.cancelled)
            let signal: HealthGate.Signal =
                configuration.retry.classifier.isEndpointFailure(outcome) ? .failure : .success
            let (transition, wakes, decision) = state.withLock { state in
                var transition: HealthGate.Transition?
                var wakes: [(CheckedContinuation<HealthGate.Admission?, Never>, HealthGate.Admission)] = []
                if !cancelled {
                    transition = state.gate.record(signal, trial: trial)
                    if let transition {
                        state.pendingGateEvents.append(.gate(transition))
                        wakes = state.apply(transition)
                    }
                }
                let decision = planner.decide(
                    after: outcome, retryAfter: retryAfter, now: finished, wallClockSeconds: wall,
                    budget: &state.budget, using: &state.rng)
                if case .succeed = decision, case .success = sent { state.counters.succeeded += 1 }
                return (transition, wakes, decision)
            }
            if cancelled {
                releaseTrial(trial)
            } else if let transition {
                deliverGateEvents()
                for (waiter, admission) in wakes { waiter.resume(returning: admission) }
                if transition.to == .closed { startProberIfNeeded() }
            }
            switch decision {
            case .succeed:
                keep(record)
                if case .success(let response) = sent { return .success(response) }
                return .failure(.invalidRequest("unreachable: success without a response"))
            case .giveUp(let reason):
                keep(record)
                if reason == .budgetExhausted {
                    state.withLock { $0.counters.budgetRefusals += 1 }
                    emit(.budgetRefused(path: path, attempts: planner.attempts))
                }
                return .failure(failure(reason, outcome: outcome, sent: sent, attempts: planner.attempts))
            case .retry(let delay, let reason):
                record.delayAfter = delay
                record.delayReason = reason
                keep(record)
                state.withLock { $0.counters.retries += 1 }
                emit(.retryScheduled(path: path, nextAttempt: planner.attempts + 1, delay: delay, reason: reason))
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    return .failure(.cancelled)
                }
            }
        }
    }

    private func failure(
        _ reason: GiveUpReason, outcome: AttemptOutcome, sent: Result<TransportResponse, TransportError>, attempts: Int
    ) -> ResilientClientError {
        switch reason {
        case .deadlineExceeded: return .deadlineExceeded(attempts: attempts, last: outcome)
        case .budgetExhausted: return .budgetExhausted(attempts: attempts, last: outcome)
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

    /// The URL for a route path, parsed once per path (at most 256 paths are remembered).
    private func routeURL(for path: String) -> RouteURL? {
        if let known = routeURLs.withLock({ $0[path] }) { return known }
        guard let url = url(for: path) else { return nil }
        let route = RouteURL(url: url, path: url.path)
        routeURLs.withLock { cache in
            if cache.count >= 256 { cache.removeAll() }
            cache[path] = route
        }
        return route
    }

    private func url(for path: String) -> URL? {
        var base = configuration.baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + (path.hasPrefix("/") ? path : "/" + path))
    }

    // MARK: - Sending with a timer

    private enum Raced<T: Sendable>: Sendable {
        case value(T)
        case timedOut
    }

    /// Runs `operation` against a timer that fires at `deadline` (on the injected clock). The loser is
    /// cancelled; a value that arrives after the timer won is handed to `late`.
    private func race<T: Sendable>(
        until deadline: Duration?, _ operation: @escaping @Sendable () async -> T,
        late: @escaping @Sendable (T) -> Void = { _ in }
    ) async -> Raced<T> {
        guard let deadline else { return .value(await operation()) }
        let clock = self.clock
        return await withTaskGroup(of: Raced<T>?.self) { group in
            group.addTask { .value(await operation()) }
            group.addTask {
                do {
                    try await clock.sleep(until: deadline)
                    return .timedOut
                } catch {
                    return nil
                }
            }
            var winner: Raced<T>?
            while let next = await group.next() {
                guard let next else { continue }
                if winner == nil {
                    winner = next
                    group.cancelAll()
                } else if case .value(let value) = next {
                    late(value)
                }
            }
            return winner ?? .timedOut
        }
    }

    private func send(
        _ request: TransportRequest, timeout: Duration?, until deadline: Duration?
    ) async -> Result<TransportResponse, TransportError> {
        let transport = self.transport
        if transport.enforcesTimeout && clock is SystemClientClock {
            do throws(TransportError) {
                return .success(try await transport.send(request, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
        let raced = await race(until: deadline) { () async -> Result<TransportResponse, TransportError> in
            do throws(TransportError) {
                return .success(try await transport.send(request, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
        switch raced {
        case .value(let result): return result
        case .timedOut:
            return .failure(TransportError(.responseTimeout, "no response within \(timeout ?? .zero)"))
        }
    }

    /// One `GET /ping`, bounded by the attempt timeout and `deadline`.
    private func ping(until deadline: Duration?) async -> (AttemptOutcome, TransportError?) {
        guard let url = url(for: configuration.pingPath) else {
            return (.transport(.other), TransportError(.other, "bad ping URL"))
        }
        let now = clock.now
        var limit = configuration.attemptTimeout.map { now + $0 }
        if let deadline { limit = min(limit ?? deadline, deadline) }
        let request = TransportRequest(method: "GET", url: url, headers: configuration.headers)
        switch await send(request, timeout: limit.map { $0 - now }, until: limit) {
        case .success(let response): return (.status(response.status), nil)
        case .failure(let error): return (.transport(error.kind), error)
        }
    }

    // MARK: - The health gate

    private enum GatePass {
        case proceed(trial: Bool)
        case failFast
        case deadline
        case cancelled
    }

    /// `first`: the gate's answer when the attempt asked it.
    private func passGate(path: String, deadlineAt: Duration?, first: HealthGate.Admission) async -> GatePass {
        if case .proceed(let trial) = first { return .proceed(trial: trial) }
        if configuration.gateWaitMode == .failFast {
            state.withLock { $0.counters.gateRejections += 1 }
            emit(.gateRejected(path: path))
            return .failFast
        }
        startProberIfNeeded()
        while true {
            if Task.isCancelled { return .cancelled }
            let raced = await race(until: deadlineAt, { await self.waitForGate() }, late: { [weak self] admission in
                if admission == .proceed(trial: true) { self?.releaseTrial(true) }
            })
            switch raced {
            case .timedOut: return .deadline
            case .value(nil): return .cancelled
            case .value(.proceed(let trial)?): return .proceed(trial: trial)
            case .value(.wait?): continue
            }
        }
    }

    /// Suspends until the gate admits this call; `nil` if the task is cancelled.
    private func waitForGate() async -> HealthGate.Admission? {
        let id = state.withLock { $0.makeID() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<HealthGate.Admission?, Never>) in
                let immediate = state.withLock { state -> HealthGate.Admission?? in
                    if Task.isCancelled { return .some(nil) }
                    let admission = state.gate.admit()
                    if case .proceed = admission { return .some(admission) }
                    state.gateWaiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.gateWaiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }

    private func releaseTrial(_ trial: Bool) {
        guard trial else { return }
        let wakes = state.withLock { state in
            state.gate.releaseTrial()
            var wakes: [(CheckedContinuation<HealthGate.Admission?, Never>, HealthGate.Admission)] = []
            if let id = state.gateWaiters.keys.min(), case .proceed = state.gate.admit() {
                if let waiter = state.gateWaiters.removeValue(forKey: id) {
                    wakes.append((waiter, .proceed(trial: true)))
                }
            }
            return wakes
        }
        for (waiter, admission) in wakes { waiter.resume(returning: admission) }
    }

    private func startProberIfNeeded() {
        state.withLock { state in
            guard !state.shutDown, state.gate.beginProbing() else { return }
            state.prober = Task { [weak self] in
                await self?.probeUntilHealthy()
            }
        }
    }

    private func probeUntilHealthy() async {
        defer { state.withLock { $0.gate.endProbing() } }
        while !Task.isCancelled {
            let delay = state.withLock { $0.gate.nextProbeDelay(using: &$0.rng) }
            do {
                try await clock.sleep(for: delay)
            } catch {
                return
            }
            // A probe is bounded by the attempt timeout, or 10 s when there is none.
            let bound = configuration.attemptTimeout == nil ? clock.now + .seconds(10) : nil
            let (outcome, _) = await ping(until: bound)
            if Task.isCancelled { return }
            let healthy = outcome == .status(200)
            let (wakes, stillClosed) = state.withLock { state in
                state.counters.probes += 1
                let transition = state.gate.recordProbe(healthy: healthy)
                state.pendingGateEvents.append(.probe(healthy: healthy, outcome: outcome))
                if let transition { state.pendingGateEvents.append(.gate(transition)) }
                return (transition.map { state.apply($0) } ?? [], state.gate.state == .closed)
            }
            deliverGateEvents()
            for (waiter, admission) in wakes { waiter.resume(returning: admission) }
            if !stillClosed { return }
        }
    }

    // MARK: - Events

    /// Delivers the queued gate and probe events in the order the gate changed. Gate changes happen on
    /// different tasks (the prober, the calls) and a woken call may change the gate again at once, so
    /// delivering each change from its own task could reorder them (`halfOpen → open` before
    /// `closed → halfOpen`). Every caller returns only after its own events were delivered, by itself or by
    /// the caller that held the delivery lock before it, and delivers before waking the waiters it admitted.
    private func deliverGateEvents() {
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

    private func emit(_ make: @autoclosure () -> ClientEvent) {
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
