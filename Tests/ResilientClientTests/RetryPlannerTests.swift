import Testing

@testable import ResilientClient

@Suite struct RetryClassifierTests {
    let classifier = RetryClassifier()

    @Test func statusTable() {
        for code in [200, 201, 204, 299] {
            #expect(classifier.classify(.status(code), idempotent: false) == .success)
        }
        for code in [429, 503] {
            #expect(classifier.classify(.status(code), idempotent: false) == .retry)
            #expect(classifier.classify(.status(code), idempotent: true) == .retry)
        }
        for code in [502, 504] {
            #expect(classifier.classify(.status(code), idempotent: true) == .retry)
            #expect(classifier.classify(.status(code), idempotent: false) == .fail)
        }
        for code in [100, 301, 400, 404, 422, 500, 501] {
            #expect(classifier.classify(.status(code), idempotent: true) == .fail)
        }
    }

    @Test func transportTable() {
        let always: [TransportError.Kind] = [.connectionRefused, .connectTimeout, .connectionClosed(requestSent: false)]
        let idempotentOnly: [TransportError.Kind] = [.responseTimeout, .connectionClosed(requestSent: true)]
        let never: [TransportError.Kind] = [.protocolError, .responseTooLarge, .other]
        for kind in always {
            #expect(classifier.classify(.transport(kind), idempotent: false) == .retry)
            #expect(classifier.classify(.transport(kind), idempotent: true) == .retry)
        }
        for kind in idempotentOnly {
            #expect(classifier.classify(.transport(kind), idempotent: true) == .retry)
            #expect(classifier.classify(.transport(kind), idempotent: false) == .fail)
        }
        for kind in never {
            #expect(classifier.classify(.transport(kind), idempotent: true) == .fail)
        }
    }

    @Test func customStatusSets() {
        let custom = RetryClassifier(alwaysRetryableStatuses: [503, 429], idempotentRetryableStatuses: [])
        #expect(custom.classify(.status(429), idempotent: false) == .retry)
        #expect(custom.classify(.status(502), idempotent: true) == .fail)
        #expect(custom.isEndpointFailure(.status(429)))
    }

    @Test func endpointFailures() {
        for code in [502, 503, 504] { #expect(classifier.isEndpointFailure(.status(code))) }
        for code in [200, 400, 404, 422, 500] { #expect(!classifier.isEndpointFailure(.status(code))) }
        #expect(classifier.isEndpointFailure(.transport(.connectionRefused)))
        #expect(classifier.isEndpointFailure(.transport(.responseTimeout)))
        #expect(classifier.isEndpointFailure(.transport(.connectTimeout)))
        #expect(classifier.isEndpointFailure(.transport(.connectionClosed(requestSent: true))))
        #expect(!classifier.isEndpointFailure(.transport(.protocolError)))
        #expect(!classifier.isEndpointFailure(.transport(.responseTooLarge)))
        #expect(!classifier.isEndpointFailure(.transport(.other)))
    }
}

@Suite struct RetryPlannerTests {
    let fixedBackoff = Backoff(base: .milliseconds(100), multiplier: 2, cap: .seconds(1), jitter: .none)

    func policy(attempts: Int = 4) -> RetryPolicy {
        RetryPolicy(maxAttempts: attempts, backoff: fixedBackoff)
    }

    /// Runs a planner over scripted outcomes, advancing a virtual clock by each delay plus `latency`.
    func simulate(
        _ outcomes: [AttemptOutcome], policy: RetryPolicy, idempotent: Bool = true, deadline: Duration? = nil,
        retryAfter: RetryAfter? = nil, budget: inout RetryBudget, latency: Duration = .milliseconds(10)
    ) -> (decisions: [RetryDecision], attempts: Int, now: Duration) {
        var planner = RetryPlanner(policy: policy, idempotent: idempotent, deadline: deadline)
        var rng = SplitMix64(seed: 9)
        var now = Duration.zero
        var decisions: [RetryDecision] = []
        for outcome in outcomes {
            planner.recordAttempt()
            now += latency
            let decision = planner.decide(
                after: outcome, retryAfter: retryAfter, now: now, wallClockSeconds: 0, budget: &budget, using: &rng)
            decisions.append(decision)
            guard case .retry(let delay, _) = decision else { break }
            now += delay
        }
        return (decisions, planner.attempts, now)
    }

    @Test func transient503IsRetriedThenSucceeds() {
        var budget = RetryBudget(.unlimited)
        let run = simulate([.status(503), .status(503), .status(200)], policy: policy(), budget: &budget)
        #expect(run.decisions == [
            .retry(after: .milliseconds(100), reason: DelayReason(cause: .status(503), backoff: .milliseconds(100))),
            .retry(after: .milliseconds(200), reason: DelayReason(cause: .status(503), backoff: .milliseconds(200))),
            .succeed,
        ])
        #expect(run.attempts == 3)
        #expect(run.now == .milliseconds(330))
    }

    @Test func attemptsAreExhausted() {
        var budget = RetryBudget(.unlimited)
        let run = simulate(Array(repeating: .status(503), count: 10), policy: policy(attempts: 3), budget: &budget)
        #expect(run.decisions.count == 3)
        #expect(run.decisions.last == .giveUp(.attemptsExhausted))
        #expect(run.attempts == 3)
    }

    @Test func singleAttemptPolicyNeverRetries() {
        var budget = RetryBudget(.unlimited)
        let run = simulate([.status(503)], policy: .noRetries, budget: &budget)
        #expect(run.decisions == [.giveUp(.attemptsExhausted)])
    }

    @Test func finalOutcomesAreNotRetried() {
        for outcome: AttemptOutcome in [.status(400), .status(422), .status(500), .transport(.protocolError)] {
            var budget = RetryBudget(.unlimited)
            let run = simulate([outcome, .status(200)], policy: policy(), budget: &budget)
            #expect(run.decisions == [.giveUp(.notRetryable)])
        }
    }

    @Test func idempotenceDecidesTimeoutsAnd502() {
        for outcome: AttemptOutcome in [.status(502), .status(504), .transport(.responseTimeout),
                                        .transport(.connectionClosed(requestSent: true))] {
            var budget = RetryBudget(.unlimited)
            let yes = simulate([outcome, .status(200)], policy: policy(), idempotent: true, budget: &budget)
            #expect(yes.decisions.last == .succeed)
            let no = simulate([outcome, .status(200)], policy: policy(), idempotent: false, budget: &budget)
            #expect(no.decisions == [.giveUp(.notRetryable)])
        }
        var budget = RetryBudget(.unlimited)
        let refused = simulate([.transport(.connectionRefused), .status(200)], policy: policy(), idempotent: false, budget: &budget)
        #expect(refused.decisions.last == .succeed)
    }

    @Test func retryAfterIsHonouredAsSentBeyondTheBackoffCap() {
        var budget = RetryBudget(.unlimited)
        let asked = simulate([.status(503), .status(200)], policy: policy(), retryAfter: .seconds(0), budget: &budget)
        // Retry-After 0 does not shorten the backoff.
        #expect(asked.decisions.first == .retry(after: .milliseconds(100), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100), retryAfter: .zero)))
        let longer = simulate([.status(503), .status(200)], policy: policy(), retryAfter: .seconds(1), budget: &budget)
        #expect(longer.decisions.first == .retry(after: .seconds(1), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100), retryAfter: .seconds(1))))
        // The backoff cap (1 s here) does not cut the server's wait: without a deadline, an hour is an hour.
        let hour = simulate([.status(503), .status(200)], policy: policy(), retryAfter: .seconds(3600), budget: &budget)
        #expect(hour.decisions.first == .retry(after: .seconds(3600), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100), retryAfter: .seconds(3600))))
    }

    @Test func retryAfterBeyondTheDeadlineFailsAtOnceNamingTheWait() {
        var budget = RetryBudget(.unlimited)
        let run = simulate(
            [.status(503), .status(200)], policy: policy(), deadline: .seconds(30), retryAfter: .seconds(60),
            budget: &budget)
        #expect(run.decisions == [.giveUp(.retryAfterBeyondDeadline(.seconds(60)))])
        #expect(run.attempts == 1)
        // Nothing was withdrawn from the budget for a retry that did not happen.
        var limited = RetryBudget(.init(window: .seconds(10), minRetriesPerSecond: 1, retryRatio: 0))
        let before = limited.available(now: .zero)
        _ = simulate(
            [.status(503), .status(200)], policy: policy(), deadline: .seconds(30), retryAfter: .seconds(60),
            budget: &limited)
        #expect(limited.available(now: .zero) == before)
        // A wait that fits before the deadline is slept.
        let fits = simulate(
            [.status(503), .status(200)], policy: policy(), deadline: .seconds(30), retryAfter: .seconds(20),
            budget: &budget)
        #expect(fits.decisions.first == .retry(after: .seconds(20), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100), retryAfter: .seconds(20))))
    }

    @Test func retryAfterCapCutsLongWaits() {
        var budget = RetryBudget(.unlimited)
        var capped = policy()
        capped.retryAfterCap = .seconds(2)
        let run = simulate([.status(503), .status(200)], policy: capped, retryAfter: .seconds(3600), budget: &budget)
        #expect(run.decisions.first == .retry(after: .seconds(2), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100), retryAfter: .seconds(2), retryAfterCapped: true)))
        guard case .retry(_, let reason) = run.decisions.first else { Issue.record("no retry"); return }
        #expect(reason.description.contains("Retry-After"))
        #expect(reason.description.contains("capped"))
    }

    @Test func retryAfterCanBeIgnored() {
        var budget = RetryBudget(.unlimited)
        var p = policy()
        p.honourRetryAfter = false
        let run = simulate([.status(503), .status(200)], policy: p, retryAfter: .seconds(1), budget: &budget)
        #expect(run.decisions.first == .retry(after: .milliseconds(100), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100))))
    }

    @Test func retryAfterDateUsesTheWallClock() {
        var planner = RetryPlanner(policy: policy(), idempotent: true, deadline: nil)
        var budget = RetryBudget(.unlimited)
        var rng = SplitMix64(seed: 1)
        planner.recordAttempt()
        let decision = planner.decide(
            after: .status(503), retryAfter: .date(secondsSince1970: 1000), now: .zero, wallClockSeconds: 999.5,
            budget: &budget, using: &rng)
        #expect(decision == .retry(after: .milliseconds(500), reason: DelayReason(
            cause: .status(503), backoff: .milliseconds(100), retryAfter: .milliseconds(500))))
    }

    @Test func deadlineStopsRetriesThatCouldNotComplete() {
        var budget = RetryBudget(.unlimited)
        // 10 ms + 100 ms + 10 ms + 200 ms would cross 250 ms: give up after the second attempt.
        let run = simulate(Array(repeating: .status(503), count: 5), policy: policy(), deadline: .milliseconds(250), budget: &budget)
        #expect(run.decisions.count == 2)
        #expect(run.decisions.last == .giveUp(.deadlineExceeded))
        // An outcome reported after the deadline is not retried either.
        let late = simulate([.status(503)], policy: policy(), deadline: .milliseconds(5), budget: &budget)
        #expect(late.decisions == [.giveUp(.deadlineExceeded)])
    }

    @Test func attemptTimeoutIsBoundedByTheDeadline() {
        let planner = RetryPlanner(policy: policy(), idempotent: true, deadline: .seconds(10))
        #expect(planner.attemptTimeout(perAttempt: .seconds(3), now: .seconds(1)) == .seconds(3))
        #expect(planner.attemptTimeout(perAttempt: .seconds(3), now: .seconds(8)) == .seconds(2))
        #expect(planner.attemptTimeout(perAttempt: nil, now: .seconds(4)) == .seconds(6))
        #expect(planner.attemptTimeout(perAttempt: .seconds(3), now: .seconds(11)) == .zero)
        #expect(planner.deadlinePassed(now: .seconds(10)))
        #expect(!planner.deadlinePassed(now: .seconds(9)))
        let unbounded = RetryPlanner(policy: policy(), idempotent: true, deadline: nil)
        #expect(unbounded.attemptTimeout(perAttempt: nil, now: .seconds(1)) == nil)
        #expect(unbounded.attemptTimeout(perAttempt: .seconds(2), now: .seconds(1)) == .seconds(2))
        #expect(!unbounded.deadlinePassed(now: .seconds(1_000_000)))
    }

    @Test func emptyBudgetFailsFastAndIsNotChargedForImpossibleRetries() {
        var budget = RetryBudget(.init(minRetriesPerSecond: 0, retryRatio: 0))
        let run = simulate([.status(503), .status(200)], policy: policy(), budget: &budget)
        #expect(run.decisions == [.giveUp(.budgetExhausted)])
        var one = RetryBudget(.init(window: .seconds(1), minRetriesPerSecond: 1, retryRatio: 0))
        _ = simulate([.status(503)], policy: .noRetries, budget: &one)
        _ = simulate([.status(503)], policy: policy(), deadline: .milliseconds(20), budget: &one)
        #expect(one.available(now: .milliseconds(10)) == 1)
        let run2 = simulate([.status(503), .status(503), .status(503)], policy: policy(), budget: &one)
        #expect(run2.decisions.count == 2)
        #expect(run2.decisions.last == .giveUp(.budgetExhausted))
    }

    @Test func decorrelatedJitterFeedsThePreviousDelay() {
        var p = policy(attempts: 20)
        p.backoff = Backoff(base: .milliseconds(10), multiplier: 2, cap: .seconds(10), jitter: .decorrelated)
        var budget = RetryBudget(.unlimited)
        let run = simulate(Array(repeating: .status(503), count: 20), policy: p, budget: &budget)
        var previous = Duration.milliseconds(10)
        for decision in run.decisions.dropLast() {
            guard case .retry(let delay, _) = decision else { Issue.record("expected retry"); return }
            #expect(delay >= .milliseconds(10) && delay <= previous * 3)
            previous = delay
        }
        #expect(run.decisions.last == .giveUp(.attemptsExhausted))
    }

    @Test func policyDefaults() {
        let p = RetryPolicy()
        #expect(p.maxAttempts == 5 && p.honourRetryAfter && p.backoff == Backoff() && p.classifier == RetryClassifier())
        #expect(RetryPolicy(maxAttempts: 0).maxAttempts == 1)
        #expect(DelayReason(cause: .status(503), backoff: .seconds(1)).description == "503, backoff 1.0 seconds")
        #expect(AttemptOutcome.transport(.connectionRefused).description == "connectionRefused")
    }
}

@Suite struct RetryPredicateTests {
    func decide(_ outcome: AttemptOutcome, idempotent: Bool = true, policy: RetryPolicy) -> RetryDecision {
        var planner = RetryPlanner(policy: policy, idempotent: idempotent, deadline: nil)
        var budget = RetryBudget(.unlimited)
        var rng = SplitMix64(seed: 1)
        planner.recordAttempt()
        return planner.decide(after: outcome, retryAfter: nil, now: .zero, wallClockSeconds: 0, budget: &budget, using: &rng)
    }

    @Test("the predicate is asked first: true retries, false stops, nil leaves it to the status sets")
    func predicateOverridesTheClassifier() {
        let predicate = RetryPredicate { outcome, idempotent in
            switch outcome {
            case .status(500): return idempotent
            case .status(503): return false
            default: return nil
            }
        }
        let policy = RetryPolicy(retryPredicate: predicate)
        func retried(_ decision: RetryDecision) -> Bool {
            if case .retry = decision { return true }
            return false
        }
        #expect(retried(decide(.status(500), policy: policy)))
        #expect(decide(.status(500), idempotent: false, policy: policy) == .giveUp(.notRetryable))
        #expect(decide(.status(503), policy: policy) == .giveUp(.notRetryable))
        #expect(retried(decide(.status(429), policy: policy)))  // nil: the classifier's default retries 429
        #expect(decide(.status(404), policy: policy) == .giveUp(.notRetryable))
        // A 2xx is a success whatever the predicate says.
        let always = RetryPolicy(retryPredicate: RetryPredicate { _, _ in true })
        #expect(decide(.status(200), policy: always) == .succeed)
        // Without a predicate, 500 is not retried.
        #expect(decide(.status(500), policy: RetryPolicy()) == .giveUp(.notRetryable))
    }

    @Test("predicates compare by identity")
    func identity() {
        let a = RetryPredicate { _, _ in nil }
        let b = RetryPredicate { _, _ in nil }
        #expect(a == a && a != b)
        #expect(RetryPolicy(retryPredicate: a) == RetryPolicy(retryPredicate: a))
        #expect(RetryPolicy(retryPredicate: a) != RetryPolicy(retryPredicate: b))
    }
}
