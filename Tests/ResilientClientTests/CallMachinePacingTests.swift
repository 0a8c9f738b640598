import Testing

@testable import ResilientClient

/// The call machine behind an adaptive rate limiter: where it takes tokens and waits for them. Times are
/// injected; nothing sleeps.
@Suite struct CallMachinePacingTests {
    typealias World = CallMachineTests.World

    /// A limiter that a 503 at `now` has turned on at 5 sends/s with an empty bucket (its measured rate is
    /// still zero, so the rate is the floor).
    static func throttledLimiter(at now: Duration) -> AdaptiveRateLimiter {
        var limiter = AdaptiveRateLimiter(AdaptiveRateLimiter.Configuration(minimumRate: 5), now: .zero)
        limiter.record(.status(503), now: now)
        return limiter
    }

    /// Whether `action` is a wait of `milliseconds` (to the nanosecond the limiter's `Double` arithmetic allows).
    static func isPace(_ action: CallAction, about milliseconds: Int64) -> Bool {
        guard case .pace(let wait) = action else { return false }
        let error = wait - .milliseconds(milliseconds)
        return error > .microseconds(-1) && error < .microseconds(1)
    }

    @Test func withoutALimiterOrBeforeAThrottleTheFirstAttemptGoesAtOnce() {
        var world = World()
        var none: AdaptiveRateLimiter?
        var machine = CallMachine(policy: CallMachineTests.policy(), idempotent: true, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &none)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))))

        var fresh: AdaptiveRateLimiter? = AdaptiveRateLimiter(now: .zero)
        var other = CallMachine(policy: CallMachineTests.policy(), idempotent: true, deadline: nil)
        #expect(other.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &fresh)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))))
        #expect(fresh?.isEnabled == false)
    }

    @Test func afterAThrottleTheFirstAttemptWaitsForItsTokenThenGoesWithoutAnother() {
        var world = World()
        var limiter: AdaptiveRateLimiter? = Self.throttledLimiter(at: .seconds(1))
        world.now = .seconds(1)
        var machine = CallMachine(policy: CallMachineTests.policy(), idempotent: true, deadline: nil)
        // An empty bucket filling at 5/s: one token takes 200 ms.
        #expect(Self.isPace(machine.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &limiter), about: 200))
        #expect(machine.state == .pacing)
        #expect(machine.attempts == 0)
        world.now += .milliseconds(200)
        #expect(machine.wake(now: world.now, gate: &world.gate, limiter: &limiter)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))))
        // The wake took no second token: the next reservation still finds the bucket at zero, not at -1.
        #expect(Self.isPace(.pace(after: limiter?.reserve(now: world.now) ?? .zero), about: 200))
    }

    @Test func aRetryTakesATokenAfterItsBackoff() {
        var world = World()
        world.gate = HealthGate()
        var limiter: AdaptiveRateLimiter? = AdaptiveRateLimiter(
            AdaptiveRateLimiter.Configuration(minimumRate: 5), now: .zero)
        var machine = CallMachine(policy: CallMachineTests.policy(), idempotent: true, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &limiter)
            == .send(CallAttempt(number: 1, trial: false, timeout: .seconds(10))))
        world.now = .milliseconds(10)
        limiter?.record(.status(503), now: world.now)
        let step = CallMachineTests.ended(&machine, &world, .status(503))
        #expect(step.action == .retry(after: .milliseconds(100), reason: DelayReason(cause: .status(503), backoff: .milliseconds(100))))
        world.now += .milliseconds(100)
        // 100 ms of the 200 a token takes have passed during the backoff.
        #expect(Self.isPace(machine.wake(now: world.now, gate: &world.gate, limiter: &limiter), about: 100))
        world.now += .milliseconds(100)
        #expect(machine.wake(now: world.now, gate: &world.gate, limiter: &limiter)
            == .send(CallAttempt(number: 2, trial: false, timeout: .seconds(10))))
    }

    @Test func aWaitPastTheDeadlineEndsTheCallAtOnce() {
        var world = World()
        world.now = .seconds(1)
        var limiter: AdaptiveRateLimiter? = Self.throttledLimiter(at: world.now)
        var machine = CallMachine(
            policy: CallMachineTests.policy(), idempotent: true, deadline: world.now + .milliseconds(150))
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &limiter)
            == .finish(.gaveUp(.deadlineExceeded)))
        #expect(machine.attempts == 0)
    }

    @Test func aCallWokenAtTheGateTakesNoToken() {
        var world = World()
        world.gate = HealthGate(.init(failureThreshold: 1, trialCalls: 1))
        _ = world.gate.record(.failure, trial: false)  // closed
        world.now = .seconds(1)
        var limiter: AdaptiveRateLimiter?
        var machine = CallMachine(policy: CallMachineTests.policy(), idempotent: true, deadline: nil)
        #expect(machine.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &limiter)
            == .waitForGate(deadline: nil))
        limiter = Self.throttledLimiter(at: world.now)
        world.gate.recordProbe(healthy: true)
        // Half-open: the woken call is the trial, sent at once even though the bucket is empty.
        #expect(machine.wake(now: world.now, gate: &world.gate, limiter: &limiter)
            == .send(CallAttempt(number: 1, trial: true, timeout: .seconds(10))))
    }

    @Test func stoppingAPacedCallEndsIt() {
        var world = World()
        world.now = .seconds(1)
        var limiter: AdaptiveRateLimiter? = Self.throttledLimiter(at: world.now)
        var machine = CallMachine(policy: CallMachineTests.policy(), idempotent: true, deadline: nil)
        _ = machine.start(now: world.now, budget: &world.budget, gate: &world.gate, limiter: &limiter)
        #expect(machine.stop(.cancelled, gate: &world.gate) == .finish(.cancelled))
        #expect(machine.wake(now: world.now, gate: &world.gate, limiter: &limiter) == .finish(.cancelled))
    }

    // MARK: - What the limiter records

    @Test func only503And429AreThrottlesAndTransportFailuresAreNotRecorded() {
        #expect(AdaptiveRateLimiter.isThrottle(.status(503)) == true)
        #expect(AdaptiveRateLimiter.isThrottle(.status(429)) == true)
        #expect(AdaptiveRateLimiter.isThrottle(.status(200)) == false)
        #expect(AdaptiveRateLimiter.isThrottle(.status(500)) == false)
        #expect(AdaptiveRateLimiter.isThrottle(.status(502)) == false)
        #expect(AdaptiveRateLimiter.isThrottle(.transport(.connectionRefused)) == nil)
        #expect(AdaptiveRateLimiter.isThrottle(.transport(.cancelled)) == nil)

        var limiter = AdaptiveRateLimiter(now: .zero)
        limiter.record(.transport(.responseTimeout), now: .seconds(1))
        #expect(limiter == AdaptiveRateLimiter(now: .zero))
        limiter.record(.status(500), now: .seconds(1))
        #expect(!limiter.isEnabled)
        limiter.record(.status(429), now: .seconds(2))
        #expect(limiter.isEnabled)
    }
}
