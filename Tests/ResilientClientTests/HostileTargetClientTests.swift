import Foundation
import HTTP1
import TestSupport
import Testing

@testable import ResilientClient

/// ResilientClient on LoopTransport against a target that misbehaves on purpose (`HostileServer`).
@Suite(.dedicatedThreads) struct HostileTargetClientTests {
    struct Empty: Codable, Sendable, Equatable {}

    static func client(_ server: HostileServer, transport: LoopTransport) throws -> ResilientClient {
        var configuration = ResilientClientConfiguration(baseURL: try #require(URL(string: "http://127.0.0.1:\(server.port)")))
        configuration.retry = RetryPolicy(
            maxAttempts: 3, backoff: Backoff(base: .milliseconds(1), multiplier: 2, cap: .milliseconds(2)))
        configuration.gate = .disabled
        configuration.attemptTimeout = .seconds(5)
        configuration.randomSeed = 7
        return ResilientClient(configuration: configuration, transport: transport)
    }

    @Test("a response cut off mid-body is retried for an idempotent route, like a reset, and the retry succeeds")
    func cutOffResponseIsRetried() async throws {
        let server = try HostileServer { number in number == 0 ? .halfResponse : .ok }
        defer { server.stop() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = try Self.client(server, transport: transport)
        let (result, report) = await client.callReporting(Route<Empty, Empty>(path: "/x", body: []), Empty())
        #expect(try result.get() == Empty())
        #expect(report.attempts.count == 2)
        #expect(report.attempts.first?.outcome == .transport(.connectionClosed(requestSent: true)))
        #expect(server.requests == 2)
    }

    @Test("a response cut off mid-body is not retried for a route with side effects")
    func cutOffResponseIsNotRetriedWhenNotIdempotent() async throws {
        let server = try HostileServer { _ in .halfResponse }
        defer { server.stop() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = try Self.client(server, transport: transport)
        let route = Route<Empty, Empty>(path: "/x", body: [], idempotent: false)
        let (result, report) = await client.callReporting(route, Empty())
        guard case .failure = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(report.attempts.map(\.outcome) == [.transport(.connectionClosed(requestSent: true))])
        #expect(server.requests == 1)
    }

    @Test("an endless body stops at the transport's response limit: one attempt, too large, bounded reading")
    func endlessBodyHitsTheLimit() async throws {
        let server = try HostileServer { _ in .endlessBody }
        defer { server.stop() }
        let transport = try LoopTransport(configuration: .init(limits: HTTPLimits(maxBodyBytes: 1 << 20)))
        defer { transport.shutdown() }
        let client = try Self.client(server, transport: transport)
        let (result, report) = await client.callReporting(Route<Empty, Empty>(path: "/x", body: []), Empty())
        guard case .failure = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(report.attempts.map(\.outcome) == [.transport(.responseTooLarge)])
        server.stop()
        #expect(server.largestEndlessBodySent < 64 << 20, "\(server.largestEndlessBodySent) bytes")
    }

    @Test("garbage and resets end each call once with its reason")
    func garbageAndReset() async throws {
        let server = try HostileServer { number in number % 2 == 0 ? .garbage : .reset }
        defer { server.stop() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = try Self.client(server, transport: transport)
        let (garbage, garbageReport) = await client.callReporting(Route<Empty, Empty>(path: "/x", body: []), Empty())
        #expect((try? garbage.get()) == nil)
        #expect(garbageReport.attempts.map(\.outcome) == [.transport(.protocolError)])
        let (reset, resetReport) = await client.callReporting(Route<Empty, Empty>(path: "/x", body: []), Empty())
        #expect((try? reset.get()) == nil)
        // Request 1 is reset, its retry (request 2) gets garbage: two attempts, two reasons.
        #expect(resetReport.attempts.map(\.outcome) == [.transport(.connectionClosed(requestSent: true)), .transport(.protocolError)])
        #expect(server.requests == 3)
    }
}
