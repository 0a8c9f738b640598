import Foundation
import Testing

@testable import LoadgenCore
@testable import ResilientClient

/// `client.hedging` in scenarios, the embedded target's heavy tail, and hedged calls through the engine.
@Suite struct HedgingScenarioTests {
    static func variant(_ replacement: String) -> String {
        ScenarioTests.quickstart.replacingOccurrences(of: "\"healthGate\": true", with: replacement)
    }

    @Test func hedgingIsReadWithItsDefaults() throws {
        let scenario = try ScenarioTests.decode(Self.variant("\"hedging\": {\"delay\": \"20ms\"}"))
        #expect(scenario.client.hedging == HedgingSpec(delay: .milliseconds(20)))
        #expect(scenario.client.hedging?.policy == HedgingPolicy(delay: .milliseconds(20), maxAttempts: 2))
        let full = try ScenarioTests.decode(
            Self.variant("\"hedging\": {\"delay\": \"15ms\", \"maxAttempts\": 3, \"nonFatalStatuses\": [503, 429]}"))
        #expect(full.client.hedging == HedgingSpec(delay: .milliseconds(15), maxAttempts: 3, nonFatalStatuses: [503, 429]))
    }

    @Test func badHedgingIsAClearError() {
        let cases: [(String, String)] = [
            ("\"hedging\": {\"maxAttempts\": 2}",
                "client.hedging: missing \"delay\": how long an attempt may go unanswered before the hedge, e.g. \"20ms\""),
            ("\"hedging\": {\"delay\": \"20ms\", \"maxAttempts\": 1}",
                "client.hedging.maxAttempts: expected an integer from 2 to 5, got 1"),
            ("\"hedging\": {\"delay\": \"20ms\", \"maxAttempts\": 6}",
                "client.hedging.maxAttempts: expected an integer from 2 to 5, got 6"),
            ("\"hedging\": {\"delay\": \"20\"}", "client.hedging.delay: expected a duration like \"10s\", got \"20\""),
            ("\"hedging\": {\"delay\": \"20ms\", \"nonFatalStatuses\": [200]}",
                "client.hedging.nonFatalStatuses[0]: expected an integer from 300 to 599, got 200"),
            ("\"hedging\": {\"delay\": \"20ms\", \"maxAttempt\": 2}",
                "client.hedging.maxAttempt: unknown field; did you mean \"maxAttempts\"?"),
        ]
        for (replacement, expected) in cases {
            let message = ScenarioTests.error(Self.variant(replacement))
            #expect(message.hasPrefix(expected), "\(replacement): \(message)")
        }
    }

    @Test func theEmbeddedTargetsHeavyTail() throws {
        let tail = ScenarioTests.quickstart.replacingOccurrences(
            of: "\"workers\": 1}", with: "\"workers\": 1, \"delay\": \"2ms\", \"slowRate\": 0.03, \"slowDelay\": \"200ms\"}")
        let scenario = try ScenarioTests.decode(tail)
        guard case .embedded(let embedded) = scenario.target else {
            Issue.record("expected an embedded target")
            return
        }
        #expect(embedded.slowRate == 0.03)
        #expect(embedded.slowDelay == .milliseconds(200))
        let errors: [(String, String)] = [
            ("\"workers\": 1, \"slowRate\": 0.1}",
                "target.embedded.slowRate: needs \"slowDelay\": how long a slow call takes, e.g. \"200ms\""),
            ("\"workers\": 1, \"slowRate\": 2, \"slowDelay\": \"1s\"}", "target.embedded.slowRate: expected a number from 0 to 1"),
            ("\"workers\": 1, \"delay\": \"50ms\", \"slowRate\": 0.1, \"slowDelay\": \"10ms\"}",
                "target.embedded.slowDelay: must not be shorter than \"delay\""),
        ]
        for (replacement, expected) in errors {
            let message = ScenarioTests.error(ScenarioTests.quickstart.replacingOccurrences(of: "\"workers\": 1}", with: replacement))
            #expect(message.hasPrefix(expected), "\(replacement): \(message)")
        }
    }
}

/// Hedged calls through the engine, against a target that never answers the first request.
@Suite(.serialized) struct EngineHedgingTests {
    @Test func theHedgeWinsAndTheLoserIsCancelledAndCounted() async throws {
        let target = try EngineTestTarget { number in number == 0 ? .hold : .status(200) }
        defer { target.shutdown() }
        let client = ClientSpec(
            connections: 4, timeout: .seconds(5), budget: nil, hedging: HedgingSpec(delay: .milliseconds(20)))
        let plan = enginePlan(
            port: target.port, load: .closed(users: 1, duration: .milliseconds(200), thinkTime: .milliseconds(0)),
            client: client)
        let result = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(plan) { _ in }
        #expect(result.calls > 1)
        #expect(result.ok == result.calls)
        // Every call was sent once, and the first twice: its held attempt lost to the hedge and was cancelled.
        #expect(result.attempts == result.calls + 1)
        #expect(result.attemptErrors.byKind[TransportFailure.cancelledKind] == 1)
        #expect(result.attempts == Int64(target.requests))
        #expect(result.accountingProblems().isEmpty)
    }
}
