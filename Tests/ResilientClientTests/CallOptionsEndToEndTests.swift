import Foundation
import ReferenceEndpoint
import TestSupport
import Testing

@testable import ResilientClient

/// Per-call options against the real reference endpoint on 127.0.0.1: a token that arrives (the endpoint
/// checks it), a retry policy that stops after one attempt, and a deadline that ends a call the endpoint
/// would keep for seconds.
@Suite(.serialized, .dedicatedThreads, .timeLimit(.minutes(2))) struct CallOptionsEndToEndTests {
    @Test func aPerCallTokenArrivesAndOverridesTheConfigurations() async throws {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo])
        endpoint.authToken = "tok-123"
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 2))
        defer { transport.shutdown() }
        var configuration = try EndToEnd.client(server.url)
        configuration.headers = [("Accept", "application/json"), ("Authorization", "Bearer wrong")]
        let client = ResilientClient(configuration: configuration, transport: transport)
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)

        let (refused, _) = await client.callReporting(route, EchoBody(text: "hi"))
        guard case .failure(.httpStatus(let status, _, _)) = refused else {
            Issue.record("expected a 401 with the configuration's wrong token, got \(refused)")
            return
        }
        #expect(status == 401)
        let options = CallOptions(headers: [("authorization", "Bearer tok-123"), ("X-Request-ID", "req-1")])
        let reply = try await client.call(route, EchoBody(text: "hi"), options: options)
        #expect(reply == EchoReply(text: "hi", length: 2))
    }

    @Test func aPerCallRetryPolicyOfOneAttemptDoesNotRetry() async throws {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo])
        endpoint.failRate = 1
        endpoint.retryAfterSeconds = 0
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 2))
        defer { transport.shutdown() }
        var configuration = try EndToEnd.client(server.url)
        configuration.retry.maxAttempts = 5
        configuration.gate = .disabled
        let client = ResilientClient(configuration: configuration, transport: transport)
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)

        let (once, report) = await client.callReporting(
            route, EchoBody(text: "hi"), options: CallOptions(retry: RetryPolicy(maxAttempts: 1)))
        guard case .failure(.overloaded(let attempts, let last)) = once else {
            Issue.record("expected overloaded after one attempt, got \(once)")
            return
        }
        #expect(attempts == 1 && last == 503)
        #expect(report.attempts.count == 1)
        #expect(await EndToEnd.waitFor { server.stats.requests == 1 })
        // The configuration's five attempts apply to a call without options.
        let (again, _) = await client.callReporting(route, EchoBody(text: "hi"))
        guard case .failure(.overloaded(let all, _)) = again else {
            Issue.record("expected overloaded after five attempts, got \(again)")
            return
        }
        #expect(all == 5)
        #expect(await EndToEnd.waitFor { server.stats.requests == 6 })
    }

    @Test func aPerCallDeadlineEndsACallTheEndpointWouldKeepForSeconds() async throws {
        let endpoint = EndToEnd.endpoint("calculator", EndToEnd.calculatorRoutes, workers: 1)
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        var configuration = try EndToEnd.client(server.url)
        configuration.deadline = .seconds(60)
        let client = ResilientClient(configuration: configuration, transport: transport)
        let route = Route<SleepBody, SumReply>(EndToEnd.sleep)

        let (result, report) = await client.callReporting(
            route, SleepBody(seconds: 20), options: CallOptions(deadline: .milliseconds(300)))
        guard case .failure(.deadlineExceeded(let attempts, let last)) = result else {
            Issue.record("expected the call's deadline, got \(result)")
            return
        }
        // The one attempt was cut at the deadline: no answer, and no time left for another.
        #expect(attempts == 1)
        #expect(last == .transport(.responseTimeout))
        #expect(report.attempts.count == 1)
    }
}
