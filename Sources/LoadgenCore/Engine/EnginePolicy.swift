import HTTP1
import NetIO
import ResilientClient

/// The scenario's client settings translated into ResilientClient's pure decision values, so the engine
/// retries, backs off, spends its budget and gates traffic with exactly the library's semantics.
///
/// - `retry.retryOnStatus` becomes the classifier's statuses: 502 and 504 are retried for idempotent requests
///   only (as in the library), every other listed status (503, 429, …) always.
/// - `retry.baseDelay`/`maxDelay`/`jitter` become the library's ``Backoff`` (multiplier 2; `decorrelated`
///   included, the planner feeding it the previous delay); `maxDelay` also caps `Retry-After`, which is
///   honoured unless `retry.honourRetryAfter` is false.
/// - `budget` becomes a ``RetryBudget`` per event loop: the ratio applies to each loop's own calls and the
///   `minRetriesPerSecond` allowance is split between the loops, so the run as a whole gets the scenario's
///   budget without a lock on the hot path. No budget: unlimited retries within `maxAttempts`.
/// - `hedging` becomes the calls' ``HedgingPolicy`` (`http` targets only).
/// - `adaptiveRateLimit` becomes an ``AdaptiveRateLimiter`` per event loop: each loop paces its own calls'
///   first attempts and retries by the throttles its own calls see.
/// - `healthGate` becomes a ``HealthGate`` per loop (threshold from the scenario, 3 trial calls,
///   probes every `probeInterval`).
struct EnginePolicy: Sendable {
    /// The library's retry policy.
    let retry: RetryPolicy
    /// The rules of every call's ``CallMachine``: the retry policy, the attempt timeout, no overall deadline,
    /// and a blocked gate fails the call fast (it is not sent: `health_gate`).
    let call: CallPolicy
    /// Whether transport failures may be retried at all (`retryOnTransportErrors`).
    let retryTransportErrors: Bool
    /// Per-loop budget configurations (index = loop).
    let budgets: [RetryBudget.Configuration]
    /// The gate's configuration (disabled when the scenario has none).
    let gate: HealthGate.Configuration
    /// Whether the scenario has a health gate.
    let gateEnabled: Bool
    /// Per-attempt timeout in nanoseconds.
    let attemptTimeout: UInt64
    /// Connect timeout.
    let connectTimeout: Duration
    /// What a response may be (its body at most `client.maxResponseBytes`).
    let responseLimits: HTTPLimits
    /// The constants of each loop's adaptive rate limiter, or `nil` when it is off.
    let adaptiveRateLimit: AdaptiveRateLimiter.Configuration?

    /// Statuses the library retries only for idempotent requests.
    static let idempotentOnlyStatuses: Set<Int> = [502, 504]

    /// `secure`: an `https` target, whose attempts go through one transport per attempt and are not hedged.
    init(_ client: ClientSpec, loops: Int, secure: Bool = false) {
        let spec = client.retry
        let backoff = EnginePolicy.backoff(spec)
        let classifier = RetryClassifier(
            alwaysRetryableStatuses: spec.retryOnStatus.subtracting(EnginePolicy.idempotentOnlyStatuses),
            idempotentRetryableStatuses: spec.retryOnStatus.intersection(EnginePolicy.idempotentOnlyStatuses))
        retry = RetryPolicy(
            maxAttempts: spec.maxAttempts, backoff: backoff, classifier: classifier,
            honourRetryAfter: spec.honourRetryAfter, retryAfterCap: spec.maxRetryAfter?.duration)
        retryTransportErrors = spec.retryOnTransportErrors
        let count = max(1, loops)
        if let budget = client.budget {
            let total = max(0, Int(budget.minRetriesPerSecond.rounded()))
            budgets = (0..<count).map { index in
                RetryBudget.Configuration(
                    window: budget.window.duration,
                    minRetriesPerSecond: total / count + (index < total % count ? 1 : 0),
                    retryRatio: budget.ratio)
            }
        } else {
            budgets = Array(repeating: .unlimited, count: count)
        }
        if let gateSpec = client.healthGate {
            let interval = gateSpec.probeInterval.duration
            gate = HealthGate.Configuration(
                failureThreshold: gateSpec.failureThreshold, trialCalls: 3,
                probeBackoff: Backoff(base: interval, multiplier: 1, cap: interval, jitter: .none))
            gateEnabled = true
        } else {
            gate = .disabled
            gateEnabled = false
        }
        attemptTimeout = UInt64(max(1, client.timeout.nanoseconds))
        connectTimeout = (client.connectTimeout ?? client.timeout).duration
        call = CallPolicy(
            retry: retry, attemptTimeout: .nanoseconds(Int64(clamping: attemptTimeout)), gateWaitMode: .failFast,
            retryTransportErrors: retryTransportErrors, hedging: secure ? nil : client.hedging?.policy)
        responseLimits = HTTPLimits(maxBodyBytes: client.maxResponseBytes)
        adaptiveRateLimit = client.adaptiveRateLimit
    }

    /// `min(maxDelay, baseDelay × 2^(n-1))` with the scenario's jitter mode.
    static func backoff(_ spec: RetrySpec) -> Backoff {
        let base = spec.baseDelay.duration
        let cap = spec.maxDelay.duration
        switch spec.jitter {
        case .none: return Backoff(base: base, multiplier: 2, cap: cap, jitter: .none)
        case .full: return Backoff(base: base, multiplier: 2, cap: cap, jitter: .full)
        case .equal: return Backoff(base: base, multiplier: 2, cap: cap, jitter: .equal)
        case .decorrelated: return Backoff(base: base, multiplier: 2, cap: cap, jitter: .decorrelated)
        }
    }
}

/// How a transport failure is reported (`ErrorKind`) and what the retry planner sees (`AttemptOutcome`).
struct TransportFailure: Sendable, Equatable {
    /// The kind recorded in the result.
    var kind: ErrorKind
    /// The outcome given to the planner and the gate.
    var outcome: AttemptOutcome

    /// A host that cannot be reached (no route).
    static let unreachableKind = ErrorKind(rawValue: "unreachable")
    /// A hedged call's losing attempt, cancelled when another attempt decided the call.
    static let cancelledKind = ErrorKind(rawValue: "cancelled")

    /// Maps NetIO's client error. `expired` is set when the run's drain period ended while the attempt was in
    /// flight: the local close is then reported as a timeout.
    init(_ error: HTTPClientError, expired: Bool) {
        // The outcome is the library's (`TransportError(_:)`); the kind is the report's vocabulary.
        let outcome = AttemptOutcome.transport(TransportError(error).kind)
        switch error {
        case .connectRefused: self.init(kind: .refused, outcome: outcome)
        case .connectTimedOut, .timedOut: self.init(kind: .timeout, outcome: outcome)
        case .unreachable: self.init(kind: TransportFailure.unreachableKind, outcome: outcome)
        case .connectFailed: self.init(kind: .other, outcome: outcome)
        case .resetBeforeSend, .resetAfterSend, .closedByPeer: self.init(kind: .reset, outcome: outcome)
        case .invalidResponse(let parseError) where parseError.status == 413:
            // Longer than `client.maxResponse`: not malformed, but not read either.
            self.init(kind: .tooLarge, outcome: outcome)
        case .invalidResponse: self.init(kind: .protocolError, outcome: outcome)
        case .closed:
            // The run's drain period ended while the attempt was in flight: the local close is a timeout.
            if expired {
                self.init(kind: .timeout, outcome: .transport(.responseTimeout))
            } else {
                self.init(kind: .reset, outcome: outcome)
            }
        }
    }

    init(kind: ErrorKind, outcome: AttemptOutcome) {
        self.kind = kind
        self.outcome = outcome
    }
}

/// A `RandomNumberGenerator` over loadgen's SplitMix64 (jitter and probe delays; seeded per loop from the
/// scenario's seed, so a run's delays are reproducible).
struct EngineRandom: RandomNumberGenerator {
    var generator: SplitMix64
    init(seed: UInt64, stream: UInt64) { generator = SplitMix64(seed: seed, index: stream &+ 0x5EED) }
    mutating func next() -> UInt64 { generator.next() }
}

/// One request, ready for `HTTPClientConnection.send(method:encodedRequest:)`.
struct PreparedRequest: Sendable {
    /// The request method (decides whether a response has a body).
    var method: String
    /// The request's bytes as `HTTPClientConnection.send` would write them (encoded once per fixed request).
    var encoded: [UInt8]
    /// Index into the scenario's requests.
    var requestIndex: Int
}

/// Builds requests per arrival index; requests without generated parts are built once.
struct RequestFactory: Sendable {
    let generator: RequestGenerator
    /// Fixed requests (`nil` where the body has generated parts).
    let fixed: [PreparedRequest?]
    let headers: [[(String, String)]]
    /// Whether each request may be repeated after an ambiguous failure (the library's default: yes).
    let idempotent: [Bool]
    /// Each request's expected statuses (`nil`: any 2xx).
    let expected: [Set<Int>?]
    /// The target's host and port (the `Host` header).
    let host: String
    let port: Int

    init(_ generator: RequestGenerator, host: String, port: Int) {
        self.generator = generator
        self.host = host
        self.port = port
        var headers: [[(String, String)]] = []
        var fixed: [PreparedRequest?] = []
        for index in generator.requests.indices {
            // Index 0 renders the request's headers and path; the body only matters when it is a literal.
            let spec = generator.requests[index]
            let sample = RequestFactory.render(generator, requestIndex: index)
            let pairs = sample.headers.map { ($0.name, $0.value) }
            headers.append(pairs)
            if spec.body == nil || spec.body?.isLiteral == true {
                let body = sample.body ?? []
                let encoded = HTTPClientConnection.encodeRequest(
                    method: sample.method, target: sample.path, host: host, port: port, headers: pairs, body: body)
                fixed.append(PreparedRequest(method: sample.method, encoded: encoded, requestIndex: index))
            } else {
                fixed.append(nil)
            }
        }
        self.headers = headers
        self.fixed = fixed
        self.idempotent = generator.requests.map { _ in true }
        self.expected = generator.requests.map(\.expect)
    }

    private static func render(_ generator: RequestGenerator, requestIndex: Int) -> GeneratedRequest {
        let spec = generator.requests[requestIndex]
        var rng = SplitMix64(seed: 0)
        let body = spec.body.map { Array(LoadgenJSON.serialize($0.render(index: 0, rng: &rng)).utf8) }
        return GeneratedRequest(
            requestIndex: requestIndex, method: spec.method, path: generator.paths[requestIndex],
            headers: generator.headerSets[requestIndex], body: body)
    }

    /// Whether `status` is a success for request `requestIndex` (`RequestSpec.isSuccess`).
    func isSuccess(_ status: Int, requestIndex: Int) -> Bool {
        if let expect = expected[requestIndex] { return expect.contains(status) }
        return status >= 200 && status < 300
    }

    /// Which scenario request arrival `index` uses (without building it).
    func requestIndex(at index: Int64) -> Int {
        generator.requests.count > 1 ? generator.requestIndex(at: index) : 0
    }

    /// The request for arrival `index`.
    func request(at index: Int64) -> PreparedRequest {
        let chosen = generator.requests.count > 1 ? generator.requestIndex(at: index) : 0
        if let prepared = fixed[chosen] { return prepared }
        let generated = generator.request(at: index)
        let body = generated.body ?? []
        let pairs = headers[generated.requestIndex]
        let encoded = HTTPClientConnection.encodeRequest(
            method: generated.method, target: generated.path, host: host, port: port, headers: pairs, body: body)
        return PreparedRequest(method: generated.method, encoded: encoded, requestIndex: generated.requestIndex)
    }
}
