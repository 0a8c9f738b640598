import Foundation
import ReferenceEndpoint
import ResilientClient
import Synchronization
import TestSupport
import Testing

@testable import LoadgenCore

/// loadgen's `client.adaptiveRateLimit` against the real reference endpoint: one Python worker behind a
/// queue of two sheds with 503 what it cannot take, while 16 closed-loop users ask for far more. The same
/// run without the limiter and with it; counts, not times, are asserted.
@Suite(.serialized, .dedicatedThreads, .timeLimit(.minutes(2))) struct AdaptiveRateLimitEngineTests {
    /// The run's result and how many of its attempts waited for the limiter.
    func run(limiter: AdaptiveRateLimiter.Configuration?) async throws -> (result: RunResult, paced: Int) {
        let server = try CallFixtures.start { configuration in
            configuration.host = "127.0.0.1"
            configuration.maxQueue = 2
            configuration.delayMilliseconds = 5
            configuration.retryAfterSeconds = 0
        }
        defer { server.shutdown() }
        var client = ClientSpec(
            connections: 16, timeout: .seconds(5),
            retry: RetrySpec(maxAttempts: 20, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5)), budget: nil)
        client.adaptiveRateLimit = limiter
        let body = try ValueTemplate.compile(LoadgenJSON.parse(#"{"text": "hello"}"#), path: "body")
        let plan = enginePlan(
            port: server.port, load: .closed(users: 16, duration: .milliseconds(800), thinkTime: .milliseconds(0)),
            client: client, requests: [RequestSpec(route: "/predict", method: "POST", body: body)])
        let paced = Atomic<Int>(0)
        var engine = NetworkLoadEngine(configuration: .init(threads: 1))
        engine.trace = { _, action in
            if case .pace = action { paced.add(1, ordering: .relaxed) }
        }
        let result = try await engine.run(plan) { _ in }
        #expect(result.accountingProblems().isEmpty)
        #expect(result.attempts == Int64(server.stats.requests))
        return (result, paced.load(ordering: .relaxed))
    }

    @Test func theLimiterPacesSendsAndTheEndpointShedsFewerOfThem() async throws {
        let without = try await run(limiter: nil)
        // A floor of 50 sends/s (a quarter of what the worker takes) keeps the drain short (the default 0.5/s is for production, not for a test).
        let with = try await run(limiter: AdaptiveRateLimiter.Configuration(minimumRate: 50))
        let shedWithout = without.result.attemptErrors.byStatus[503] ?? 0
        let shedWith = with.result.attemptErrors.byStatus[503] ?? 0

        #expect(without.paced == 0)
        #expect(shedWithout > 0)
        #expect(with.paced > 0)
        // The result counts the paced attempts of recorded calls (a call cut while it waited is not sent).
        #expect(without.result.pacedAttempts == 0)
        #expect(with.result.pacedAttempts > 0 && with.result.pacedAttempts <= Int64(with.paced))
        let summary = Report.summary(with.result, outcomes: [])
        #expect(summary.contains("paced by the rate limiter \(with.result.pacedAttempts)"))
        #expect(!Report.summary(without.result, outcomes: []).contains("paced"))
        #expect(Report.json(with.result, outcomes: []).contains("\"paced_attempts\": \(with.result.pacedAttempts)"))
        #expect(shedWith < shedWithout, "503s with the limiter \(shedWith), without \(shedWithout)")
        let shareWith = Double(shedWith) / Double(max(1, with.result.attempts))
        let shareWithout = Double(shedWithout) / Double(max(1, without.result.attempts))
        #expect(shareWith < shareWithout, "503 share with the limiter \(shareWith), without \(shareWithout)")
    }
}
