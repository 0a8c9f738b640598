import Foundation
import Testing

@testable import ResilientClient

/// Hedged calls through the async client, on a virtual clock: the hedge goes when the clock passes the delay.
@Suite struct ClientHedgingTests {
    static let spec = RouteSpec(path: "/predict", file: "", function: "", body: [])

    static func client(_ transport: ScriptedTransport, _ clock: TestClock, maxAttempts: Int = 2) -> ResilientClient {
        makeClient(transport, clock: clock) { configuration in
            configuration.hedging = HedgingPolicy(delay: .milliseconds(20), maxAttempts: maxAttempts, nonFatalStatuses: [503])
            configuration.budget = .unlimited
            configuration.attemptTimeout = nil
            configuration.deadline = nil
        }
    }

    @Test func theHedgeWinsWhileTheFirstAttemptHangsAndTheLoserIsCancelled() async throws {
        let clock = TestClock(autoAdvance: false)
        let transport = ScriptedTransport([.hang(advance: .zero), .respond(200, body: "{\"y\":1}")])
        let client = Self.client(transport, clock)
        let call = Task { try await client.callJSON(Self.spec, .object(JSONObject([]))) }
        // The hedge timer is armed; move the clock past it.
        await clock.waitForPendingTimers(1)
        clock.advance(by: .milliseconds(20))
        let reply = try await call.value
        #expect(JSON.serialize(reply) == Array("{\"y\":1}".utf8))
        #expect(transport.mainRequests == 2)
        #expect(client.counters.attempts == 2)
        #expect(client.counters.succeeded == 1)
        #expect(client.counters.retries == 0)
    }

    @Test func aNonFatalStatusSendsTheNextHedgeAtOnceAndAFatalOneEndsTheCall() async {
        let clock = TestClock(autoAdvance: false)
        let transport = ScriptedTransport([.respond(503), .respond(404, body: "{\"detail\":\"no\"}")])
        let client = Self.client(transport, clock, maxAttempts: 3)
        do {
            _ = try await client.callJSON(Self.spec, .object(JSONObject([])))
            Issue.record("a 404 is fatal")
        } catch {
            guard case .httpStatus(404, _, 2) = error else {
                Issue.record("expected the 404 of attempt 2, got \(error)")
                return
            }
        }
        // No clock advance was needed: the 503 sent attempt 2 at once.
        #expect(clock.now == .zero)
        #expect(transport.mainRequests == 2)
    }
}
