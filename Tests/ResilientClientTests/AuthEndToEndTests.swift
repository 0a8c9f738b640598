import Foundation
import ReferenceEndpoint
import TestSupport
import Testing

@testable import ResilientClient

/// The configuration's headers carry a bearer token to an endpoint that requires one.
@Suite(.dedicatedThreads) struct AuthEndToEndTests {
    @Test("a client with 'Authorization: Bearer TOKEN' in its headers is let in; one without gets 401, not retried")
    func bearerTokenFromTheConfiguration() async throws {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo])
        endpoint.authToken = "tok-123"
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 2))
        defer { transport.shutdown() }
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)

        var configuration = try EndToEnd.client(server.url)
        configuration.headers = [("Authorization", "Bearer tok-123")]
        let client = ResilientClient(configuration: configuration, transport: transport)
        let (result, _) = await client.callReporting(route, EchoBody(text: "hi"))
        #expect(try result.get() == EchoReply(text: "hi", length: 2))

        let stranger = ResilientClient(configuration: try EndToEnd.client(server.url), transport: transport)
        let (refused, report) = await stranger.callReporting(route, EchoBody(text: "hi"))
        guard case .failure(.httpStatus(let status, _, let attempts)) = refused else {
            Issue.record("expected a 401, got \(refused)")
            return
        }
        #expect(status == 401)
        #expect(attempts == 1)
        #expect(report.attempts.count == 1)
    }
}
