/// Everything that decides whether and when a call is retried.
///
/// Defaults: at most 5 attempts, ``Backoff`` defaults (100 ms base, ×2, 5 s cap, full jitter),
/// ``RetryClassifier`` defaults (429 and 503 always; 502, 504, response timeouts and resets after sending for
/// idempotent routes only), `Retry-After` honoured as the server sent it.
public struct RetryPolicy: Sendable, Equatable, Hashable {
    /// Attempts per call including the first (1 = never retry). Default 5.
    public var maxAttempts: Int
    /// The delay schedule (unless ``strategy`` is set).
    public var backoff: Backoff
    /// A composed or custom delay schedule that replaces ``backoff`` (see ``BackoffStrategy``); `nil` by
    /// default. Each call starts from its own copy.
    public var strategy: AnyBackoffStrategy?
    /// Which outcomes are retried.
    public var classifier: RetryClassifier
    /// A rule of the caller's consulted before ``classifier`` for every outcome that is not a 2xx; `nil` by
    /// default.
    public var retryPredicate: RetryPredicate?
    /// Whether a `Retry-After` header on a retryable response is honoured. Default `true`.
    public var honourRetryAfter: Bool
    /// The longest `Retry-After` wait the client accepts; a longer one is cut to it (and the reason says
    /// "capped"). `nil` (the default): honoured as the server sent it, up to the call's deadline. When the wait
    /// would end after the deadline the call fails at once with ``GiveUpReason/retryAfterBeyondDeadline(_:)``,
    /// naming the wait, instead of sleeping towards a deadline it cannot meet.
    public var retryAfterCap: Duration?

    /// Creates a policy (`maxAttempts` below 1 is raised to 1; a negative `retryAfterCap` is zero).
    public init(
        maxAttempts: Int = 5, backoff: Backoff = Backoff(), classifier: RetryClassifier = RetryClassifier(),
        honourRetryAfter: Bool = true, retryAfterCap: Duration? = nil, retryPredicate: RetryPredicate? = nil
    ) {
        self.retryPredicate = retryPredicate
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.classifier = classifier
        self.honourRetryAfter = honourRetryAfter
        self.retryAfterCap = retryAfterCap.map { max(.zero, $0) }
    }

    /// Creates a policy whose delays come from `strategy`, for example
    /// `ExponentialBackoff(initial: .milliseconds(50), factor: 3).maximum(.seconds(2)).fullJitter()`.
    public init(
        maxAttempts: Int = 5, strategy: some BackoffStrategy & Hashable,
        classifier: RetryClassifier = RetryClassifier(), honourRetryAfter: Bool = true, retryAfterCap: Duration? = nil
    ) {
        self.init(
            maxAttempts: maxAttempts, classifier: classifier, honourRetryAfter: honourRetryAfter,
            retryAfterCap: retryAfterCap)
        self.strategy = AnyBackoffStrategy(strategy)
    }

    /// Never retry.
    public static let noRetries = RetryPolicy(maxAttempts: 1)
}

/// Why the client slept before a retry.
public struct DelayReason: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The outcome that triggered the retry.
    public var cause: AttemptOutcome
    /// The jittered backoff delay for this retry.
    public var backoff: Duration
    /// The delay the server asked for with `Retry-After` (cut to ``RetryPolicy/retryAfterCap`` if one is set),
    /// if any.
    public var retryAfter: Duration?
    /// Whether `Retry-After` asked for more than ``RetryPolicy/retryAfterCap`` and was cut to it.
    public var retryAfterCapped: Bool

    /// Creates a reason.
    public init(cause: AttemptOutcome, backoff: Duration, retryAfter: Duration? = nil, retryAfterCapped: Bool = false) {
        self.cause = cause
        self.backoff = backoff
        self.retryAfter = retryAfter
        self.retryAfterCapped = retryAfterCapped
    }

    /// E.g. `"503, Retry-After 2 seconds"` or `"connectionRefused, backoff 0.13 seconds"`.
    public var description: String {
        if let retryAfter, retryAfter >= backoff {
            return "\(cause), Retry-After \(retryAfter)\(retryAfterCapped ? " (capped)" : "")"
        }
        return "\(cause), backoff \(backoff)"
    }
}

/// Why a call gave up.
public enum GiveUpReason: Sendable, Equatable, Hashable {
    /// The outcome is final (a 2xx is not a give-up; this is a 4xx, 500, non-idempotent timeout, …).
    case notRetryable
    /// The last attempt was retryable but `maxAttempts` were used.
    case attemptsExhausted
    /// The call's deadline passed, or the next backoff would end after it.
    case deadlineExceeded
    /// The retry budget refused the retry.
    case budgetExhausted
    /// The server's `Retry-After` asked for this wait, and it would end after the call's deadline.
    case retryAfterBeyondDeadline(Duration)
}

/// What to do after an attempt.
public enum RetryDecision: Sendable, Equatable, Hashable {
    /// The attempt succeeded (2xx): return its response.
    case succeed
    /// Sleep `delay`, then send the next attempt.
    case retry(after: Duration, reason: DelayReason)
    /// Stop; the call fails for `reason` with the last attempt's outcome.
    case giveUp(GiveUpReason)
}

/// The per-call retry "brain": a plain value that, given each attempt's outcome and the clock, decides
/// whether to retry, after what delay and why, or how to fail. It does no IO and never sleeps, so the
/// async client and an event-loop engine drive the very same logic.
///
/// ```swift
/// var planner = RetryPlanner(policy: RetryPolicy(), idempotent: true, deadline: .seconds(30))
/// var budget = RetryBudget()
/// var rng = SplitMix64(seed: 7)
/// budget.deposit(now: clock.now)
/// while true {
///     let outcome = send(timeout: planner.attemptTimeout(perAttempt: .seconds(10), now: clock.now))
///     planner.recordAttempt()
///     switch planner.decide(after: outcome, retryAfter: header, now: clock.now,
///                           wallClockSeconds: wallNow, budget: &budget, using: &rng) {
///     case .succeed: return
///     case .retry(let delay, _): sleep(delay)
///     case .giveUp(let reason): throw reason
///     }
/// }
/// ```
public struct RetryPlanner: Sendable, Equatable {
    /// The policy in force.
    public let policy: RetryPolicy
    /// Whether the route may be repeated safely after a timeout or reset.
    public let idempotent: Bool
    /// The absolute deadline on the caller's monotonic clock, if any.
    public let deadline: Duration?
    /// Attempts recorded so far.
    public private(set) var attempts = 0
    /// The previous backoff delay.
    public private(set) var previousDelay: Duration?
    /// This call's copy of the delay schedule.
    private var schedule: AnyBackoffStrategy

    /// Creates a planner for one call.
    ///
    /// - Parameters:
    ///   - policy: the retry policy.
    ///   - idempotent: whether the route is idempotent.
    ///   - deadline: the absolute monotonic time by which the whole call must end, or `nil`.
    public init(policy: RetryPolicy, idempotent: Bool, deadline: Duration?) {
        self.policy = policy
        self.idempotent = idempotent
        self.deadline = deadline
        schedule = policy.strategy ?? policy.backoff.strategy()
    }

    /// The timeout for the next attempt: the smaller of `perAttempt` and the time left before the
    /// deadline; `nil` for no timeout. `.zero` means the deadline has already passed.
    public func attemptTimeout(perAttempt: Duration?, now: Duration) -> Duration? {
        Self.attemptTimeout(perAttempt: perAttempt, deadline: deadline, now: now)
    }

    /// The timeout for an attempt starting at `now`: the smaller of `perAttempt` and the time left
    /// before `deadline`; `nil` for no timeout, `.zero` when the deadline has passed.
    public static func attemptTimeout(perAttempt: Duration?, deadline: Duration?, now: Duration) -> Duration? {
        guard let deadline else { return perAttempt }
        let left = max(.zero, deadline - now)
        guard let perAttempt else { return left }
        return min(perAttempt, left)
    }

    /// Whether the deadline has passed at `now`.
    public func deadlinePassed(now: Duration) -> Bool {
        guard let deadline else { return false }
        return now >= deadline
    }

    /// Counts an attempt as sent. Call once per attempt, before ``decide(after:retryAfter:now:wallClockSeconds:budget:using:)``.
    public mutating func recordAttempt() {
        attempts += 1
    }

    /// Decides what follows an attempt's outcome.
    ///
    /// Order of checks for a retryable outcome: attempts left → delay (backoff, raised to the server's
    /// `Retry-After` if it sent one, cut to ``RetryPolicy/retryAfterCap`` if set) → the deadline must lie beyond
    /// the sleep → the budget must allow a retry (checked last so that a retry that would not happen anyway
    /// spends nothing).
    ///
    /// - Parameters:
    ///   - outcome: what the attempt produced.
    ///   - retryAfter: the parsed `Retry-After` header of the response, if any.
    ///   - now: the monotonic clock now.
    ///   - wallClockSeconds: the wall clock now (seconds since 1970), for HTTP-date `Retry-After`.
    ///   - budget: the client's retry budget; one retry is withdrawn when the decision is `.retry`.
    ///   - rng: the jitter source.
    public mutating func decide(
        after outcome: AttemptOutcome, retryAfter: RetryAfter?, now: Duration, wallClockSeconds: Double,
        budget: inout RetryBudget, using rng: inout some RandomNumberGenerator
    ) -> RetryDecision {
        var verdict = policy.classifier.classify(outcome, idempotent: idempotent)
        if verdict != .success, let predicate = policy.retryPredicate, let retry = predicate(outcome, idempotent: idempotent) {
            verdict = retry ? .retry : .fail
        }
        switch verdict {
        case .success: return .succeed
        case .fail: return .giveUp(.notRetryable)
        case .retry: break
        }
        if deadlinePassed(now: now) { return .giveUp(.deadlineExceeded) }
        guard attempts < policy.maxAttempts else { return .giveUp(.attemptsExhausted) }
        let backoff = schedule.nextDelay(using: &rng)
        var reason = DelayReason(cause: outcome, backoff: backoff)
        var delay = backoff
        if policy.honourRetryAfter, let retryAfter {
            let asked = retryAfter.delay(nowSecondsSince1970: wallClockSeconds, cap: .seconds(Int64.max / 2))
            let wait = policy.retryAfterCap.map { min(asked, $0) } ?? asked
            reason.retryAfter = wait
            reason.retryAfterCapped = wait < asked
            if let deadline, wait > backoff, now + wait >= deadline { return .giveUp(.retryAfterBeyondDeadline(wait)) }
            delay = max(delay, wait)
        }
        if let deadline, now + delay >= deadline { return .giveUp(.deadlineExceeded) }
        guard budget.tryWithdraw(now: now) else { return .giveUp(.budgetExhausted) }
        previousDelay = backoff
        return .retry(after: delay, reason: reason)
    }
}
