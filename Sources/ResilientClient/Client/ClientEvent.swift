/// One attempt of a call, as reported in ``CallReport`` and ``ClientEvent/attempt(_:)``.
public struct AttemptRecord: Sendable, Equatable {
    /// 1 for the first attempt.
    public var number: Int
    /// The outcome (`.status` or `.transport`).
    public var outcome: AttemptOutcome
    /// The transport's message for a transport failure, else empty.
    public var message: String
    /// Time from sending to the outcome.
    public var latency: Duration
    /// Whether the attempt was a trial call of the health gate.
    public var trial: Bool
    /// The delay slept after this attempt before the next one (`nil` if there was no retry).
    public var delayAfter: Duration?
    /// Why that delay was slept.
    public var delayReason: DelayReason?

    /// Creates a record.
    public init(
        number: Int, outcome: AttemptOutcome, message: String = "", latency: Duration, trial: Bool = false,
        delayAfter: Duration? = nil, delayReason: DelayReason? = nil
    ) {
        self.number = number
        self.outcome = outcome
        self.message = message
        self.latency = latency
        self.trial = trial
        self.delayAfter = delayAfter
        self.delayReason = delayReason
    }
}

/// The story of one call: every attempt, the delays slept and why, the time spent waiting for the
/// health gate, and how it ended.
public struct CallReport: Sendable {
    /// The method.
    public var method: String
    /// The route path.
    public var path: String
    /// The attempts, in order.
    public var attempts: [AttemptRecord]
    /// Total time spent waiting for the health gate to admit the call.
    public var gateWait: Duration
    /// Time from the call's start to its end.
    public var duration: Duration
    /// `nil` on success, else the error the call failed with.
    public var error: ResilientClientError?

    /// Creates a report.
    public init(
        method: String, path: String, attempts: [AttemptRecord] = [], gateWait: Duration = .zero,
        duration: Duration = .zero, error: ResilientClientError? = nil
    ) {
        self.method = method
        self.path = path
        self.attempts = attempts
        self.gateWait = gateWait
        self.duration = duration
        self.error = error
    }

    /// Whether the call succeeded.
    public var succeeded: Bool { error == nil }
}

/// Something that happened inside a ``ResilientClient``, delivered to the configuration's
/// ``ResilientClientConfiguration/onEvent`` hook and to every ``ResilientClient/events(bufferingNewest:)``
/// stream.
public enum ClientEvent: Sendable {
    /// An attempt finished (its `delayAfter` is not known yet; see `retryScheduled`).
    case attempt(path: String, AttemptRecord)
    /// The client will sleep `delay` before attempt `nextAttempt`.
    case retryScheduled(path: String, nextAttempt: Int, delay: Duration, reason: DelayReason)
    /// A retry was refused by the retry budget.
    case budgetRefused(path: String, attempts: Int)
    /// The health gate changed state.
    case gate(HealthGate.Transition)
    /// The health prober polled `/ping`.
    case probe(healthy: Bool, outcome: AttemptOutcome)
    /// A call was refused because the gate is blocked and the client fails fast.
    case gateRejected(path: String)
    /// A call ended.
    case callFinished(CallReport)
}

/// Running totals of a client, from ``ResilientClient/counters``.
public struct ClientCounters: Sendable, Equatable, Hashable {
    /// Calls started.
    public var calls = 0
    /// Calls that returned a reply.
    public var succeeded = 0
    /// Calls that failed (any error, including validation and cancellation).
    public var failed = 0
    /// Attempts sent (first attempts and retries).
    public var attempts = 0
    /// Retries scheduled.
    public var retries = 0
    /// Retries refused by the retry budget.
    public var budgetRefusals = 0
    /// Attempts that waited for the adaptive rate limiter before they were sent
    /// (``ResilientClientConfiguration/adaptiveRateLimit``).
    public var paced = 0
    /// Bodies rejected by client-side validation (never sent).
    public var validationFailures = 0
    /// Calls that ended with `deadlineExceeded`.
    public var deadlinesExceeded = 0
    /// Calls refused at once because the gate was blocked (fail-fast mode).
    public var gateRejections = 0
    /// Transitions of the gate to closed.
    public var gateBlocked = 0
    /// Transitions of the gate to trial.
    public var gateTrial = 0
    /// Transitions of the gate to open.
    public var gatePassing = 0
    /// `/ping` probes sent by the prober.
    public var probes = 0

    /// All zero.
    public init() {}
}
