import Foundation
import TestSupport
import Testing

@testable import ResilientClient

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite(.serialized, .timeLimit(.minutes(1))) struct URLSessionTransportTests {
    @Test func roundTripOverLoopback() async throws {
        let server = try TestServer { _, request in
            .respond(201, headers: [("X-Echo", request.head.method)], body: String(decoding: request.body ?? [], as: UTF8.self))
        }
        defer { server.shutdown() }
        let transport = URLSessionTransport()
        let response = try await transport.send(
            TransportRequest(method: "POST", url: server.url("/echo"), headers: [("Content-Type", "application/json")],
                             body: Array(#"{"a":1}"#.utf8)),
            timeout: .seconds(5))
        #expect(response.status == 201)
        #expect(response.header("x-echo") == "POST")
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"a":1}"#)
    }

    @Test func refusedConnectionMapsToConnectionRefused() async throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let url = URL(string: "http://127.0.0.1:\(refusing.port)/ping")!
        await #expect {
            try await URLSessionTransport().send(TransportRequest(method: "GET", url: url), timeout: .seconds(5))
        } throws: { error in
            (error as? TransportError)?.kind == .connectionRefused
        }
    }

    @Test func urlErrorMapping() {
        #expect(URLSessionTransport.map(URLError(.cannotConnectToHost)).kind == .connectionRefused)
        #expect(URLSessionTransport.map(URLError(.timedOut)).kind == .responseTimeout)
        #expect(URLSessionTransport.map(URLError(.networkConnectionLost)).kind == .connectionClosed(requestSent: true))
        #expect(URLSessionTransport.map(URLError(.cancelled)).kind == .cancelled)
        #expect(URLSessionTransport.map(URLError(.badServerResponse)).kind == .protocolError)
        #expect(URLSessionTransport.map(URLError(.secureConnectionFailed)).kind == .other)
    }
}
