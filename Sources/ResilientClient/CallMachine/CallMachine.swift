/// The life of one call as a plain value: admit → attempt → outcome → retry, wait at the gate, or finish.
///
/// It does no IO, reads no clock and never sleeps. Its driver feeds it the time, each attempt's outcome and
/// the random source, and does what the returned ``CallAction`` says: send an attempt, sleep before a retry,
/// wait for the health gate, or finish. ``ResilientClient`` (async/await) and loadgen's engine (an event
/// loop) drive this same machine, so a call behaves the same in both by construction.
///
/// The state shared by every call of a client (its ``RetryBudget`` and ``HealthGate``) and the random source
/// are passed in `inout`: the driver keeps them where it keeps them (under a lock, or on a loop's thread).
///
/// ```swift
/// var machine = CallMachine(policy: policy, idempotent: true, deadline: now + .seconds(30))
/// var action = machine.start(now: now, budget: &budget, gate: &gate)
/// while true {
///     switch action {
///     case .send(let attempt):
///         let outcome = send(timeout: attempt.timeout)
///         action = machine.attemptEnded(attempt.number, outcome, succeeded: outcome.is2xx, retryAfter: nil,
///                                       now: now, wallClockSeconds: wall, budget: &budget, gate: &gate,
///                                       rng: &rng).action
///     case .retry(let delay, _), .pace(let delay): sleep(delay); action = machine.wake(now: now, gate: &gate)
///     case .waitForGate: waitForTheGate(); action = machine.wake(now: now, gate: &gate)
///     case .awaitAttempts: break  // hedging only: wait for an attempt's end or `hedgeAfter`
///     case .finish(let end): return end
///     }
/// }
/// ```
///
/// Modelled on async-http-client's `HTTPRequestStateMachine`: a value type that decides while a thin shell
/// does the IO, tested without sockets or sleeps.
public struct CallMachine: Sendable {
    /// Where the call is.
    public enum State: Sendable, Equatable, Hashable {
        /// Not started.
        case idle
        /// An attempt is in flight (`trial`: a trial call of the gate).
        case attempting(trial: Bool)
        /// A hedged call: one or more attempts in flight (``CallMachine/inFlight``).
        case hedging
        /// Sleeping before the next attempt.
        case sleeping
        /// Waiting for the gate to admit the next attempt.
        case waitingForGate
        /// Waiting for the adaptive rate limiter's token before the next attempt.
        case pacing
        /// Over.
        case finished(CallEnd)
    }

    /// The rules in force.
    public let policy: CallPolicy
    /// Whether the request may be repeated after an ambiguous failure (a timeout, a reset after sending).
    public let idempotent: Bool
    /// The absolute deadline of the whole call on the driver's monotonic clock, or `nil`.
    public let deadline: Duration?
    /// Where the call is.
    public private(set) var state: State = .idle
    /// Attempts sent so far.
    public private(set) var attempts = 0
    /// The outcome of the last attempt that ended, if any.
    public private(set) var lastOutcome: AttemptOutcome?
    /// Made at the first outcome that is not a success: a call whose first attempt succeeds has nothing to plan.
    private var planner: RetryPlanner?
    /// Whether this call is hedged (hedging is configured and the request is idempotent). A flag rather than
    /// a copy of the policy: a call that is not hedged carries nothing of it.
    private let hedged: Bool
    /// A hedged call's attempts in flight.
    public private(set) var inFlight: [CallAttempt] = []

    /// Creates the machine of one call.
    ///
    /// - Parameters:
    ///   - policy: the rules shared by the driver's calls.
    ///   - idempotent: whether the request may be repeated after an ambiguous failure.
    ///   - deadline: the absolute time by which the call must end, or `nil`.
    public init(policy: CallPolicy, idempotent: Bool, deadline: Duration?) {
        self.policy = policy
        self.idempotent = idempotent
        self.deadline = deadline
        self.hedged = idempotent && policy.hedging != nil
    }

    /// Whether the call is over.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Whether attempt `number` is in flight (its end is still awaited).
    public func isInFlight(_ number: Int) -> Bool {
        switch state {
        case .attempting: return number == attempts
        case .hedging: return inFlight.contains { $0.number == number }
        case .idle, .sleeping, .waitingForGate, .pacing, .finished: return false
        }
    }

    /// Starts the call at `now`: pays its deposit into the retry budget and asks the gate for the first attempt.
    public mutating func start(now: Duration, budget: inout RetryBudget, gate: inout HealthGate) -> CallAction {
        var limiter: AdaptiveRateLimiter?
        return start(now: now, budget: &budget, gate: &gate, limiter: &limiter)
    }

    /// Starts the call at `now` behind an adaptive rate limiter (`nil`: none): pays its deposit into the retry
    /// budget and takes a token for the first attempt; when the token is not there yet, the call waits for it
    /// (``CallAction/pace(after:)``), otherwise the gate is asked for the first attempt.
    public mutating func start(
        now: Duration, budget: inout RetryBudget, gate: inout HealthGate, limiter: inout AdaptiveRateLimiter?
    ) -> CallAction {
        guard state == .idle else { return unexpected() }
        budget.deposit(now: now)
        return pacedAttempt(now: now, gate: &gate, limiter: &limiter)
    }

    /// The attempt in flight ended (for a hedged call: attempt `number`, one of those in flight).
    ///
    /// - Parameters:
    ///   - number: the attempt's number.
    ///   - outcome: its status or transport failure.
    ///   - succeeded: whether the driver counts it as a success (the library: a 2xx; loadgen: the scenario's
    ///     expected statuses).
    ///   - retryAfter: the response's parsed `Retry-After`, if any.
    ///   - now: the monotonic time.
    ///   - wallClockSeconds: the wall clock (for an HTTP-date `Retry-After`).
    ///   - budget: the retry budget a retry is withdrawn from.
    ///   - gate: the health gate, told the outcome.
    ///   - rng: the jitter source.
    public mutating func attemptEnded(
        _ number: Int, _ outcome: AttemptOutcome, succeeded: Bool, retryAfter: RetryAfter?, now: Duration,
        wallClockSeconds: Double, budget: inout RetryBudget, gate: inout HealthGate,
        rng: inout some RandomNumberGenerator
    ) -> CallStep {
        if state == .hedging {
            return hedgeEnded(number, outcome, succeeded: succeeded, now: now, budget: &budget, gate: &gate)
        }
        guard case .attempting(let trial) = state else { return CallStep(action: unexpected()) }
        lastOutcome = outcome
        // The gate learns what the endpoint did; an attempt cancelled locally says nothing about it.
        var transition: HealthGate.Transition?
        if outcome == .transport(.cancelled) {
            if trial { gate.releaseTrial() }
        } else {
            let failure = policy.retry.classifier.isEndpointFailure(outcome)
            transition = gate.record(failure ? .failure : .success, trial: trial)
        }
        if succeeded { return CallStep(action: finish(.succeeded), transition: transition) }
        if case .transport = outcome, !policy.retryTransportErrors {
            return CallStep(action: finish(.gaveUp(.notRetryable)), transition: transition)
        }
        var planner = self.planner ?? makePlanner()
        let decision = planner.decide(
            after: outcome, retryAfter: retryAfter, now: now, wallClockSeconds: wallClockSeconds, budget: &budget,
            using: &rng)
        self.planner = planner
        switch decision {
        case .succeed:
            // The classifier calls it a success (a 2xx) but the driver does not (not the status it expected).
            return CallStep(action: finish(.gaveUp(.notRetryable)), transition: transition)
        case .giveUp(let reason):
            return CallStep(action: finish(.gaveUp(reason)), transition: transition)
        case .retry(let delay, let reason):
            state = .sleeping
            return CallStep(action: .retry(after: delay, reason: reason), transition: transition)
        }
    }

    /// The backoff sleep is over, or the gate may have changed, or the deadline of a wait at the gate passed,
    /// or the wait for the rate limiter's token is over: asks the gate for the next attempt.
    public mutating func wake(now: Duration, gate: inout HealthGate) -> CallAction {
        var limiter: AdaptiveRateLimiter?
        return wake(now: now, gate: &gate, limiter: &limiter)
    }

    /// Like ``wake(now:gate:)`` behind an adaptive rate limiter (`nil`: none): after a backoff sleep the
    /// next attempt takes a token first, and waits for it when it is not there yet (``CallAction/pace(after:)``).
    /// A call woken at the gate or after its wait for a token does not take another.
    public mutating func wake(now: Duration, gate: inout HealthGate, limiter: inout AdaptiveRateLimiter?) -> CallAction {
        switch state {
        case .sleeping: return pacedAttempt(now: now, gate: &gate, limiter: &limiter)
        case .waitingForGate, .pacing: return nextAttempt(now: now, gate: &gate)
        case .finished(let end): return .finish(end)
        case .idle, .attempting, .hedging: return unexpected()
        }
    }

    /// Ends the call from outside (`.cancelled`, `.shutdown`): a trial call in flight gives its slot back.
    /// Once finished, the call stays as it ended.
    public mutating func stop(_ end: CallEnd, gate: inout HealthGate) -> CallAction {
        switch state {
        case .finished(let ended): return .finish(ended)
        case .attempting(let trial):
            if trial { gate.releaseTrial() }
        case .hedging: releaseTrials(&gate)
        case .idle, .sleeping, .waitingForGate, .pacing: break
        }
        return finish(end)
    }

    /// The next attempt once it has its token from the limiter, if there is one. A wait that would end past the
    /// call's deadline ends the call at once (the token stays taken: the limiter counts what was asked of it).
    /// Without a limiter, or before it has seen a throttle, this is one `nil` check or one comparison.
    private mutating func pacedAttempt(
        now: Duration, gate: inout HealthGate, limiter: inout AdaptiveRateLimiter?
    ) -> CallAction {
        if let wait = limiter?.reserve(now: now), wait > .zero {
            if let deadline, now + wait >= deadline { return finish(.gaveUp(.deadlineExceeded)) }
            state = .pacing
            return .pace(after: wait)
        }
        return nextAttempt(now: now, gate: &gate)
    }

    /// The next attempt if there is time for it and the gate admits it.
    private mutating func nextAttempt(now: Duration, gate: inout HealthGate) -> CallAction {
        let timeout = RetryPlanner.attemptTimeout(perAttempt: policy.attemptTimeout, deadline: deadline, now: now)
        if let timeout, timeout <= .zero { return finish(.gaveUp(.deadlineExceeded)) }
        switch gate.admit() {
        case .proceed(let trial):
            attempts += 1
            if hedged, let hedging = policy.hedging { return sendHedge(trial: trial, timeout: timeout, hedging) }
            planner?.recordAttempt()
            state = .attempting(trial: trial)
            return .send(CallAttempt(number: attempts, trial: trial, timeout: timeout))
        case .wait:
            if policy.gateWaitMode == .failFast { return finish(.gateBlocked) }
            state = .waitingForGate
            return .waitForGate(deadline: deadline)
        }
    }

    // MARK: - Hedging

    /// The hedge timer of the latest attempt fired with attempts still in flight: sends the next hedge if
    /// the policy, the deadline, the retry budget and the gate allow it.
    public mutating func hedgeDue(now: Duration, budget: inout RetryBudget, gate: inout HealthGate) -> CallAction {
        guard state == .hedging else {
            if case .finished(let end) = state { return .finish(end) }
            return .awaitAttempts  // a timer that outlived its hedge
        }
        return nextHedge(now: now, budget: &budget, gate: &gate)
    }

    /// Attempt `number` of a hedged call ended.
    private mutating func hedgeEnded(
        _ number: Int, _ outcome: AttemptOutcome, succeeded: Bool, now: Duration, budget: inout RetryBudget,
        gate: inout HealthGate
    ) -> CallStep {
        guard let hedging = policy.hedging, let index = inFlight.firstIndex(where: { $0.number == number }) else {
            return CallStep(action: .awaitAttempts)  // not one in flight: ignored
        }
        let attempt = inFlight.remove(at: index)
        lastOutcome = outcome
        var transition: HealthGate.Transition?
        if outcome == .transport(.cancelled) {
            if attempt.trial { gate.releaseTrial() }
        } else {
            let failure = policy.retry.classifier.isEndpointFailure(outcome)
            transition = gate.record(failure ? .failure : .success, trial: attempt.trial)
        }
        if succeeded { return CallStep(action: endHedging(.succeeded, gate: &gate), transition: transition) }
        let transportAllowed: Bool
        if case .transport = outcome { transportAllowed = policy.retryTransportErrors } else { transportAllowed = true }
        guard transportAllowed, hedging.isNonFatal(outcome, classifier: policy.retry.classifier, idempotent: idempotent)
        else {
            return CallStep(action: endHedging(.gaveUp(.notRetryable), gate: &gate), transition: transition)
        }
        // Non-fatal: the others run on, and the next hedge goes at once.
        let next = nextHedge(now: now, budget: &budget, gate: &gate)
        return CallStep(action: next, transition: transition)
    }

    /// The next hedge, or what is left to do without one.
    private mutating func nextHedge(now: Duration, budget: inout RetryBudget, gate: inout HealthGate) -> CallAction {
        guard let hedging = policy.hedging else { return unexpected() }
        let timeout = RetryPlanner.attemptTimeout(perAttempt: policy.attemptTimeout, deadline: deadline, now: now)
        var cannot: GiveUpReason?
        if attempts >= hedging.maxAttempts {
            cannot = .attemptsExhausted
        } else if let timeout, timeout <= .zero {
            cannot = .deadlineExceeded
        } else if !budget.tryWithdraw(now: now) {
            cannot = .budgetExhausted
        } else if case .proceed(let trial) = gate.admit() {
            attempts += 1
            return sendHedge(trial: trial, timeout: timeout, hedging)
        } else {
            cannot = .attemptsExhausted  // the gate holds it: no more hedges
        }
        if !inFlight.isEmpty { return .awaitAttempts }
        return finish(.gaveUp(cannot ?? .attemptsExhausted))
    }

    private mutating func sendHedge(trial: Bool, timeout: Duration?, _ hedging: HedgingPolicy) -> CallAction {
        let attempt = CallAttempt(
            number: attempts, trial: trial, timeout: timeout,
            hedgeAfter: attempts < hedging.maxAttempts ? hedging.delay : nil)
        inFlight.append(attempt)
        state = .hedging
        return .send(attempt)
    }

    /// Ends a hedged call; the attempts still in flight are losers, and their trial slots go back to the gate.
    private mutating func endHedging(_ end: CallEnd, gate: inout HealthGate) -> CallAction {
        releaseTrials(&gate)
        return finish(end)
    }

    private mutating func releaseTrials(_ gate: inout HealthGate) {
        for attempt in inFlight where attempt.trial { gate.releaseTrial() }
    }

    // MARK: -

    private func makePlanner() -> RetryPlanner {
        var planner = RetryPlanner(policy: policy.retry, idempotent: idempotent, deadline: deadline)
        for _ in 0..<attempts { planner.recordAttempt() }
        return planner
    }

    private mutating func finish(_ end: CallEnd) -> CallAction {
        state = .finished(end)
        return .finish(end)
    }

    /// An input the state does not expect (a driver bug): the call keeps its state, and a finished call
    /// repeats how it ended; otherwise it ends as shut down rather than trap.
    private mutating func unexpected() -> CallAction {
        if case .finished(let end) = state { return .finish(end) }
        return finish(.shutdown)
    }
}
