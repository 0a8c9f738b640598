import Testing

@testable import ResilientClient

@Suite struct HealthGateTests {
    func makeGate(threshold: Int = 3, trials: Int = 2) -> HealthGate {
        HealthGate(.init(failureThreshold: threshold, trialCalls: trials,
                         probeBackoff: Backoff(base: .milliseconds(100), multiplier: 2, cap: .seconds(2), jitter: .none)))
    }

    @Test func closesAfterConsecutiveFailuresOnly() {
        var gate = makeGate()
        #expect(gate.admit() == .proceed(trial: false))
        #expect(gate.record(.failure, trial: false) == nil)
        #expect(gate.record(.failure, trial: false) == nil)
        #expect(gate.record(.success, trial: false) == nil)  // resets the run
        #expect(gate.consecutiveFailures == 0)
        #expect(gate.record(.failure, trial: false) == nil)
        #expect(gate.record(.failure, trial: false) == nil)
        #expect(gate.record(.failure, trial: false) == .init(from: .passing, to: .blocked))
        #expect(gate.state == .blocked)
        #expect(gate.consecutiveTrips == 1)
        #expect(gate.admit() == .wait)
    }

    @Test func exactlyOneProber() {
        var gate = makeGate(threshold: 1)
        do { let value = gate.beginProbing(); #expect(value == false) }  // open: nothing to probe
        gate.record(.failure, trial: false)
        do { let value = gate.beginProbing(); #expect(value == true) }
        do { let value = gate.beginProbing(); #expect(value == false) }
        #expect(gate.proberActive)
        gate.endProbing()  // prober cancelled
        do { let value = gate.beginProbing(); #expect(value == true) }
    }

    @Test func unhealthyProbesKeepTheGateBlocked() {
        var gate = makeGate(threshold: 1)
        gate.record(.failure, trial: false)
        do { let value = gate.beginProbing(); #expect(value == true) }
        #expect(gate.recordProbe(healthy: false) == nil)
        #expect(gate.state == .blocked)
        #expect(gate.proberActive)
    }

    @Test func probeDelaysGrowAndContinueAcrossTrips() {
        var gate = makeGate(threshold: 1, trials: 1)
        var rng = SplitMix64(seed: 0)
        gate.record(.failure, trial: false)
        do { let value = gate.beginProbing(); #expect(value == true) }
        #expect(gate.nextProbeDelay(using: &rng) == .milliseconds(100))
        #expect(gate.nextProbeDelay(using: &rng) == .milliseconds(200))
        #expect(gate.nextProbeDelay(using: &rng) == .milliseconds(400))
        #expect(gate.recordProbe(healthy: true) == .init(from: .blocked, to: .trial))
        #expect(gate.admit() == .proceed(trial: true))
        #expect(gate.record(.failure, trial: true) == .init(from: .trial, to: .blocked))
        #expect(gate.consecutiveTrips == 2)
        do { let value = gate.beginProbing(); #expect(value == true) }
        // Second trip: the first probe already waits as long as a second retry.
        #expect(gate.nextProbeDelay(using: &rng) == .milliseconds(200))
        #expect(gate.nextProbeDelay(using: &rng) == .milliseconds(400))
        for _ in 0..<10 { _ = gate.nextProbeDelay(using: &rng) }
        #expect(gate.nextProbeDelay(using: &rng) == .seconds(2))
    }

    @Test func halfOpenLetsKTrialsThroughThenOpens() {
        var gate = makeGate(threshold: 1, trials: 2)
        gate.record(.failure, trial: false)
        _ = gate.beginProbing()
        gate.recordProbe(healthy: true)
        #expect(!gate.proberActive)
        #expect(gate.admit() == .proceed(trial: true))
        #expect(gate.admit() == .proceed(trial: true))
        #expect(gate.admit() == .wait)
        #expect(gate.record(.success, trial: true) == nil)
        #expect(gate.admit() == .wait)
        #expect(gate.record(.success, trial: true) == .init(from: .trial, to: .passing))
        #expect(gate.admit() == .proceed(trial: false))
        #expect(gate.consecutiveTrips == 0)
    }

    @Test func failedTrialClosesAgain() {
        var gate = makeGate(threshold: 1, trials: 3)
        gate.record(.failure, trial: false)
        _ = gate.beginProbing()
        gate.recordProbe(healthy: true)
        _ = gate.admit()
        _ = gate.admit()
        #expect(gate.record(.success, trial: true) == nil)
        #expect(gate.record(.failure, trial: true) == .init(from: .trial, to: .blocked))
        #expect(gate.admit() == .wait)
        // The late outcome of the other trial is stale now.
        #expect(gate.record(.success, trial: true) == nil)
        #expect(gate.state == .blocked)
    }

    @Test func releasedTrialSlotIsReissued() {
        var gate = makeGate(threshold: 1, trials: 1)
        gate.record(.failure, trial: false)
        _ = gate.beginProbing()
        gate.recordProbe(healthy: true)
        #expect(gate.admit() == .proceed(trial: true))
        #expect(gate.admit() == .wait)
        gate.releaseTrial()
        #expect(gate.admit() == .proceed(trial: true))
        gate.releaseTrial()
        gate.releaseTrial()  // extra releases do nothing harmful
        #expect(gate.admit() == .proceed(trial: true))
        #expect(gate.admit() == .wait)
    }

    @Test func staleOutcomesAreIgnored() {
        var gate = makeGate(threshold: 1, trials: 1)
        #expect(gate.record(.success, trial: true) == nil)  // a "trial" while open
        gate.record(.failure, trial: false)
        #expect(gate.record(.failure, trial: false) == nil)  // in flight when it closed
        #expect(gate.record(.success, trial: false) == nil)
        #expect(gate.state == .blocked)
        _ = gate.beginProbing()
        gate.recordProbe(healthy: true)
        #expect(gate.record(.failure, trial: false) == nil)  // a non-trial call during the trial state
        #expect(gate.state == .trial)
        #expect(gate.recordProbe(healthy: true) == nil)  // not closed: ignored
    }

    @Test func disabledGateAlwaysAdmits() {
        var gate = HealthGate(.disabled)
        for _ in 0..<100 { #expect(gate.record(.failure, trial: false) == nil) }
        #expect(gate.admit() == .proceed(trial: false))
        do { let value = gate.beginProbing(); #expect(value == false) }
        #expect(gate.state == .passing)
    }

    @Test func configurationDefaultsAndClamping() {
        let defaults = HealthGate.Configuration()
        #expect(defaults.failureThreshold == 5 && defaults.trialCalls == 3 && defaults.enabled)
        let clamped = HealthGate.Configuration(failureThreshold: 0, trialCalls: -1)
        #expect(clamped.failureThreshold == 1 && clamped.trialCalls == 1)
    }

    /// Drives the machine with every short sequence of events and checks its invariants.
    @Test func exhaustiveShortSequencesKeepInvariants() {
        enum Event: CaseIterable { case admit, success, failure, trialSuccess, trialFailure, release, probe, healthy, unhealthy }
        let events = Event.allCases
        var rng = SplitMix64(seed: 1)
        var count = 0
        func run(_ gate: HealthGate, depth: Int) {
            count += 1
            guard depth > 0 else { return }
            for event in events {
                var g = gate
                let before = g.state
                var transition: HealthGate.Transition?
                switch event {
                case .admit:
                    let a = g.admit()
                    switch before {
                    case .passing: #expect(a == .proceed(trial: false))
                    case .blocked: #expect(a == .wait)
                    case .trial: break
                    }
                case .success: transition = g.record(.success, trial: false)
                case .failure: transition = g.record(.failure, trial: false)
                case .trialSuccess: transition = g.record(.success, trial: true)
                case .trialFailure: transition = g.record(.failure, trial: true)
                case .release: g.releaseTrial()
                case .probe:
                    if g.beginProbing() { #expect(before == .blocked) }
                    _ = g.nextProbeDelay(using: &rng)
                case .healthy: transition = g.recordProbe(healthy: true)
                case .unhealthy: transition = g.recordProbe(healthy: false)
                }
                if let transition {
                    #expect(transition.from == before && transition.to == g.state && transition.from != transition.to)
                } else {
                    #expect(g.state == before || event == .admit)
                }
                #expect(g.consecutiveFailures < g.configuration.failureThreshold)
                if g.state != .blocked { #expect(!g.proberActive) }
                if g.state == .passing { #expect(g.consecutiveTrips == 0) } else { #expect(g.consecutiveTrips >= 1) }
                run(g, depth: depth - 1)
            }
        }
        run(makeGate(threshold: 2, trials: 2), depth: 5)
        #expect(count > 60_000)
    }
}
