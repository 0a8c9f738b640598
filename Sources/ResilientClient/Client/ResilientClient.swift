import EndpointSpec
import Foundation
import Synchronization

/// A client for one inference endpoint that makes transient overload invisible to its caller.
///
/// - **Retries** 503 (and, for idempotent routes, timeouts, resets, 502 and 504) with jittered
///   exponential backoff, honouring `Retry-After` as sent, up to the call's deadline (``RetryPolicy``).
/// - **Never multiplies load**: a per-client ``RetryBudget`` lets retries add at most a fixed share of
///   extra traffic; when it is empty the call fails fast with ``ResilientClientError/budgetExhausted(attempts:last:)``.
/// - **Holds traffic** while the endpoint is unhealthy: after a run of failures the ``HealthGate``
///   closes, calls wait (or fail fast), one prober polls `GET /ping`, and a few trial calls go first
///   when it answers.
/// - **Deadlines**: one deadline per call across attempts, sleeps and gate waits, a timeout per attempt,
///   and task cancellation honoured at once, also during a backoff sleep.
/// - **Typed routes** validated on the client with the server's own template validator.
/// - **Per-call options** (``CallOptions``): headers, a deadline and a retry policy for one call or one route.
/// - **Adaptive rate limiting** (off by default, ``ResilientClientConfiguration/adaptiveRateLimit``): after
///   a 503 or 429, sends wait for tokens of an ``AdaptiveRateLimiter`` shared by the client's calls.
///
/// ```swift
/// let client = ResilientClient(configuration: .init(baseURL: URL(string: "http://127.0.0.1:8080")!))
/// try await client.waitUntilHealthy(timeout: .seconds(30))
/// let predict = Route<PredictBody, Prediction>(path: "/predict", body: [BodyParam(name: "filename", type: .str)])
/// let reply = try await client.call(predict, PredictBody(filename: "cat.jpg"))
/// print(client.counters)
/// ```
///
/// All decisions are made by the pure values in this module: each call's life by a ``CallMachine`` (which
/// loadgen's engine drives too), with ``RetryPlanner``, ``RetryBudget`` and ``HealthGate``; this class only
/// sends, sleeps and waits. Its parts: the call loop (`ResilientClient+Calls.swift`), hedged calls
/// (`+Hedging`), waiting at the gate and the prober (`+Gate`), sending with a timer (`+Sending`) and events
/// (`+Events`).
public final class ResilientClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: ResilientClientConfiguration
    let transport: any HTTPTransport
    #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
    /// A `LoopTransport` the client built for itself (on the shared transport's event loop, with the
    /// configuration's response limit), whose connections it closes when it is released.
    let ownedTransport: LoopTransport?
    #endif
    let clock: any ClientClock
    let state: Mutex<State>
    /// Held while queued gate events are delivered, so that they reach observers one at a time, in order.
    let gateEventDelivery = Mutex<Void>(())
    /// Open event streams, readable without the state lock: with no `onEvent` and no stream, events
    /// are not even built.
    let streamCount = Atomic<Int>(0)
    /// The configuration's headers plus `Content-Type: application/json`, for requests with a body.
    let bodyHeaders: [(name: String, value: String)]
    /// Whether an attempt can await the transport directly: it enforces the attempt timeout itself and
    /// time is real, so no timer has to race it.
    let sendsDirectly: Bool
    #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
    /// The transport as a `LoopTransport` when it is one and sends directly: called as a concrete type,
    /// without the protocol's async witness (a frame of its own on every attempt).
    let loopTransport: LoopTransport?
    #endif
    /// Whether the clock is the system's, read then without the protocol's dispatch.
    let usesSystemClock: Bool
    /// Whether the configuration has an `onEvent` hook.
    let hasEventHook: Bool
    /// Sees every action of every call's machine, in order (the tests' view of what the client did).
    let trace: (@Sendable (CallAction) -> Void)?
    /// The rules every call's ``CallMachine`` follows.
    let callPolicy: CallPolicy
    /// One encoder and one decoder for every typed call (both are thread-safe).
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    /// The URL of a route path, and that URL's path (what attempt reports and events name); a class, so
    /// that a call takes one reference instead of copying three.
    final class RouteURL: Sendable {
        let routePath: String
        let url: URL
        let path: String

        init(routePath: String, url: URL, path: String) {
            self.routePath = routePath
            self.url = url
            self.path = path
        }
    }

    /// Why a call waiting at the blocked gate was woken.
    enum GateWake {
        /// The gate changed (or a trial slot was given back): ask it again.
        case changed
        /// The client shut down.
        case shutdown
        /// The calling task was cancelled.
        case cancelled
    }

    struct State: ~Copyable {
        var budget: RetryBudget
        var gate: HealthGate
        /// The adaptive rate limiter shared by every call, or `nil` when it is off.
        var limiter: AdaptiveRateLimiter?
        var rng: SplitMix64
        var counters = ClientCounters()
        var nextID: UInt64 = 0
        /// Calls waiting at the blocked gate, woken (all of them) whenever it may admit them.
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
            let action = machine.start(now: now, budget: &budget, gate: &gate, limiter: &limiter)
            count(action)
            return action
        }

        /// Asks a call's machine for its next attempt (after a backoff sleep or a gate change); counts it.
        mutating func wake(_ machine: inout CallMachine, now: Duration) -> CallAction {
            if shutDown { return machine.stop(.shutdown, gate: &gate) }
            let action = machine.wake(now: now, gate: &gate, limiter: &limiter)
            count(action)
            return action
        }

        /// Counts an attempt sent, or one that waits for the rate limiter.
        @inline(__always)
        mutating func count(_ action: CallAction) {
            switch action {
            case .send: counters.attempts += 1
            case .pace: counters.paced += 1
            default: break
            }
        }

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }

        /// Counts a gate change and queues its event for observers. When the gate changed or a trial slot
        /// was given back (`trialReleased`) and it is not closed, every waiting call is returned to be woken:
        /// each asks the gate again (the first few get the trial calls, the others wait on).
        mutating func gateChanged(_ transition: HealthGate.Transition?, trialReleased: Bool = false)
            -> [CheckedContinuation<GateWake, Never>]
        {
            if let transition {
                pendingGateEvents.append(.gate(transition))
                switch transition.to {
                case .blocked: counters.gateBlocked += 1
                case .trial: counters.gateTrial += 1
                case .passing: counters.gatePassing += 1
                }
            } else if !trialReleased {
                return []
            }
            gateGeneration += 1
            guard gate.state != .blocked, !gateWaiters.isEmpty else { return [] }
            defer { gateWaiters.removeAll() }
            return Array(gateWaiters.values)
        }
    }

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - configuration: endpoint URL and policies.
    ///   - transport: how attempts are sent; default: on Linux, `LoopTransport` (the project's own HTTP/1.1
    ///     keep-alive pool on epoll) for `http://` and ``URLSessionTransport`` for `https://`; elsewhere
    ///     ``URLSessionTransport`` for both; each reads at most ``ResilientClientConfiguration/maxResponseBytes``
    ///     of a response body. A transport given here keeps its own limit.
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
        #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
        if let transport {
            self.transport = transport
            self.ownedTransport = nil
        } else {
            (self.transport, self.ownedTransport) = Self.defaultTransport(for: configuration)
        }
        #else
        self.transport = transport ?? URLSessionTransport(maxResponseBytes: max(0, configuration.maxResponseBytes))
        #endif
        self.clock = clock
        self.bodyHeaders = configuration.headers + [("Content-Type", "application/json")]
        self.usesSystemClock = clock is SystemClientClock
        self.sendsDirectly = self.transport.enforcesTimeout && usesSystemClock
        #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
        self.loopTransport = sendsDirectly ? self.transport as? LoopTransport : nil
        #endif
        self.hasEventHook = configuration.onEvent != nil
        self.callPolicy = CallPolicy(
            retry: configuration.retry, attemptTimeout: configuration.attemptTimeout,
            gateWaitMode: configuration.gateWaitMode, hedging: configuration.hedging)
        var seeder = SystemRandomNumberGenerator()
        self.state = Mutex(State(
            budget: RetryBudget(configuration.budget), gate: HealthGate(configuration.gate),
            limiter: configuration.adaptiveRateLimit.map { AdaptiveRateLimiter($0, now: clock.now) },
            rng: SplitMix64(seed: configuration.randomSeed ?? seeder.next())))
    }

    deinit {
        state.withLock { state in
            state.prober?.cancel()
            for continuation in state.streams.values { continuation.finish() }
        }
        #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
        // It does not own its event loop: this only closes its connections, from any thread.
        ownedTransport?.shutdown()
        #endif
    }

    /// The transport a client builds for `configuration`: for `http://`, the shared `LoopTransport` when its
    /// response limit is the configuration's, otherwise a transport of the client's own on the shared one's
    /// event loop (no new thread); for `https://` (or if no event loop could be started), a
    /// ``URLSessionTransport``. Each reads at most ``ResilientClientConfiguration/maxResponseBytes``.
    #if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
    static func defaultTransport(
        for configuration: ResilientClientConfiguration
    ) -> (transport: any HTTPTransport, owned: LoopTransport?) {
        let limit = max(0, configuration.maxResponseBytes)
        if configuration.baseURL.scheme?.lowercased() == "http", let shared = LoopTransport.shared {
            if shared.configuration.limits.maxBodyBytes == limit { return (shared, nil) }
            var own = shared.configuration
            own.limits.maxBodyBytes = limit
            let transport = LoopTransport(configuration: own, group: shared.group)
            return (transport, transport)
        }
        return (URLSessionTransport(maxResponseBytes: limit), nil)
    }
    #endif

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
    ///   - deadline: the overall deadline of this call; `nil` uses the options' (the call's, then the
    ///     route's), then the configuration's.
    ///   - options: headers, deadline and retry policy of this call (``CallOptions``), applied over the
    ///     route's ``Route/options``; `nil`: the route's, or none.
    /// - Throws: ``ResilientClientError``; `.validation` without any network traffic if the body does
    ///   not match the template.
    public func call<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration? = nil, options: CallOptions? = nil
    ) async throws(ResilientClientError) -> Reply {
        var report: CallReport?
        return try await typedCall(
            route, body, deadline: deadline, options: options, wantsReport: false, report: &report)
    }

    /// Like ``call(_:_:deadline:options:)`` but never throws: returns the result together with the call's
    /// ``CallReport`` (every attempt, its latency, the delays slept and why).
    public func callReporting<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration? = nil, options: CallOptions? = nil
    ) async -> (result: Result<Reply, ResilientClientError>, report: CallReport) {
        var report: CallReport?
        do throws(ResilientClientError) {
            let reply = try await typedCall(
                route, body, deadline: deadline, options: options, wantsReport: true, report: &report)
            return (.success(reply), report ?? CallReport(method: route.spec.verb, path: route.spec.path))
        } catch {
            return (.failure(error), report ?? CallReport(method: route.spec.verb, path: route.spec.path, error: error))
        }
    }

    // The typed path throws rather than returning a `Result<Reply, …>`: it runs as unspecialized generic
    // code (called from the application's module), where each `Result<Reply, …>` costs a metadata lookup.
    func typedCall<Body, Reply>(
        _ route: Route<Body, Reply>, _ body: Body, deadline: Duration?, options: CallOptions?, wantsReport: Bool,
        report: inout CallReport?
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
            options: options.map { $0.applied(over: route.options) } ?? route.options, wantsReport: wantsReport,
            report: &report, decode: Self.decodeReply)
    }

    /// The reply of a typed call: through `JSONValue` when the type decodes from it, else `JSONDecoder`.
    static func decodeReply<Reply: Decodable>(_ response: TransportResponse) throws(ResilientClientError)
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
    static func parseReply(_ response: TransportResponse) throws(ResilientClientError) -> JSONValue {
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
    ///
    /// `options` (``CallOptions``) sets headers, a deadline and a retry policy for this call; `deadline`,
    /// when given, is over the options' deadline.
    public func callJSON(
        _ spec: RouteSpec, _ body: JSONValue, idempotent: Bool = true, deadline: Duration? = nil,
        options: CallOptions? = nil
    ) async throws(ResilientClientError) -> JSONValue {
        var report: CallReport?
        return try await execute(
            spec: spec, body: body, bytes: JSONBridge.serialize(body), idempotent: idempotent, deadline: deadline,
            options: options, wantsReport: false, report: &report, decode: Self.parseReply)
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
    ///   `.transport` for a failure that polling cannot fix (bad URL, protocol error, an answer over
    ///   ``ResilientClientConfiguration/maxResponseBytes``).
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
            if case .transport(let kind) = outcome, [.other, .protocolError, .responseTooLarge, .shutdown].contains(kind) {
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
    /// ``ResilientClientError/shutdown``, and so do calls waiting at the blocked gate and calls due to retry;
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
}
