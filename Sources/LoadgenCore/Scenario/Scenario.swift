import EndpointSpec
import ResilientClient

/// A load test described by a scenario file (see docs/scenarios.md for the JSON schema).
public struct Scenario: Sendable, Equatable {
    /// The scenario's name (defaults to the file name without extension).
    public var name: String
    /// Where requests go.
    public var target: TargetSpec
    /// The weighted request mix.
    public var requests: [RequestSpec]
    /// The load shape.
    public var load: LoadSpec
    /// Connection, timeout and resilience settings.
    public var client: ClientSpec
    /// Load applied before measuring (zero: none); see `RunPlan.warmup`.
    public var warmup: DurationValue
    /// Pass/fail conditions evaluated at the end.
    public var thresholds: [Threshold]
    /// Seed for generated values and the weighted pick (default 1).
    public var seed: UInt64
    /// Headers sent with every request (a request's own headers override same-named ones).
    public var headers: [HTTPHeaderField]
    /// The directory relative paths were resolved against (the scenario file's directory).
    public var baseDirectory: String

    /// Creates a scenario.
    public init(
        name: String, target: TargetSpec, requests: [RequestSpec], load: LoadSpec, client: ClientSpec = ClientSpec(),
        warmup: DurationValue = DurationValue(nanoseconds: 0), thresholds: [Threshold] = [], seed: UInt64 = 1,
        headers: [HTTPHeaderField] = [], baseDirectory: String = "."
    ) {
        self.name = name
        self.target = target
        self.requests = requests
        self.load = load
        self.client = client
        self.warmup = warmup
        self.thresholds = thresholds
        self.seed = seed
        self.headers = headers
        self.baseDirectory = baseDirectory
    }
}

/// One header.
public struct HTTPHeaderField: Sendable, Hashable {
    /// Name as written.
    public var name: String
    /// Value.
    public var value: String
    /// Creates a header.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Where a scenario sends its requests.
public enum TargetSpec: Sendable, Equatable {
    /// An already running endpoint.
    case url(TargetURL)
    /// The bundled reference endpoint, started as a child process for the run.
    case embedded(EmbeddedTarget)
}

/// An `http://host[:port][/base]` or `https://host[:port][/base]` URL. Plain HTTP runs on the engine's own
/// keep-alive connections; `https` goes through a slower transport (see `NetworkLoadEngine`).
public struct TargetURL: Sendable, Hashable, CustomStringConvertible {
    /// The URL scheme.
    public enum Scheme: String, Sendable, Hashable {
        /// Plain HTTP/1.1 (default port 80).
        case http
        /// HTTP over TLS (default port 443).
        case https
    }

    /// `http` or `https`.
    public var scheme: Scheme
    /// Host name or address (IPv6 without brackets).
    public var host: String
    /// TCP port (default 80, or 443 for https).
    public var port: Int
    /// Path prefix added before every request's route, without a trailing `/` (often empty).
    public var basePath: String

    /// Creates a URL.
    public init(host: String, port: Int, basePath: String = "", scheme: Scheme = .http) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Whether the target speaks TLS (`https://`).
    public var isSecure: Bool { scheme == .https }

    /// Parses `http(s)://host[:port][/base]`; the error says what is wrong.
    public init(parsing text: String) throws(TargetURLError) {
        let lowered = text.lowercased()
        let scheme: Scheme
        if lowered.hasPrefix("http://") {
            scheme = .http
        } else if lowered.hasPrefix("https://") {
            scheme = .https
        } else {
            throw TargetURLError("expected a URL like \"http://127.0.0.1:8080\" or \"https://host\", got \"\(text)\"")
        }
        let rest = text.dropFirst(scheme == .http ? 7 : 8)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var base = String(rest[slash...])
        if let query = base.firstIndex(where: { $0 == "?" || $0 == "#" }) { base = String(base[..<query]) }
        while base.hasSuffix("/") { base.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw TargetURLError("unterminated IPv6 address in \"\(text)\"")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw TargetURLError("unexpected \"\(after)\" after the IPv6 address in \"\(text)\"")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw TargetURLError("missing host in \"\(text)\"") }
        guard !host.contains("@") else { throw TargetURLError("user information is not supported in \"\(text)\"") }
        var port = scheme == .https ? 443 : 80
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw TargetURLError("port must be 1...65535, got \"\(portText)\" in \"\(text)\"")
            }
            port = number
        }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.basePath = base
    }

    /// `http://host:port/base` (or `https://…`).
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(shownHost):\(port)\(basePath)"
    }
}

/// A malformed target URL.
public struct TargetURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// The bundled reference endpoint, configured like `reference-endpoint`'s flags.
public struct EmbeddedTarget: Sendable, Equatable {
    /// The model folder, resolved to an existing directory.
    public var modelDirectory: String
    /// The routes (seed JSON form).
    public var routes: [RouteSpec]
    /// Python worker processes (default 1).
    public var workers: Int
    /// Calls each Python worker may run at once, the endpoint's `--threads` (`nil`: the server's default, 1).
    public var threads: Int?
    /// Admission queue length (`nil`: the server's default).
    public var maxQueue: Int?
    /// Per-call timeout inside the server (`nil`: the server's default).
    public var timeout: DurationValue?
    /// Python interpreter (`nil`: the server's default).
    public var python: String?
    /// Fault injection: share of calls answered with 503 before they run (0...1), the endpoint's `--fail-rate`.
    public var failRate: Double?
    /// Fault injection: added delay per call.
    public var delay: DurationValue?
    /// A heavy tail: share of calls that take `slowDelay` instead of `delay` (0...1), the endpoint's `--slow-rate`.
    public var slowRate: Double?
    /// How long a slow call takes, the endpoint's `--slow-delay`.
    public var slowDelay: DurationValue?
    /// Port to listen on (0 or `nil`: any free port on 127.0.0.1).
    public var port: Int?
    /// Drop queued calls whose client has disconnected or whose deadline has passed before they run, the
    /// endpoint's `--drop-abandoned` (default false).
    public var dropAbandoned = false
    /// `/ping` answers 503 with `Retry-After` while more than this many calls wait for a worker, the endpoint's
    /// `--ping-overload-queue` (`nil`: `/ping` always answers 200 while the endpoint runs).
    public var pingOverloadQueue: Int?
    /// An outage window in which every route answers 503, the endpoint's `--outage` (`nil`: none).
    public var outage: EmbeddedOutage?

    /// Creates an embedded target.
    public init(
        modelDirectory: String, routes: [RouteSpec], workers: Int = 1, threads: Int? = nil, maxQueue: Int? = nil,
        timeout: DurationValue? = nil, python: String? = nil, failRate: Double? = nil, delay: DurationValue? = nil,
        port: Int? = nil
    ) {
        self.modelDirectory = modelDirectory
        self.routes = routes
        self.workers = workers
        self.threads = threads
        self.maxQueue = maxQueue
        self.timeout = timeout
        self.python = python
        self.failRate = failRate
        self.delay = delay
        self.port = port
    }

    /// The equivalent `reference-endpoint` command-line arguments (routes as `--route JSON`; `--timeout` in
    /// seconds and `--delay` in milliseconds, as the endpoint takes them), binding 127.0.0.1.
    public var commandLineArguments: [String] {
        var arguments = ["--model-dir", modelDirectory]
        for route in routes { arguments += ["--route", LoadgenJSON.serialize(route.jsonValue)] }
        arguments += ["--workers", String(workers)]
        if let threads { arguments += ["--threads", String(threads)] }
        if let maxQueue { arguments += ["--max-queue", String(maxQueue)] }
        if let timeout { arguments += ["--timeout", formatNumber(Double(timeout.nanoseconds) / 1e9, digits: 6)] }
        if let python { arguments += ["--python", python] }
        if let failRate { arguments += ["--fail-rate", formatNumber(failRate, digits: 6)] }
        if let delay { arguments += ["--delay", formatNumber(Double(delay.nanoseconds) / 1e6, digits: 6)] }
        if dropAbandoned { arguments.append("--drop-abandoned") }
        if let pingOverloadQueue { arguments += ["--ping-overload-queue", String(pingOverloadQueue)] }
        if let outage { arguments += outage.commandLineArguments }
        if let slowRate { arguments += ["--slow-rate", formatNumber(slowRate, digits: 6)] }
        if let slowDelay { arguments += ["--slow-delay", formatNumber(Double(slowDelay.nanoseconds) / 1e6, digits: 6)] }
        arguments += ["--host", "127.0.0.1", "--port", String(port ?? 0)]
        return arguments
    }
}

/// One entry of the weighted request mix.
public struct RequestSpec: Sendable, Equatable {
    /// The label reports use: `name`, or `METHOD route` when the request has none.
    public var label: String { name ?? "\(method) \(route)" }

    /// Optional label for reports.
    public var name: String?
    /// The route path (starts with `/`), appended to the target's base path.
    public var route: String
    /// HTTP method, upper-case (default `POST`).
    public var method: String
    /// Extra headers.
    public var headers: [HTTPHeaderField]
    /// The body template (`nil`: no body).
    public var body: ValueTemplate?
    /// Relative weight (> 0).
    public var weight: Double
    /// Statuses that count as success (`nil`: any 2xx).
    public var expect: Set<Int>?

    /// Creates a request.
    public init(
        name: String? = nil, route: String, method: String = "POST", headers: [HTTPHeaderField] = [],
        body: ValueTemplate? = nil, weight: Double = 1, expect: Set<Int>? = nil
    ) {
        self.name = name
        self.route = route
        self.method = method
        self.headers = headers
        self.body = body
        self.weight = weight
        self.expect = expect
    }

    /// Whether a response with `status` counts as success for this request.
    public func isSuccess(status: Int) -> Bool {
        if let expect { return expect.contains(status) }
        return (200..<300).contains(status)
    }
}

/// The load shape.
public enum LoadSpec: Sendable, Equatable {
    /// Open loop: `rate` calls per second for `duration`, regardless of responses.
    case constantRate(rate: Double, duration: DurationValue)
    /// Open loop: the rate moves linearly from `startRate` (then from each stage's target) to each stage's
    /// target over the stage's duration.
    case rampingRate(startRate: Double, stages: [RampStage])
    /// Closed loop: `users` virtual users each send a call, wait for it (with retries), pause `thinkTime`,
    /// and repeat until `duration` ends.
    case closed(users: Int, duration: DurationValue, thinkTime: DurationValue)

    /// The name used in scenario files (`constant-rate`, `ramping-rate`, `closed`).
    public var typeName: String {
        switch self {
        case .constantRate: return "constant-rate"
        case .rampingRate: return "ramping-rate"
        case .closed: return "closed"
        }
    }

    /// Total length of the load (sum of stages for ramping-rate).
    public var duration: DurationValue {
        switch self {
        case .constantRate(_, let duration), .closed(_, let duration, _): return duration
        case .rampingRate(_, let stages):
            return DurationValue(nanoseconds: stages.reduce(0) { $0 + $1.duration.nanoseconds })
        }
    }

    /// A short description: `constant-rate 200/s for 10s`, `ramping-rate 0/s→400/s over 3 stages (1m)`,
    /// `closed 8 users for 30s, think 100ms`.
    public var summary: String {
        switch self {
        case .constantRate(let rate, let duration):
            return "constant-rate \(RateValue(perSecond: rate)) for \(duration)"
        case .rampingRate(let start, let stages):
            let peak = stages.map(\.target).max() ?? start
            return "ramping-rate \(RateValue(perSecond: start)) to peak \(RateValue(perSecond: peak)) over "
                + "\(stages.count) stage\(stages.count == 1 ? "" : "s") (\(duration))"
        case .closed(let users, let duration, let think):
            return "closed \(users) user\(users == 1 ? "" : "s") for \(duration)"
                + (think.nanoseconds > 0 ? ", think \(think)" : "")
        }
    }
}

/// One stage of a ramping-rate load.
public struct RampStage: Sendable, Hashable {
    /// The rate reached at the end of the stage (calls per second, >= 0).
    public var target: Double
    /// The stage's length (> 0).
    public var duration: DurationValue
    /// Creates a stage.
    public init(target: Double, duration: DurationValue) {
        self.target = target
        self.duration = duration
    }
}

/// Connection, timeout and resilience settings, with ResilientClient's semantics. The defaults are the
/// library's (`ResilientClientConfiguration`): 10 s per attempt, its retry policy and its retry budget; the
/// health gate is the one deliberate difference (off, so a load test sees the endpoint's failures instead of
/// calls held back).
public struct ClientSpec: Sendable, Equatable {
    /// Maximum concurrent connections (and so calls in flight) (default 32).
    public var connections: Int
    /// Per-attempt timeout (default 10s, the library's `attemptTimeout`).
    public var timeout: DurationValue
    /// Connect timeout (`nil`: same as `timeout`).
    public var connectTimeout: DurationValue?
    /// Retry policy (default: the library's `RetryPolicy()`, see ``RetrySpec``).
    public var retry: RetrySpec
    /// Retry budget (default: the library's; `nil`: unlimited retries within `retry.maxAttempts`).
    public var budget: RetryBudgetSpec?
    /// Health gate (`nil`: off).
    public var healthGate: HealthGateSpec?
    /// Hedging instead of retries, the library's ``HedgingPolicy`` (`nil`: off).
    public var hedging: HedgingSpec?
    /// Client-side rate limiting that adapts to 503 and 429, the library's ``AdaptiveRateLimiter`` with these
    /// constants, one limiter per event loop (`client.adaptiveRateLimit`; `nil`: off, the default).
    public var adaptiveRateLimit: AdaptiveRateLimiter.Configuration?
    /// TLS settings for `https://` targets.
    public var tls: TLSSpec
    /// Largest response body accepted, in bytes (default 8 MiB): a longer or endless body fails the attempt as
    /// `too_large` instead of growing memory (`client.maxResponse`, `--max-response`).
    public var maxResponseBytes: Int = ClientSpec.defaultMaxResponseBytes

    /// The default response size limit: 8 MiB.
    public static let defaultMaxResponseBytes = 8 << 20
    /// The largest response size limit that may be set: 16 GiB.
    public static let maxResponseLimit = 16 << 30

    /// Creates client settings.
    public init(
        connections: Int = 32, timeout: DurationValue = .seconds(10), connectTimeout: DurationValue? = nil,
        retry: RetrySpec = RetrySpec(), budget: RetryBudgetSpec? = RetryBudgetSpec(), healthGate: HealthGateSpec? = nil,
        hedging: HedgingSpec? = nil, tls: TLSSpec = TLSSpec()
    ) {
        self.hedging = hedging
        self.tls = tls
        self.connections = connections
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.budget = budget
        self.healthGate = healthGate
    }
}

/// TLS settings for `https://` targets (`client.tls`).
public struct TLSSpec: Sendable, Equatable {
    /// A PEM file of certificate authorities to trust instead of the system's (`client.tls.caFile`), resolved
    /// to an existing file when the scenario is decoded; `nil`: the system's authorities.
    public var caFile: String?

    /// Creates TLS settings.
    public init(caFile: String? = nil) {
        self.caFile = caFile
    }
}

/// Jitter applied to exponential backoff.
public enum JitterMode: String, Sendable, CaseIterable {
    /// Exactly `min(maxDelay, baseDelay * 2^(attempt-1))`.
    case none
    /// Uniform in `[0, that]` (AWS "full jitter").
    case full
    /// Half fixed, half uniform: `that/2 + uniform(0, that/2)`.
    case equal
    /// Uniform in `[baseDelay, 3 × the previous delay]`, capped at `maxDelay` (the library's `.decorrelated`).
    case decorrelated
}

/// Retry policy: which failures are retried and how long to wait between attempts. Every default is the
/// library's `RetryPolicy()` (read from it, so the two cannot drift): 5 attempts, 100 ms doubling up to 5 s
/// with full jitter, 429/503/502/504 retried, `Retry-After` honoured as sent.
public struct RetrySpec: Sendable, Equatable {
    /// The library's default policy, the source of every default below.
    public static let library = RetryPolicy()

    /// Attempts per call including the first (1 = no retries). Default 5.
    public var maxAttempts: Int
    /// Backoff before the first retry. Default 100 ms.
    public var baseDelay: DurationValue
    /// Cap on any single backoff. Default 5 s.
    public var maxDelay: DurationValue
    /// Jitter mode. Default full.
    public var jitter: JitterMode
    /// Statuses that are retried (default 429, 502, 503, 504, as the library: 429 and 503 for every request,
    /// 502 and 504 for idempotent ones, which every scenario request is).
    public var retryOnStatus: Set<Int>
    /// Whether transport errors (timeout, refused, reset) are retried (default true).
    public var retryOnTransportErrors: Bool
    /// Whether a `Retry-After` header on a retried response is honoured. Default true.
    public var honourRetryAfter: Bool
    /// A longer `Retry-After` is cut to this; `nil` (default): honoured as sent, and a wait past the call's
    /// deadline ends the call at once (the library's ``RetryPolicy/retryAfterCap``).
    public var maxRetryAfter: DurationValue?

    /// Creates a policy; omitted values are the library's defaults.
    public init(
        maxAttempts: Int = RetrySpec.library.maxAttempts,
        baseDelay: DurationValue = DurationValue(RetrySpec.library.backoff.base),
        maxDelay: DurationValue = DurationValue(RetrySpec.library.backoff.cap),
        jitter: JitterMode = JitterMode(rawValue: RetrySpec.library.backoff.jitter.rawValue) ?? .full,
        retryOnStatus: Set<Int> = RetrySpec.library.classifier.alwaysRetryableStatuses
            .union(RetrySpec.library.classifier.idempotentRetryableStatuses),
        retryOnTransportErrors: Bool = true,
        honourRetryAfter: Bool = RetrySpec.library.honourRetryAfter,
        maxRetryAfter: DurationValue? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.retryOnStatus = retryOnStatus
        self.retryOnTransportErrors = retryOnTransportErrors
        self.honourRetryAfter = honourRetryAfter
        self.maxRetryAfter = maxRetryAfter
    }
}

/// A retry budget: retries may add at most `ratio` of the first attempts in a sliding window, plus
/// `minRetriesPerSecond` always allowed.
public struct RetryBudgetSpec: Sendable, Equatable {
    /// Retries allowed per first attempt (e.g. 0.2 = 20%).
    public var ratio: Double
    /// Retries always allowed per second.
    public var minRetriesPerSecond: Double
    /// The sliding window (default 10s).
    public var window: DurationValue
    /// The library's default budget, the source of the defaults.
    public static let library = RetryBudget.Configuration()

    /// Creates a budget; omitted values are the library's defaults (20 %, 10 retries/s, 10 s).
    public init(
        ratio: Double = RetryBudgetSpec.library.retryRatio,
        minRetriesPerSecond: Double = Double(RetryBudgetSpec.library.minRetriesPerSecond),
        window: DurationValue = DurationValue(RetryBudgetSpec.library.window)
    ) {
        self.ratio = ratio
        self.minRetriesPerSecond = minRetriesPerSecond
        self.window = window
    }
}

/// Health gate: probe `path` before the run, and stop sending while the target is considered down.
public struct HealthGateSpec: Sendable, Equatable {
    /// Health path (default `/ping`).
    public var path: String
    /// Consecutive failures that close the gate (default 5).
    public var failureThreshold: Int
    /// Probe interval while closed (default 1s).
    public var probeInterval: DurationValue
    /// Creates a gate.
    public init(path: String = "/ping", failureThreshold: Int = 5, probeInterval: DurationValue = .seconds(1)) {
        self.path = path
        self.failureThreshold = failureThreshold
        self.probeInterval = probeInterval
    }
}
