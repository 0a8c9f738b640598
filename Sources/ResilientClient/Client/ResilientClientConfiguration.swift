import Foundation

/// What a call does when the health gate is blocked.
public enum GateWaitMode: String, Sendable, Equatable, Hashable {
    /// Wait for the gate to pass traffic (or let a trial call through), within the call's deadline. The default.
    case wait
    /// Fail at once with ``ResilientClientError/gateBlocked``.
    case failFast
}

/// Everything a ``ResilientClient`` is configured with. Every field has a documented default.
///
/// ```swift
/// var configuration = ResilientClientConfiguration(baseURL: URL(string: "http://127.0.0.1:8080")!)
/// configuration.retry.maxAttempts = 8
/// configuration.retry.backoff.jitter = .decorrelated
/// configuration.deadline = .seconds(10)
/// configuration.gateWaitMode = .failFast
/// let client = ResilientClient(configuration: configuration)
/// ```
public struct ResilientClientConfiguration: Sendable {
    /// The endpoint's base URL (`http://host:port` or `https://host`); route paths are appended to it.
    public var baseURL: URL
    /// Retry policy. Default ``RetryPolicy/init(maxAttempts:backoff:classifier:honourRetryAfter:)``
    /// defaults: 5 attempts, 100 ms × 2 up to 5 s with full jitter, 503 always retried.
    public var retry: RetryPolicy
    /// Retry budget. Default: 20 % of calls plus 10 retries/s over a 10 s window.
    public var budget: RetryBudget.Configuration
    /// Health gate. Default: blocks after 5 consecutive failures, 3 trial calls.
    public var gate: HealthGate.Configuration
    /// What calls do while the gate is blocked. Default `.wait`.
    public var gateWaitMode: GateWaitMode
    /// Hedging for idempotent routes instead of retries (``HedgingPolicy``, gRPC A6 semantics). Default `nil`:
    /// calls are retried with backoff, not hedged.
    public var hedging: HedgingPolicy? = nil
    /// Client-side rate limiting that adapts to throttling (``AdaptiveRateLimiter``, the AWS SDKs' adaptive
    /// mode): once the endpoint answers 503 or 429, a call's first attempt and each retry wait for a token
    /// of a bucket whose rate follows CUBIC. One limiter per client, shared by its calls. Default `nil`: off.
    public var adaptiveRateLimit: AdaptiveRateLimiter.Configuration? = nil
    /// Overall deadline of a call, across attempts, backoff sleeps and gate waits. Default 30 s;
    /// `nil` for none. A call can override it.
    public var deadline: Duration?
    /// Timeout of one attempt (connect, send and receive). Default 10 s; `nil` for none.
    public var attemptTimeout: Duration?
    /// The longest response body an attempt reads, in bytes. Default 8 MiB
    /// (``defaultMaxResponseBytes``, the same as loadgen's `--max-response`). A longer body, or one that never
    /// ends, is not read past the limit: the attempt fails with ``TransportError/Kind/responseTooLarge``
    /// (not retried) and memory stays bounded. It applies to the transport the client builds itself
    /// (`LoopTransport` for `http://`, ``URLSessionTransport`` for `https://`); a transport passed to
    /// ``ResilientClient/init(configuration:transport:clock:)`` keeps its own limit. Negative values count as 0.
    public var maxResponseBytes: Int = ResilientClientConfiguration.defaultMaxResponseBytes
    /// Path polled for health. Default `/ping`.
    public var pingPath: String
    /// Header fields added to every request. Default: `Accept: application/json`.
    public var headers: [(name: String, value: String)]
    /// Seed for the jitter source; `nil` (default) seeds from the system generator. Set it to make a
    /// client's delays reproducible.
    public var randomSeed: UInt64?
    /// Called synchronously for every ``ClientEvent`` (keep it short). Gate and probe events arrive one at a
    /// time, in the order the gate changed. Default `nil`.
    public var onEvent: (@Sendable (ClientEvent) -> Void)?

    /// The default of ``maxResponseBytes``: 8 MiB.
    public static let defaultMaxResponseBytes = 8 << 20

    /// Creates a configuration with the defaults above.
    public init(
        baseURL: URL, retry: RetryPolicy = RetryPolicy(), budget: RetryBudget.Configuration = .init(),
        gate: HealthGate.Configuration = .init(), gateWaitMode: GateWaitMode = .wait,
        deadline: Duration? = .seconds(30), attemptTimeout: Duration? = .seconds(10), pingPath: String = "/ping",
        headers: [(name: String, value: String)] = [("Accept", "application/json")], randomSeed: UInt64? = nil,
        onEvent: (@Sendable (ClientEvent) -> Void)? = nil
    ) {
        self.baseURL = baseURL
        self.retry = retry
        self.budget = budget
        self.gate = gate
        self.gateWaitMode = gateWaitMode
        self.deadline = deadline
        self.attemptTimeout = attemptTimeout
        self.pingPath = pingPath
        self.headers = headers
        self.randomSeed = randomSeed
        self.onEvent = onEvent
    }
}
