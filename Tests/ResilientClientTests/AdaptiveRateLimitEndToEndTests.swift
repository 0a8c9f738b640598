import EndpointSpec
import Foundation
import ReferenceEndpoint
import Synchronization
import Testing

@testable import ResilientClient

/// The adaptive rate limiter against the real reference endpoint: one Python worker behind a queue of two
/// sheds with 503 what it cannot take; 16 callers at once ask for far more. The same calls run without the
/// limiter and with it. Counts, not times, are asserted.
@Suite(.serialized, .dedicatedThreads, .timeLimit(.minutes(2))) struct AdaptiveRateLimitEndToEndTests {
    /// What one run of `calls` calls did.
    struct Run {
        var counters: ClientCounters
        var shed: Int
        var succeeded: Int
    }

    func run(calls: Int, limiter: AdaptiveRateLimiter.Configuration?) async throws -> Run {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo], workers: 1)
        endpoint.maxQueue = 2
        endpoint.delayMilliseconds = 5
        endpoint.retryAfterSeconds = 0
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 16))
        defer { transport.shutdown() }
        var configuration = try EndToEnd.client(server.url)
        configuration.retry.maxAttempts = 100
        configuration.budget = .unlimited
        configuration.gate = .disabled  // this test is about the limiter alone
        configuration.deadline = .seconds(30)
        configuration.adaptiveRateLimit = limiter
        let client = ResilientClient(configuration: configuration, transport: transport)
        defer { client.shutdown() }
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)
        let results = await EndToEnd.forEach(count: calls, width: 16) { index in
            await client.callReporting(route, EchoBody(text: "\(index)"))
        }
        let counters = client.counters
        #expect(results.count == calls && counters.calls == calls)
        #expect(await EndToEnd.waitFor { server.stats.requests == counters.attempts })
        let succeeded = results.filter { (try? $0.result.get()) != nil }.count
        return Run(counters: counters, shed: server.stats.shed, succeeded: succeeded)
    }

    @Test func theLimiterPacesSendsAndTheEndpointShedsFewerOfThem() async throws {
        let calls = 120
        let without = try await run(calls: calls, limiter: nil)
        // A floor of 50 sends/s (a quarter of what the worker takes) keeps the run short (the default 0.5/s is for production, not for a test).
        let with = try await run(calls: calls, limiter: AdaptiveRateLimiter.Configuration(minimumRate: 50))

        // Without the limiter nothing waits for it, and the overload shows as 503s.
        #expect(without.counters.paced == 0)
        #expect(without.shed > 0)
        // With it, the first 503s turn it on and later sends wait for tokens: fewer are shed, in number and
        // in share of the attempts.
        #expect(with.counters.paced > 0)
        #expect(with.shed < without.shed, "shed with the limiter \(with.shed), without \(without.shed)")
        let shareWith = Double(with.shed) / Double(with.counters.attempts)
        let shareWithout = Double(without.shed) / Double(without.counters.attempts)
        #expect(shareWith < shareWithout, "503 share with the limiter \(shareWith), without \(shareWithout)")
        // Every shed attempt was retried, and every call ended once.
        #expect(with.counters.attempts == calls + with.counters.retries)
        #expect(with.succeeded == with.counters.succeeded)
    }

    @Test func offByDefault() throws {
        let configuration = try EndToEnd.client("http://127.0.0.1:1")
        #expect(configuration.adaptiveRateLimit == nil)
    }
}
