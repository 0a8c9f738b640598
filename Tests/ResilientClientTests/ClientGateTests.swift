import Foundation
import Testing

@testable import ResilientClient

@Suite(.timeLimit(.minutes(1))) struct ClientGateTests {
    @Test func failFastWhileClosed() async {
        let clock = TestClock()
        let log = EventLog()
        let transport = ScriptedTransport(mainDefault: .respond(503), pingDefault: .respond(503))
        let client = makeClient(transport, clock: clock) {
            $0.retry.maxAttempts = 1
            $0.gate = .init(failureThreshold: 2, trialCalls: 1,
                            probeBackoff: Backoff(base: .seconds(1), cap: .seconds(1), jitter: .none))
            $0.gateWaitMode = .failFast
            $0.onEvent = { log.append($0) }
        }
        defer { client.shutdown() }
        _ = await client.callReporting(predict, cat)
        #expect(client.gateState == .passing)
        _ = await client.callReporting(predict, cat)
        #expect(client.gateState == .blocked)
        let before = transport.mainRequests
        let (result, report) = await client.callReporting(predict, cat)
        guard case .failure(.gateBlocked) = result else {
            Issue.record("expected gateBlocked, got \(result)")
            return
        }
        #expect(report.attempts.isEmpty)
        #expect(transport.mainRequests == before)
        #expect(client.counters.gateRejections == 1)
        #expect(client.counters.gateBlocked == 1)
        #expect(log.all.contains { if case .gate(.init(from: .passing, to: .blocked)) = $0 { return true } else { return false } })
        #expect(log.all.contains { if case .gateRejected("/predict") = $0 { return true } else { return false } })
    }

    @Test func waitingCallGoesThroughAsTheTrialAfterAHealthyProbe() async throws {
        let clock = TestClock()
        let log = EventLog()
        let transport = ScriptedTransport(
            [.respond(503), .respond(503), .respond(200, body: catReply)], ping: [.respond(503), .respond(200)])
        let client = makeClient(transport, clock: clock) {
            $0.retry.maxAttempts = 1
            $0.gate = .init(failureThreshold: 2, trialCalls: 1,
                            probeBackoff: Backoff(base: .milliseconds(100), cap: .seconds(1), jitter: .none))
            $0.onEvent = { log.append($0) }
        }
        defer { client.shutdown() }
        _ = await client.callReporting(predict, cat)
        _ = await client.callReporting(predict, cat)
        let (result, report) = await client.callReporting(predict, cat)
        #expect(try result.get() == Prediction(label: "cat"))
        #expect(report.attempts.count == 1)
        #expect(report.attempts.first?.trial == true)
        #expect(report.gateWait == .milliseconds(300))  // probes after 100 ms (503) and 200 ms (200)
        #expect(client.gateState == .passing)
        let counters = client.counters
        #expect(counters.gateBlocked == 1 && counters.gateTrial == 1 && counters.gatePassing == 1)
        #expect(counters.probes == 2)
        #expect(transport.pingRequests == 2)
        let transitions = log.all.compactMap { event -> HealthGate.Transition? in
            if case .gate(let t) = event { return t } else { return nil }
        }
        #expect(transitions == [.init(from: .passing, to: .blocked), .init(from: .blocked, to: .trial),
                                .init(from: .trial, to: .passing)])
    }

    @Test func waitingCallHitsItsDeadline() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503), pingDefault: .respond(503))
        let client = makeClient(transport, clock: clock) {
            $0.retry.maxAttempts = 1
            $0.gate = .init(failureThreshold: 1, probeBackoff: Backoff(base: .milliseconds(100), cap: .milliseconds(400), jitter: .none))
            $0.deadline = .seconds(2)
        }
        _ = await client.callReporting(predict, cat)
        #expect(client.gateState == .blocked)
        let (result, report) = await client.callReporting(predict, cat)
        client.shutdown()
        guard case .failure(.deadlineExceeded(0, nil)) = result else {
            Issue.record("expected deadlineExceeded, got \(result)")
            return
        }
        #expect(report.gateWait >= .seconds(2))
        #expect(transport.mainRequests == 1)
        #expect(client.counters.probes >= 4)
    }

    @Test func failedTrialClosesTheGateAgain() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport(
            [.respond(503), .respond(503), .respond(200, body: catReply)], ping: [.respond(200), .respond(200)])
        let client = makeClient(transport, clock: clock) {
            $0.retry.maxAttempts = 2
            $0.budget = .unlimited
            $0.gate = .init(failureThreshold: 1, trialCalls: 1,
                            probeBackoff: Backoff(base: .milliseconds(100), cap: .seconds(1), jitter: .none))
        }
        defer { client.shutdown() }
        // Attempt 1: 503 closes the gate. Attempt 2 waits, goes as a trial after a healthy probe, gets
        // 503 (closing again), gives up: attempts exhausted.
        let (first, _) = await client.callReporting(predict, cat)
        guard case .failure(.overloaded(2, 503)) = first else {
            Issue.record("expected overloaded, got \(first)")
            return
        }
        // The next call waits for a second healthy probe (delay 200 ms: second trip), then succeeds.
        let (second, report) = await client.callReporting(predict, cat)
        #expect(try second.get() == Prediction(label: "cat"))
        #expect(report.attempts.first?.trial == true)
        #expect(client.counters.gateBlocked == 2)
        #expect(client.gateState == .passing)
    }

    @Test func successesKeepTheGatePassing() async throws {
        let clock = TestClock()
        var steps: [ScriptedTransport.Step] = []
        for _ in 0..<10 { steps += [.respond(503), .respond(200, body: catReply)] }
        let transport = ScriptedTransport(steps)
        let client = makeClient(transport, clock: clock) { $0.gate = .init(failureThreshold: 2); $0.budget = .unlimited }
        for _ in 0..<10 { _ = try await client.call(predict, cat) }
        #expect(client.gateState == .passing)
        #expect(client.counters.gateBlocked == 0)
        #expect(transport.pingRequests == 0)
    }

    @Test func clientErrorsDoNotCloseTheGate() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(400))
        let client = makeClient(transport, clock: clock) { $0.gate = .init(failureThreshold: 1) }
        for _ in 0..<5 { _ = await client.callReporting(predict, cat) }
        #expect(client.gateState == .passing)
    }
}

@Suite(.timeLimit(.minutes(1))) struct WaitUntilHealthyTests {
    @Test func pollsUntil200() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport(ping: [
            .fail(.connectionRefused), .respond(404), .respond(502), .respond(503), .fail(.responseTimeout), .respond(200),
        ])
        let client = makeClient(transport, clock: clock)
        try await client.waitUntilHealthy(timeout: .seconds(30))
        #expect(transport.pingRequests == 6)
        #expect(clock.slept == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1)])
        #expect(transport.requests.allSatisfy { $0.method == "GET" && $0.url.path == "/ping" })
    }

    @Test func timesOutWithTheLastOutcome() async {
        let clock = TestClock()
        let transport = ScriptedTransport(pingDefault: .respond(503))
        let client = makeClient(transport, clock: clock)
        await #expect {
            try await client.waitUntilHealthy(timeout: .seconds(3))
        } throws: { error in
            guard case ResilientClientError.deadlineExceeded(_, .status(503)?) = error else { return false }
            return true
        }
        #expect(clock.now < .seconds(3))
    }

    @Test func anUnresolvedHostIsNotUpYetRatherThanFatal() async throws {
        // A name the resolver does not know yet (a container starting): polling goes on until /ping answers.
        let clock = TestClock()
        let transport = ScriptedTransport(ping: [.fail(.unresolvedHost), .fail(.unresolvedHost)], pingDefault: .respond(200))
        let client = makeClient(transport, clock: clock)
        try await client.waitUntilHealthy(timeout: .seconds(10))
        #expect(transport.pingRequests == 3)
    }

    @Test func hangingPingIsBoundedByTheTimeout() async {
        let clock = TestClock()
        let transport = ScriptedTransport(pingDefault: .hang(advance: .seconds(10)), clock: clock)
        let client = makeClient(transport, clock: clock) { $0.attemptTimeout = nil }
        await #expect {
            try await client.waitUntilHealthy(timeout: .seconds(5))
        } throws: { error in
            guard case ResilientClientError.deadlineExceeded(1, .transport(.responseTimeout)?) = error else { return false }
            return true
        }
    }

    @Test func unfixableFailureStopsAtOnce() async {
        let clock = TestClock()
        let transport = ScriptedTransport(pingDefault: .fail(.other))
        let client = makeClient(transport, clock: clock)
        await #expect {
            try await client.waitUntilHealthy(timeout: .seconds(30))
        } throws: { error in
            guard case ResilientClientError.transport(let e, 1) = error else { return false }
            return e.kind == .other
        }
    }

    @Test func cancellationStopsPolling() async {
        let clock = TestClock(autoAdvance: false)
        let transport = ScriptedTransport(pingDefault: .respond(503))
        let client = makeClient(transport, clock: clock) { $0.attemptTimeout = nil }
        let task = Task { try await client.waitUntilHealthy(timeout: .seconds(30)) }
        await clock.waitForPendingTimers(1)
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result, case ResilientClientError.cancelled = error else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
    }
}
