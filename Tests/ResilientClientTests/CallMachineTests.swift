import Testing

@testable import ResilientClient

/// The call machine on its own: scripted outcomes and times in, actions out. No IO, no clock, no sleep.
@Suite struct CallMachineTests {
    /// A call's world: the shared budget and gate, the jitter source, and the time.
    struct World {
        var budget = RetryBudget(.unlimited)
        var gate = HealthGate(.init(failureThreshold: 2, trialCalls: 1))
        var rng = SplitMix64(seed: 1)
        var now: Duration = .zero
    }

    static func policy(
        maxAttempts: Int = 5, attemptTimeout: Duration? = .seconds(10), mode: GateWaitMode = .wait,
        retryTransportErrors: Bool = true
    ) -> CallPolicy {
        CallPolicy(
            retry: RetryPolicy(
                maxAttempts: maxAttempts, backoff: Backoff(base: .milliseconds(100), multiplier: 2, cap: .seconds(1), jitter: .none)),
            attemptTimeout: attemptTimeout, gateWaitMode: mode, retryTransportErrors: retryTransportErrors)
    }

    static func ended(
        _ machine: inout CallMachine, _ world: inout World, _ outcome: AttemptOutcome, succeeded: Bool? = nil,
        retryAfter: RetryAfter? = nil
    ) -> CallStep {
        let success = succeeded ?? (outcome == .status(200))
        return machine.attemptEnded(
            machine.inFlight.last?.number ?? machine.attempts, outcome, succeeded: success, retryAfter: retryAfter, now: world.now, wallClockSeconds: 0,
            budget: &world.budget, gate: &world.gate, rng: &world.rng)
    }

    @Test func firstAttemptSucceeds() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: .seconds(30))
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))))
        #expect(machine.state == .attempting(trial: false))
        world.now = .milliseconds(5)
        #expect(Self.ended(&machine, &world, .status(200)) == CallStep(action: .finish(.succeeded)))
        #expect(machine.state == .finished(.succeeded))
        #expect(machine.attempts == 1)
    }

    @Test func retries503WithTheBackoffThenSucceeds() {
        var world = World()
        world.gate = HealthGate()  // two 503s do not close it
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        var actions = [machine.start(now: world.now, budget: &world.budget, gate: &world.gate)]
        for outcome in [AttemptOutcome.status(503), .status(503), .status(200)] {
            world.now += .milliseconds(1)
            let action = Self.ended(&machine, &world, outcome).action
            actions.append(action)
            if case .retry(let delay, _) = action {
                world.now += delay
                actions.append(machine.wake(now: world.now, gate: &world.gate))
            }
        }
        #expect(actions == [
            .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))),
            .retry(after: .milliseconds(100), reason: DelayReason(cause: .status(503), backoff: .milliseconds(100))),
            .send(CallAttempt(number: 2, trial: false, timeout: .seconds(10))),
            .retry(after: .milliseconds(200), reason: DelayReason(cause: .status(503), backoff: .milliseconds(200))),
            .send(CallAttempt(number: 3, trial: false, timeout: .seconds(10))),
            .finish(.succeeded),
        ])
    }

    @Test func retryAfterLongerThanTheBackoffIsSlept() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        let step = Self.ended(&machine, &world, .status(503), retryAfter: RetryAfter(headerValue: "1", nowSecondsSince1970: 0))
        guard case .retry(let delay, let reason) = step.action else {
            Issue.record("expected a retry, got \(step.action)")
            return
        }
        #expect(delay == .seconds(1))
        #expect(reason.retryAfter == .seconds(1))
    }

    @Test func givesUpWhenAttemptsAreUsed() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(maxAttempts: 2), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        _ = Self.ended(&machine, &world, .status(503))
        #expect(machine.wake(now: .seconds(1), gate: &world.gate) == .send(CallAttempt(number: 2, trial: false, timeout: .seconds(10))))
        #expect(Self.ended(&machine, &world, .status(503)).action == .finish(.gaveUp(.attemptsExhausted)))
        #expect(machine.lastOutcome == .status(503))
    }

    @Test func nonRetryableOutcomesEndTheCall() {
        for (outcome, idempotent) in [(AttemptOutcome.status(400), true), (.status(500), true), (.transport(.responseTimeout), false)] {
            var world = World()
            var machine = CallMachine(policy: Self.policy(), idempotent: idempotent, deadline: nil)
            _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
            #expect(Self.ended(&machine, &world, outcome).action == .finish(.gaveUp(.notRetryable)), "\(outcome)")
        }
    }

    @Test func aNeverSentTimeoutIsRetriedEvenWhenNotIdempotent() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(), idempotent: false, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        guard case .retry = Self.ended(&machine, &world, .transport(.connectTimeout)).action else {
            Issue.record("a connect timeout sent nothing: it is retried")
            return
        }
    }

    @Test func transportErrorsEndTheCallWhenTheyMayNotBeRetried() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(retryTransportErrors: false), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(Self.ended(&machine, &world, .transport(.connectionRefused)).action == .finish(.gaveUp(.notRetryable)))
    }

    @Test func aStatusTheDriverDoesNotCountAsSuccessFails() {
        // loadgen expected 201 and got 200: the classifier calls it a success, the driver does not.
        var world = World()
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(Self.ended(&machine, &world, .status(200), succeeded: false).action == .finish(.gaveUp(.notRetryable)))
        // ... and a 404 it expected succeeds.
        var other = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = other.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(Self.ended(&other, &world, .status(404), succeeded: true).action == .finish(.succeeded))
    }

    @Test func anEmptyBudgetRefusesTheRetry() {
        var world = World()
        world.budget = RetryBudget(.init(minRetriesPerSecond: 0, retryRatio: 0))
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(Self.ended(&machine, &world, .status(503)).action == .finish(.gaveUp(.budgetExhausted)))
    }

    @Test func theCallDepositsIntoTheBudgetWhenItStarts() {
        var world = World()
        world.budget = RetryBudget(.init(minRetriesPerSecond: 0, retryRatio: 1))
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        #expect(world.budget.available(now: .zero) == 0)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(world.budget.available(now: .zero) == 1)
    }

    @Test func theAttemptTimeoutShrinksToTheDeadlineAndTheCallEndsThere() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(attemptTimeout: .seconds(1)), idempotent: true, deadline: .milliseconds(250))
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: false, timeout: .milliseconds(250))))
        world.now = .milliseconds(10)
        #expect(Self.ended(&machine, &world, .status(503)).action
            == .retry(after: .milliseconds(100), reason: DelayReason(cause: .status(503), backoff: .milliseconds(100))))
        #expect(machine.wake(now: .milliseconds(110), gate: &world.gate)
            == .send(CallAttempt(number: 2, trial: false, timeout: .milliseconds(140))))
        world.now = .milliseconds(200)
        // The next backoff (200 ms) would end after the deadline.
        #expect(Self.ended(&machine, &world, .status(503)).action == .finish(.gaveUp(.deadlineExceeded)))
    }

    @Test func noTimeLeftMeansNoAttempt() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: .zero)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate) == .finish(.gaveUp(.deadlineExceeded)))
        #expect(machine.attempts == 0)
    }

    @Test func reportsTheGateTransitionItsOutcomeCaused() {
        var world = World()
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(Self.ended(&machine, &world, .status(503)).transition == nil)
        _ = machine.wake(now: .seconds(1), gate: &world.gate)
        let step = Self.ended(&machine, &world, .status(503))
        #expect(step.transition == HealthGate.Transition(from: .passing, to: .blocked))
        guard case .retry = step.action else {
            Issue.record("the planner still decides the retry; the gate holds it when it is due")
            return
        }
        // The retry is due: the gate holds it until the deadline.
        #expect(machine.wake(now: .seconds(2), gate: &world.gate) == .waitForGate(deadline: nil))
        #expect(machine.state == .waitingForGate)
    }

    @Test func waitsAtTheClosedGateThenGoesAsTheTrial() {
        var world = World()
        closeGate(&world)
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: .seconds(5))
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate) == .waitForGate(deadline: .seconds(5)))
        // Woken while still closed: waits on.
        #expect(machine.wake(now: .seconds(1), gate: &world.gate) == .waitForGate(deadline: .seconds(5)))
        _ = world.gate.beginProbing()
        _ = world.gate.recordProbe(healthy: true)
        #expect(machine.wake(now: .seconds(2), gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: true, timeout: .seconds(3))))
        let step = Self.ended(&machine, &world, .status(200))
        #expect(step == CallStep(action: .finish(.succeeded), transition: .init(from: .trial, to: .passing)))
    }

    @Test func aWaitAtTheGateEndsAtTheDeadline() {
        var world = World()
        closeGate(&world)
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: .seconds(5))
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(machine.wake(now: .seconds(5), gate: &world.gate) == .finish(.gaveUp(.deadlineExceeded)))
    }

    @Test func failFastAtTheClosedGate() {
        var world = World()
        closeGate(&world)
        var machine = CallMachine(policy: Self.policy(mode: .failFast), idempotent: true, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate) == .finish(.gateBlocked))
        #expect(machine.attempts == 0)
    }

    @Test func aStoppedTrialGivesItsSlotToTheNextCall() {
        var world = World()
        closeGate(&world)
        _ = world.gate.beginProbing()
        _ = world.gate.recordProbe(healthy: true)  // trial state, one trial call
        var first = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        var second = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        #expect(first.start(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: true, timeout: .seconds(10))))
        #expect(second.start(now: world.now, budget: &world.budget, gate: &world.gate) == .waitForGate(deadline: nil))
        #expect(first.stop(.cancelled, gate: &world.gate) == .finish(.cancelled))
        #expect(second.wake(now: world.now, gate: &world.gate) == .send(CallAttempt(number: 1, trial: true, timeout: .seconds(10))))
        // A late answer to the stopped call changes nothing.
        #expect(Self.ended(&first, &world, .status(503)).action == .finish(.cancelled))
        #expect(world.gate.state == .trial)
    }

    @Test func aCancelledAttemptSaysNothingAboutTheEndpoint() {
        var world = World()
        world.gate = HealthGate(.init(failureThreshold: 1))
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        let step = Self.ended(&machine, &world, .transport(.cancelled))
        #expect(step == CallStep(action: .finish(.gaveUp(.notRetryable))))
        #expect(world.gate.state == .passing)
    }

    @Test func shutdownEndsAWaitingCall() {
        var world = World()
        closeGate(&world)
        var machine = CallMachine(policy: Self.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        #expect(machine.stop(.shutdown, gate: &world.gate) == .finish(.shutdown))
        #expect(machine.wake(now: .seconds(1), gate: &world.gate) == .finish(.shutdown))
    }

    private func closeGate(_ world: inout World) {
        _ = world.gate.admit()
        _ = world.gate.record(.failure, trial: false)
        _ = world.gate.admit()
        _ = world.gate.record(.failure, trial: false)
        #expect(world.gate.state == .blocked)
    }

    // MARK: - Hedging (gRPC A6)

    static func hedged(maxAttempts: Int = 2, nonFatal: Set<Int> = [503]) -> CallPolicy {
        CallPolicy(
            retry: RetryPolicy(), attemptTimeout: .seconds(10), gateWaitMode: .wait,
            hedging: HedgingPolicy(delay: .milliseconds(20), maxAttempts: maxAttempts, nonFatalStatuses: nonFatal))
    }

    @Test func aHedgeGoesAfterTheDelayAndTheFirstSuccessWins() {
        var world = World()
        var machine = CallMachine(policy: Self.hedged(), idempotent: true, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10), hedgeAfter: .milliseconds(20))))
        world.now = .milliseconds(20)
        // The last allowed attempt arms no further hedge.
        #expect(machine.hedgeDue(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 2, trial: false, timeout: .seconds(10))))
        #expect(machine.inFlight.map(\.number) == [1, 2])
        world.now = .milliseconds(23)
        let step = machine.attemptEnded(
            2, .status(200), succeeded: true, retryAfter: nil, now: world.now, wallClockSeconds: 0, budget: &world.budget,
            gate: &world.gate, rng: &world.rng)
        #expect(step.action == .finish(.succeeded))
        // Attempt 1 is the loser the driver cancels; its late answer changes nothing.
        #expect(machine.inFlight.map(\.number) == [1])
        #expect(!machine.isInFlight(1))
        #expect(Self.ended(&machine, &world, .status(503)).action == .finish(.succeeded))
    }

    @Test func aNonFatalFailureSendsTheNextHedgeAtOnce() {
        var world = World()
        var machine = CallMachine(policy: Self.hedged(maxAttempts: 3), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        world.now = .milliseconds(1)
        let step = machine.attemptEnded(
            1, .status(503), succeeded: false, retryAfter: nil, now: world.now, wallClockSeconds: 0,
            budget: &world.budget, gate: &world.gate, rng: &world.rng)
        #expect(step.action == .send(CallAttempt(number: 2, trial: false, timeout: .seconds(10), hedgeAfter: .milliseconds(20))))
    }

    @Test func aFatalFailureEndsTheCallWithOthersInFlight() {
        var world = World()
        var machine = CallMachine(policy: Self.hedged(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        _ = machine.hedgeDue(now: .milliseconds(20), budget: &world.budget, gate: &world.gate)
        let step = machine.attemptEnded(
            1, .status(500), succeeded: false, retryAfter: nil, now: .milliseconds(21), wallClockSeconds: 0,
            budget: &world.budget, gate: &world.gate, rng: &world.rng)
        #expect(step.action == .finish(.gaveUp(.notRetryable)))
        #expect(machine.inFlight.map(\.number) == [2])  // the loser to cancel
    }

    @Test func nonFatalFailuresWaitForTheOthersThenExhaustTheAttempts() {
        var world = World()
        var machine = CallMachine(policy: Self.hedged(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        _ = machine.hedgeDue(now: .milliseconds(20), budget: &world.budget, gate: &world.gate)
        let first = machine.attemptEnded(
            1, .status(503), succeeded: false, retryAfter: nil, now: .milliseconds(21), wallClockSeconds: 0,
            budget: &world.budget, gate: &world.gate, rng: &world.rng)
        #expect(first.action == .awaitAttempts)
        let second = machine.attemptEnded(
            2, .status(503), succeeded: false, retryAfter: nil, now: .milliseconds(22), wallClockSeconds: 0,
            budget: &world.budget, gate: &world.gate, rng: &world.rng)
        #expect(second.action == .finish(.gaveUp(.attemptsExhausted)))
    }

    @Test func hedgesDrawOnTheRetryBudget() {
        var world = World()
        world.budget = RetryBudget(.init(minRetriesPerSecond: 0, retryRatio: 0))
        var machine = CallMachine(policy: Self.hedged(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
        // No budget: no hedge; the first attempt runs on.
        #expect(machine.hedgeDue(now: .milliseconds(20), budget: &world.budget, gate: &world.gate) == .awaitAttempts)
        #expect(machine.attempts == 1)
        let step = machine.attemptEnded(
            1, .status(503), succeeded: false, retryAfter: nil, now: .milliseconds(30), wallClockSeconds: 0,
            budget: &world.budget, gate: &world.gate, rng: &world.rng)
        #expect(step.action == .finish(.gaveUp(.budgetExhausted)))
    }

    @Test func aRequestThatIsNotIdempotentIsRetriedNotHedged() {
        var world = World()
        var machine = CallMachine(policy: Self.hedged(), idempotent: false, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))))
        guard case .retry = Self.ended(&machine, &world, .status(503)).action else {
            Issue.record("a 503 is retried with backoff")
            return
        }
    }

    @Test func stoppingAHedgedCallGivesBackItsTrials() {
        var world = World()
        world.gate = HealthGate(.init(failureThreshold: 1, trialCalls: 2))
        _ = world.gate.admit()
        _ = world.gate.record(.failure, trial: false)
        _ = world.gate.beginProbing()
        _ = world.gate.recordProbe(healthy: true)
        var machine = CallMachine(policy: Self.hedged(), idempotent: true, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate)
            == .send(CallAttempt(number: 1, trial: true, timeout: .seconds(10), hedgeAfter: .milliseconds(20))))
        _ = machine.hedgeDue(now: .milliseconds(20), budget: &world.budget, gate: &world.gate)
        #expect(world.gate.admit() == .wait)  // both trials are out
        #expect(machine.stop(.cancelled, gate: &world.gate) == .finish(.cancelled))
        #expect(world.gate.admit() == .proceed(trial: true))
    }
}
