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
    /// Whether an attempt can await the transport directly: it enforces the attempt timeout itself and
    /// time is real, so no timer has to race it.
    private let sendsDirectly: Bool
    /// The transport as a `LoopTransport` when it is one and sends directly: called as a concrete type,
    /// without the protocol's async witness (a frame of its own on every attempt).
    private let loopTransport: LoopTransport?
    /// Whether the clock is the system's, read then without the protocol's dispatch.
    private let usesSystemClock: Bool
    /// Whether the configuration has an `onEvent` hook.
    private let hasEventHook: Bool
    /// Sees every action of every call's machine, in order (the tests' view of what the client did).
    private let trace: (@Sendable (CallAction) -> Void)?
    /// The rules every call's ``CallMachine`` follows.
    private let callPolicy: CallPolicy
    /// One encoder and one decoder for every typed call (both are thread-safe).
    private static let encoder = JSONEncoder()
    private static let decoder = JSONDecoder()

    /// The URL of a route path, and that URL's path (what attempt reports and events name); a class, so
    /// that a call takes one reference instead of copying three.
    private final class RouteURL: Sendable {
        let routePath: String
        let url: URL
        let path: String

        init(routePath: String, url: URL, path: String) {
            self.routePath = routePath
            self.url = url
            self.path = path
        }
    }

    /// Why a call waiting at the closed gate was woken.
    private enum GateWake {
        /// The gate changed (or a trial slot was given back): ask it again.
        case changed
        /// The client shut down.
        case shutdown
        /// The calling task was cancelled.
        case cancelled
    }

    private struct State: ~Copyable {
        var budget: RetryBudget
        var gate: HealthGate
        var rng: SplitMix64
        var counters = ClientCounters()
        var nextID: UInt64 = 0
        /// Calls waiting at the closed gate, woken (all of them) whenever it may admit them.
        var gateWaiters: [UInt64: CheckedContinuation<GateWake, Never>] = [:]
        /// Counts the gate's changes: a call that was told to wait registers only if it has not changed since.
        var gateGeneration: UInt64 = 0
        var streams: [UInt64: AsyncStream<ClientEvent>.Continuation] = [:]
        /// Gate and probe events, queued in the same critical section as the gate change they report.
        var pendingGateEvents: [ClientEvent] = []
        var prober: Task<Void, Never>?
        var shutDown = false
        /// The URLs of the route paths called so far (at most `maxRouteURLs`, oldest dropped first), so
        /// that a call parses no URL. A linear search: a client calls a handful of routes.
        var routeURLs: [RouteURL] = []
        static let maxRouteURLs = 64

        func routeURL(for path: String) -> RouteURL? {
            routeURLs.first { $0.routePath == path }
        }

        mutating func remember(_ route: RouteURL) {
            guard routeURL(for: route.routePath) == nil else { return }
            if routeURLs.count >= Self.maxRouteURLs { routeURLs.removeFirst() }
            routeURLs.append(route)
        }

        /// Starts a call's machine at `now` (counts the call, and its first attempt if the machine sends it):
        /// one critical section for all of it.
        mutating func begin(_ machine: inout CallMachine, now: Duration) -> CallAction {
            counters.calls += 1
            if shutDown { return machine.stop(.shutdown, gate: &gate) }
            let action = machine.start(now: now, budget: &budget, gate: &gate)
            if case .send = action { counters.attempts += 1 }
            return action
        }

        /// Asks a call's machine for its next attempt (after a backoff sleep or a gate change); counts it.
        mutating func wake(_ machine: inout CallMachine, now: Duration) -> CallAction {
            if shutDown { return machine.stop(.shutdown, gate: &gate) }
            let action = machine.wake(now: now, gate: &gate)
            if case .send = action { counters.attempts += 1 }
            return action
        }

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }

        /// Counts a gate change and queues its event for observers. When the gate changed or a trial slot
        /// was given back (`trialReleased`) and it is not closed, every waiting call is returned to be woken:
        /// each asks the gate again (the first few get the half-open trials, the others wait on).
        mutating func gateChanged(_ transition: HealthGate.Transition?, trialReleased: Bool = false)
            -> [CheckedContinuation<GateWake, Never>]
        {
            if let transition {
                pendingGateEvents.append(.gate(transition))
                switch transition.to {
                case .closed: counters.gateClosed += 1
                case .halfOpen: counters.gateHalfOpened += 1
                case .open: counters.gateOpened += 1
                }
            } else if !trialReleased {
                return []
            }
            gateGeneration += 1
            guard gate.state != .closed, !gateWaiters.isEmpty else { return [] }
            defer { gateWaiters.removeAll() }
            return Array(gateWaiters.values)
        }
    }

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - configuration: endpoint URL and policies.
    ///   - transport: how attempts are sent; default: `LoopTransport` (the project's own HTTP/1.1
    ///     keep-alive pool) for `http://`, ``URLSessionTransport`` for `https://`.
    ///   - clock: the time source; inject one to test without waiting.
    public convenience init(
        configuration: ResilientClientConfiguration, transport: (any HTTPTransport)? = nil,
        clock: any ClientClock = SystemClientClock()
    ) {
        self.init(configuration: configuration, transport: transport, clock: clock, trace: nil)
    }

    /// Creates a client whose calls' actions are also handed to `trace`.
    init(
        configuration: ResilientClientConfiguration, transport: (any HTTPTransport)?, clock: any ClientClock,
        trace: (@Sendable (CallAction) -> Void)?
    ) {
        self.trace = trace
        self.configuration = configuration
        self.transport = transport ?? Self.defaultTransport(for: configuration.baseURL)
        self.clock = clock
        self.bodyHeaders = configuration.headers + [("Content-Type", "application/json")]
        self.usesSystemClock = clock is SystemClientClock
        self.sendsDirectly = self.transport.enforcesTimeout && usesSystemClock
        self.loopTransport = sendsDirectly ? self.transport as? LoopTransport : nil
        self.hasEventHook = configuration.onEvent != nil
        self.callPolicy = CallPolicy(
            retry: configuration.retry, attemptTimeout: configuration.attemptTimeout,
            gateWaitMode: configuration.gateWaitMode, hedging: configuration.hedging)
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
        var report: CallReport?
        return try await typedCall(route, body, deadline: deadline, wantsReport: false, report: &report)
    }

    /// Like ``call(_:_:deadline:)`` but never throws: returns the result together with the call's
    /// ``CallReport`` (every attempt, its latency, the delays slept and why).
    public func callReporting<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration? = nil
    ) async -> (result: Result<Reply, ResilientClientError>, report: CallReport) {
        var report: CallReport?
        do throws(ResilientClientError) {
            let reply = try await typedCall(route, body, deadline: deadline, wantsReport: true, report: &report)
            return (.success(reply), report ?? CallReport(method: route.spec.verb, path: route.spec.path))
        } catch {
            return (.failure(error), report ?? CallReport(method: route.spec.verb, path: route.spec.path, error: error))
        }
    }

    // The typed path throws rather than returning a `Result<Reply, …>`: it runs as unspecialized generic
    // code (called from the application's module), where each `Result<Reply, …>` costs a metadata lookup.
    private func typedCall<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration?, wantsReport: Bool, report: inout CallReport?
    ) async throws(ResilientClientError) -> Reply {
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
                let failure = ResilientClientError.invalidRequest("body is not encodable: \(error)")
                report = finishEarly(route.spec, failure)
                throw failure
            }
            do {
                value = try JSONBridge.parse(bytes)
            } catch {
                let failure = ResilientClientError.invalidRequest("encoded body is not JSON: \(error.message)")
                report = finishEarly(route.spec, failure)
                throw failure
            }
        }
        return try await execute(
            spec: route.spec, body: value, bytes: bytes, idempotent: route.idempotent, deadline: deadline,
            wantsReport: wantsReport, report: &report, decode: Self.decodeReply)
    }

    /// The reply of a typed call: through `JSONValue` when the type decodes from it, else `JSONDecoder`.
    private static func decodeReply<Reply: Decodable>(_ response: TransportResponse) throws(ResilientClientError)
        -> Reply
    {
        if let value = try? JSON.parse(response.body), let reply = try? JSONValueDecoder.decode(Reply.self, from: value) {
            return reply
        }
        do {
            return try decoder.decode(Reply.self, from: Data(response.body))
        } catch {
            throw .decoding(message: "\(error)", body: response.body)
        }
    }

    /// The reply of an untyped call.
    private static func parseReply(_ response: TransportResponse) throws(ResilientClientError) -> JSONValue {
        do {
            return try JSONBridge.parse(response.body)
        } catch {
            throw .decoding(message: error.message, body: response.body)
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
        var report: CallReport?
        return try await execute(
            spec: spec, body: body, bytes: JSONBridge.serialize(body), idempotent: idempotent, deadline: deadline,
            wantsReport: false, report: &report, decode: Self.parseReply)
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
        let deadline = readClock() + timeout
        let backoff = configuration.gate.probeBackoff
        var previous: Duration?
        var attempts = 0
        while true {
            if Task.isCancelled { throw .cancelled }
            attempts += 1
            let (outcome, error) = await ping(until: deadline)
            if Task.isCancelled { throw .cancelled }
            if outcome == .status(200) { return }
            if case .transport(let kind) = outcome, kind == .other || kind == .protocolError || kind == .shutdown {
                throw .transport(error ?? TransportError(kind), attempts: attempts)
            }
            let delay = state.withLock { backoff.delay(forRetry: attempts, previous: previous, using: &$0.rng) }
            previous = delay
            if readClock() + delay >= deadline { throw .deadlineExceeded(attempts: attempts, last: outcome) }
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
        let now = readClock()
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

    /// Stops the health prober and ends every event stream. From then on every call fails at once with
    /// ``ResilientClientError/shutdown``, and so do calls waiting at the closed gate and calls due to retry;
    /// an attempt already in flight ends as the transport answers it.
    public func shutdown() {
        let (streams, waiters) = state.withLock { state in
            state.shutDown = true
            state.prober?.cancel()
            state.prober = nil
            let streams = Array(state.streams.values)
            streamCount.subtract(state.streams.count, ordering: .relaxed)
            state.streams.removeAll()
            defer { state.gateWaiters.removeAll() }
            return (streams, Array(state.gateWaiters.values))
        }
        for continuation in streams { continuation.finish() }
        for waiter in waiters { waiter.resume(returning: .shutdown) }
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

    /// One call in progress: what its attempt loop keeps between awaits. The loop itself only awaits;
    /// every locked section and closure runs in the synchronous methods it calls, because an async
    /// function allocates a closure's context (and a `withLock` body's) on the task allocator, which
    /// costs more than the locked work itself.
    private struct CallInProgress {
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
    private enum Concluded {
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
        wantsReport: Bool = true, report: inout CallReport?,
        decode: (TransportResponse) throws(ResilientClientError) -> Reply
    ) async throws(ResilientClientError) -> Reply {
        var call: CallInProgress
        do throws(ResilientClientError) {
            call = try begin(
                spec: spec, body: body, bytes: bytes, idempotent: idempotent, deadline: deadline,
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
    private func runAttempts(_ call: inout CallInProgress) async throws(ResilientClientError) -> TransportResponse {
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
                if let loopTransport {
                    do throws(TransportError) {
                        sent = .success(try await loopTransport.send(call.request, timeout: attempt.timeout))
                    } catch {
                        sent = .failure(error)
                    }
                } else {
                    sent = await send(call.request, timeout: attempt.timeout, until: attempt.timeout.map { now + $0 })
                }
                switch conclude(&call, sent: sent, started: now, attempt: attempt) {
                case .succeeded(let response): return response
                case .failed(let error): throw error
                case .next(let next): action = next
                }
            case .retry(let delay, _):
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
    /// task. Throws when the call ends before it starts (the caller reports it).
    @inline(never)
    private func begin(
        spec: RouteSpec, body: JSONValue?, bytes: consuming [UInt8], idempotent: Bool, deadline: Duration?, wantsReport: Bool
    ) throws(ResilientClientError) -> CallInProgress {
        if let body, let problem = JSONBridge.validate(body, template: spec.body) { throw .validation(problem) }
        if Task.isCancelled { throw .cancelled }
        let start = readClock()
        var machine = CallMachine(
            policy: callPolicy, idempotent: idempotent, deadline: (deadline ?? configuration.deadline).map { start + $0 })
        let path = spec.path
        let known = state.withLock { state -> (RouteURL, CallAction, UInt64)? in
            guard let route = state.routeURL(for: path) else { return nil }
            return (route, state.begin(&machine, now: start), state.gateGeneration)
        }
        let route: RouteURL
        let action: CallAction
        let generation: UInt64
        if let known {
            (route, action, generation) = known
        } else {
            // The first call of this path: parse its URL once.
            guard let url = url(for: path) else {
                throw .invalidRequest("cannot form a URL from \(configuration.baseURL) and \(path)")
            }
            route = RouteURL(routePath: path, url: url, path: url.path)
            (action, generation) = state.withLock { state in
                state.remember(route)
                return (state.begin(&machine, now: start), state.gateGeneration)
            }
        }
        // A GET carries no body (nor a Content-Type for one).
        let isGet = spec.verb == "GET"
        let request = TransportRequest(
            method: spec.verb, url: route.url, headers: isGet ? configuration.headers : bodyHeaders,
            body: isGet ? [] : bytes)
        return CallInProgress(
            request: request, route: route, start: start, machine: machine, firstAction: action,
            gateGeneration: generation, keepAttempts: wantsReport || hasListeners)
    }

    /// The machine's next step after a backoff sleep or a gate change, or `.cancelled` for a cancelled task.
    @inline(never)
    private func wake(_ call: inout CallInProgress, now: Duration) -> CallAction {
        if Task.isCancelled { return stop(&call, .cancelled) }
        return state.withLock { state in
            let action = state.wake(&call.machine, now: now)
            call.gateGeneration = state.gateGeneration
            return action
        }
    }

    /// Ends the call from outside (cancelled, shut down); a trial slot it held is given back to the gate.
    @inline(never)
    private func stop(_ call: inout CallInProgress, _ end: CallEnd) -> CallAction {
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
    private func ended(_ call: inout CallInProgress, _ end: CallEnd) -> ResilientClientError {
        let attempts = call.machine.attempts
        let last = call.machine.lastOutcome
        switch end {
        case .gateClosed:
            state.withLock { $0.counters.gateRejections += 1 }
            emit(.gateRejected(path: call.path))
            return .gateClosed
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
    private func conclude(
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
        case .send, .waitForGate, .finish, .awaitAttempts:
            call.keep(record)
            return .next(step.action)
        }
    }

    // MARK: - Hedging

    /// What one task of a hedged call reports.
    private enum HedgeEvent: Sendable {
        /// An attempt ended.
        case ended(CallAttempt, Result<TransportResponse, TransportError>, started: Duration)
        /// The hedge timer of the given generation fired.
        case hedgeDue(generation: Int)
        /// A timer was cancelled (the call ended first).
        case timerCancelled
    }

    /// A hedged call (``HedgingPolicy``): its attempts run as child tasks, with a timer for the next hedge,
    /// until the machine finishes the call; the losers are then cancelled with the group.
    private func runHedged(
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
                case .retry, .waitForGate:
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
    private func hedgeEnded(
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

    /// Tells observers about a gate change, then wakes the waiting calls (each asks the gate again), and
    /// starts the prober if the gate closed.
    private func announce(_ transition: HealthGate.Transition, waking wakes: [CheckedContinuation<GateWake, Never>]) {
        deliverGateEvents()
        for waiter in wakes { waiter.resume(returning: .changed) }
        if transition.to == .closed { startProberIfNeeded() }
    }

    /// Completes the call's report, counts a failure (a success was counted with its decision) and
    /// tells observers.
    ///
    /// - Parameter undecodable: the last attempt succeeded but its reply did not decode (`failure` says
    ///   how): the call had been counted as a success with that attempt, and is now a failure.
    @inline(never)
    private func finish(
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

    private func error(
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

    /// Sends `request` through the transport: awaited directly when it enforces the timeout itself
    /// (`sendsDirectly`), else raced against a timer that fires at `deadline` on the injected clock.
    private func send(
        _ request: TransportRequest, timeout: Duration?, until deadline: Duration?
    ) async -> Result<TransportResponse, TransportError> {
        let transport = self.transport
        if sendsDirectly {
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
        let now = readClock()
        var limit = configuration.attemptTimeout.map { now + $0 }
        if let deadline { limit = min(limit ?? deadline, deadline) }
        let request = TransportRequest(method: "GET", url: url, headers: configuration.headers)
        switch await send(request, timeout: limit.map { $0 - now }, until: limit) {
        case .success(let response): return (.status(response.status), nil)
        case .failure(let error): return (.transport(error.kind), error)
        }
    }

    // MARK: - The health gate

    /// Waits at the closed gate until the call's machine sends an attempt or ends the call (at its deadline,
    /// on cancellation, on shutdown). Starts the prober if none runs.
    private func waitAtGate(_ call: inout CallInProgress, deadline: Duration?) async -> CallAction {
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
    private func gateChange(after generation: UInt64) async -> GateWake {
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

    /// Starts the single prober while the gate is closed. The prober's task holds the client weakly (a
    /// client dropped while its gate is closed is not kept alive by it); `deinit` and `shutdown()` cancel it.
    private func startProberIfNeeded() {
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

    private func nextProbeDelay() -> Duration {
        state.withLock { $0.gate.nextProbeDelay(using: &$0.rng) }
    }

    /// One `GET /ping` of the prober, reported to the gate; `true` when it moved the gate out of closed (the
    /// prober's work is done).
    private func probe() async -> Bool {
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

    /// Whether anyone observes events: an `onEvent` hook or an open stream.
    private var hasListeners: Bool {
        hasEventHook || streamCount.load(ordering: .relaxed) > 0
    }

    /// The monotonic time.
    @inline(__always)
    private func readClock() -> Duration {
        usesSystemClock ? SystemClientClock.monotonicNow() : clock.now
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
