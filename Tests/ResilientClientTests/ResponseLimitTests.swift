import Foundation
import HTTP1
import TestSupport
import Testing

@testable import ResilientClient

/// `ResilientClientConfiguration.maxResponseBytes` and the transports that enforce it, against `HostileServer`
/// on 127.0.0.1: an answer of exactly the limit is read, one byte more (announced or streamed) fails its attempt
/// as `.responseTooLarge` without reading on.
@Suite(.dedicatedThreads) struct ResponseLimitTests {
    struct Empty: Codable, Sendable, Equatable {}

    /// `HostileServer`'s `.ok` answer is `{}`: 2 bytes with a Content-Length.
    static let okBodyBytes = 2

    static func configuration(_ server: HostileServer, maxResponseBytes: Int? = nil) throws -> ResilientClientConfiguration {
        var configuration = ResilientClientConfiguration(baseURL: try #require(URL(string: "http://127.0.0.1:\(server.port)")))
        configuration.retry = RetryPolicy(
            maxAttempts: 3, backoff: Backoff(base: .milliseconds(1), multiplier: 2, cap: .milliseconds(2)))
        configuration.gate = .disabled
        configuration.attemptTimeout = .seconds(10)
        configuration.randomSeed = 7
        if let maxResponseBytes { configuration.maxResponseBytes = maxResponseBytes }
        return configuration
    }

    static let route = Route<Empty, Empty>(path: "/x", body: [])

    /// The one transport failure of a failed call, or nil (and an issue) if it did not fail that way.
    static func transportError(_ result: Result<Empty, ResilientClientError>) -> TransportError? {
        guard case .failure(.transport(let error, _)) = result else {
            Issue.record("expected a transport failure, got \(result)")
            return nil
        }
        return error
    }

    @Test("the default is 8 MiB, like loadgen's --max-response, and the shared transport serves it")
    func defaultLimit() throws {
        let configuration = ResilientClientConfiguration(baseURL: try #require(URL(string: "http://127.0.0.1:1")))
        #expect(configuration.maxResponseBytes == 8 << 20)
        #expect(ResilientClientConfiguration.defaultMaxResponseBytes == HTTPLimits.default.maxBodyBytes)
        let client = ResilientClient(configuration: configuration)
        defer { client.shutdown() }
        let shared = try #require(LoopTransport.shared)
        #expect(client.transport as? LoopTransport === shared)
        #expect(client.ownedTransport == nil)
    }

    @Test("another limit gets a transport of the client's own with that limit; https gets URLSession with it")
    func transportCarriesTheLimit() throws {
        var configuration = ResilientClientConfiguration(baseURL: try #require(URL(string: "http://127.0.0.1:1")))
        configuration.maxResponseBytes = 4096
        let plain = ResilientClient(configuration: configuration)
        defer { plain.shutdown() }
        let own = try #require(plain.ownedTransport)
        #expect(plain.transport as? LoopTransport === own)
        #expect(own.configuration.limits.maxBodyBytes == 4096)
        #expect(own !== LoopTransport.shared)

        configuration.baseURL = try #require(URL(string: "https://127.0.0.1:1"))
        let secure = ResilientClient(configuration: configuration)
        defer { secure.shutdown() }
        #expect((secure.transport as? URLSessionTransport)?.maxResponseBytes == 4096)

        // A transport given to the client keeps its own limit.
        let given = URLSessionTransport(maxResponseBytes: 100)
        let withGiven = ResilientClient(configuration: configuration, transport: given)
        defer { withGiven.shutdown() }
        #expect((withGiven.transport as? URLSessionTransport)?.maxResponseBytes == 100)
        #expect(withGiven.ownedTransport == nil)
        #expect(URLSessionTransport(maxResponseBytes: -5).maxResponseBytes == 0)
    }

    @Test("over the client's own LoopTransport: exactly the limit is read, one byte over fails once, not retried")
    func loopTransportBoundary() async throws {
        let server = try HostileServer { _ in .ok }
        defer { server.stop() }
        let fits = ResilientClient(configuration: try Self.configuration(server, maxResponseBytes: Self.okBodyBytes))
        defer { fits.shutdown() }
        #expect(try await fits.call(Self.route, Empty()) == Empty())

        let over = ResilientClient(configuration: try Self.configuration(server, maxResponseBytes: Self.okBodyBytes - 1))
        defer { over.shutdown() }
        let (result, report) = await over.callReporting(Self.route, Empty())
        let error = Self.transportError(result)
        #expect(error?.kind == .responseTooLarge)
        #expect(error?.message.contains("limit of 1 bytes") == true, "\(String(describing: error))")
        #expect(report.attempts.map(\.outcome) == [.transport(.responseTooLarge)])
        #expect(server.requests == 2)
    }

    @Test("over the client's own LoopTransport: an endless body stops at maxResponseBytes")
    func loopTransportEndlessBody() async throws {
        let server = try HostileServer { _ in .endlessBody }
        defer { server.stop() }
        let client = ResilientClient(configuration: try Self.configuration(server, maxResponseBytes: 1 << 20))
        defer { client.shutdown() }
        let (result, report) = await client.callReporting(Self.route, Empty())
        let error = Self.transportError(result)
        #expect(error?.kind == .responseTooLarge)
        #expect(error?.message.contains("\(1 << 20) bytes") == true, "\(String(describing: error))")
        #expect(report.attempts.count == 1)
        server.stop()
        #expect(server.largestEndlessBodySent < 64 << 20, "\(server.largestEndlessBodySent) bytes")
    }

    @Test("over URLSession: exactly the limit is read; a Content-Length over it fails before the body is read")
    func urlSessionBoundary() async throws {
        let server = try HostileServer { _ in .ok }
        defer { server.stop() }
        let configuration = try Self.configuration(server)
        let fits = ResilientClient(
            configuration: configuration, transport: URLSessionTransport(maxResponseBytes: Self.okBodyBytes))
        defer { fits.shutdown() }
        #expect(try await fits.call(Self.route, Empty()) == Empty())

        let over = ResilientClient(
            configuration: configuration, transport: URLSessionTransport(maxResponseBytes: Self.okBodyBytes - 1))
        defer { over.shutdown() }
        let (result, report) = await over.callReporting(Self.route, Empty())
        let error = Self.transportError(result)
        #expect(error == TransportError.responseTooLarge(limit: 1))
        #expect(report.attempts.map(\.outcome) == [.transport(.responseTooLarge)])
        #expect(server.requests == 2)
    }

    /// FoundationNetworking on Linux keeps reading the connection of a cancelled task in the background (measured:
    /// the server's whole 1 GiB was read after the attempt had failed), so only the attempt and the memory it
    /// keeps are bounded here, not the bytes read off the socket; `LoopTransport` and loadgen's libcurl path close
    /// the connection at the limit.
    @Test("over URLSession: an endless chunked body is counted as it arrives and fails the attempt at the limit")
    func urlSessionEndlessBody() async throws {
        let server = try HostileServer { _ in .endlessBody }
        defer { server.stop() }
        let transport = URLSessionTransport(maxResponseBytes: 1 << 20)
        let client = ResilientClient(configuration: try Self.configuration(server), transport: transport)
        defer { client.shutdown() }
        let (result, report) = await client.callReporting(Self.route, Empty())
        #expect(Self.transportError(result) == TransportError.responseTooLarge(limit: 1 << 20))
        // The limit ends the call: it is the last attempt's outcome and no other attempt's. An earlier attempt may
        // fail otherwise and be retried: CI saw two attempts once, under the full suite's load, 27 s into this
        // test (their outcomes were not printed then; they are now).
        let outcomes = report.attempts.map(\.outcome)
        #expect(outcomes.last == .transport(.responseTooLarge), "attempts: \(outcomes)")
        #expect(outcomes.filter { $0 == .transport(.responseTooLarge) }.count == 1, "attempts: \(outcomes)")
    }

    @Test("URLSessionTransport still answers normally after a task it cut off")
    func urlSessionAfterCut() async throws {
        let server = try HostileServer { number in number == 0 ? .endlessBody : .ok }
        defer { server.stop() }
        let transport = URLSessionTransport(maxResponseBytes: 1 << 16)
        let request = TransportRequest(method: "GET", url: try #require(URL(string: "http://127.0.0.1:\(server.port)/x")))
        await #expect {
            try await transport.send(request, timeout: .seconds(10))
        } throws: { error in
            (error as? TransportError)?.kind == .responseTooLarge
        }
        let response = try await transport.send(request, timeout: .seconds(10))
        #expect(response.status == 200)
        #expect(response.body == Array("{}".utf8))
    }
}
