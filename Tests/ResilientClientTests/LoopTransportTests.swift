import Foundation
import HTTP1
import NetIO
import Synchronization
import TestSupport
import Testing

@testable import ResilientClient

/// A 127.0.0.1 server whose answers are decided per request by `respond` (on the loop thread).
final class TestServer: Sendable {
    let server: HTTPServer
    let group: EventLoopGroup
    private let shared = Shared()

    private final class Shared: Sendable {
        let held = Mutex<[HTTPResponder]>([])
        let count = Atomic<Int>(0)
    }

    enum Answer: Sendable {
        case respond(Int, headers: [(String, String)], body: String)
        case hold
    }

    init(idleTimeout: Duration = .seconds(60), _ respond: @escaping @Sendable (Int, HTTPRequest) -> Answer) throws {
        group = try EventLoopGroup(threads: 1, name: "test-server")
        let shared = self.shared
        server = try HTTPServer(group: group, idleTimeout: idleTimeout, handler: { request, responder in
            let n = shared.count.wrappingAdd(1, ordering: .relaxed).newValue
            switch respond(n, request) {
            case .respond(let status, let headers, let body):
                responder.respond(status: status, headers: headers, body: Array(body.utf8))
            case .hold:
                shared.held.withLock { $0.append(responder) }
            }
        })
    }

    var port: Int { server.port }
    var requests: Int { shared.count.load(ordering: .relaxed) }
    var heldCount: Int { shared.held.withLock { $0.count } }

    func url(_ path: String) -> URL {
        URL(string: "http://127.0.0.1:\(port)\(path)")!
    }

    func releaseHeld() {
        let responders = shared.held.withLock { held in
            defer { held.removeAll() }
            return held
        }
        for responder in responders { responder.respond(status: 200, headers: [], body: []) }
    }

    func shutdown() {
        server.shutdown()
        group.shutdown()
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers each request with its number (keep-alive) and closes
/// its connections only when `closeConnections()` is called.
final class ClosingServer: Sendable {
    let group: EventLoopGroup
    let listener: TCPListener
    private let shared = Shared()

    private final class Shared: Sendable {
        let connections = Mutex<[TCPConnection]>([])
        let requests = Atomic<Int>(0)
        let accepted = Atomic<Int>(0)
    }

    init() throws {
        let group = try EventLoopGroup(threads: 1, name: "closing-server")
        let shared = self.shared
        listener = try TCPListener(group: group) { connection in
            shared.accepted.add(1, ordering: .relaxed)
            shared.connections.withLock { $0.append(connection) }
            var decoder = HTTPRequestDecoder()
            try? connection.start(
                onRead: { connection, bytes in
                    decoder.append(bytes)
                    while let request = try? decoder.next() {
                        let n = shared.requests.add(1, ordering: .relaxed).newValue
                        var out: [UInt8] = []
                        HTTPEncoder.writeResponse(
                            status: 200, headers: [], body: Array("\(n)".utf8), keepAlive: request.head.keepAlive,
                            into: &out)
                        connection.write(out)
                    }
                },
                onClose: { _, _ in })
        }
        self.group = group
    }

    var port: Int { listener.port }
    var url: URL { URL(string: "http://127.0.0.1:\(port)/")! }
    /// Connections accepted so far.
    var accepted: Int { shared.accepted.load(ordering: .relaxed) }

    /// Closes every accepted connection (on the loop; the client sees EOF).
    func closeConnections() {
        for connection in shared.connections.withLock({ $0 }) { connection.loop.execute { connection.close() } }
    }

    func shutdown() {
        listener.close()
        closeConnections()
        group.shutdown()
    }
}

/// Waits (bounded: 500 × 10 ms) until `condition` holds; used only to observe another thread's progress.
func eventually(_ condition: () async -> Bool) async -> Bool {
    for _ in 0..<500 {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct LoopTransportTests {
    @Test func roundTripAndKeepAlive() async throws {
        let server = try TestServer { n, request in
            let body = String(decoding: request.body ?? [], as: UTF8.self)
            return .respond(200, headers: [("X-N", "\(n)")], body: "\(request.head.method) \(request.head.target) \(body)")
        }
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        for i in 1...10 {
            let response = try await transport.send(
                TransportRequest(method: "POST", url: server.url("/predict?x=\(i)"), headers: [("Content-Type", "application/json")],
                                 body: Array("{\"i\":\(i)}".utf8)),
                timeout: .seconds(5))
            #expect(response.status == 200)
            #expect(response.header("x-n") == "\(i)")
            #expect(response.header("X-Missing") == nil)
            // The received fields, in order, as strings on demand; assigning replaces them.
            #expect(response.headers.map(\.name) == ["X-N", "Date", "Content-Length"])
            #expect(response.headers.first?.value == "\(i)")
            var edited = response
            edited.headers = [("Retry-After", "2")]
            #expect(edited.header("retry-after") == "2" && edited.header("x-n") == nil)
            #expect(String(decoding: response.body, as: UTF8.self) == "POST /predict?x=\(i) {\"i\":\(i)}")
        }
        #expect(await transport.openConnections(host: "127.0.0.1", port: server.port) == 1)
    }

    @Test func concurrencyIsBoundedPerHost() async throws {
        let server = try TestServer { _, _ in .hold }
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 2))
        defer { transport.shutdown() }
        let url = server.url("/slow")
        let results = Task {
            await withTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask { (try? await transport.send(TransportRequest(method: "GET", url: url), timeout: nil))?.status ?? -1 }
                }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        #expect(await eventually { server.heldCount == 2 })
        #expect(await transport.openConnections(host: "127.0.0.1", port: server.port) == 2)
        // Release in rounds until all six were answered on the same two connections.
        #expect(await eventually {
            server.releaseHeld()
            return server.requests == 6
        })
        server.releaseHeld()
        #expect(await results.value == Array(repeating: 200, count: 6))
        #expect(await transport.openConnections(host: "127.0.0.1", port: server.port) == 2)
    }

    @Test func waitingQueueIsBounded() async throws {
        let server = try TestServer { _, _ in .hold }
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 1, maxWaitingRequests: 1))
        defer { transport.shutdown() }
        let url = server.url("/x")
        let first = Task { try await transport.send(TransportRequest(method: "GET", url: url), timeout: nil) }
        #expect(await eventually { server.heldCount == 1 })
        let second = Task { try await transport.send(TransportRequest(method: "GET", url: url), timeout: nil) }
        try await Task.sleep(for: .milliseconds(20))  // let it reach the queue (a miss only weakens the test)
        await #expect {
            try await transport.send(TransportRequest(method: "GET", url: url), timeout: nil)
        } throws: { error in
            (error as? TransportError).map { $0.kind == .other && $0.message.contains("queue full") } ?? false
        }
        server.releaseHeld()
        #expect(try await first.value.status == 200)
        #expect(await eventually { server.heldCount == 1 })
        server.releaseHeld()
        #expect(try await second.value.status == 200)
    }

    @Test func refusedConnection() async throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let url = URL(string: "http://127.0.0.1:\(refusing.port)/ping")!
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        await #expect {
            try await transport.send(TransportRequest(method: "GET", url: url), timeout: .seconds(5))
        } throws: { error in
            (error as? TransportError)?.kind == .connectionRefused
        }
    }

    @Test func closedConnectionsAreReplaced() async throws {
        // The server closes its idle connections when told to (not after an idle timeout, which would race
        // with the check that the connection was pooled): the pooled connection goes stale and a new one
        // serves the next request.
        let server = try ClosingServer()
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        for i in 1...3 {
            let response = try await transport.send(TransportRequest(method: "GET", url: server.url), timeout: .seconds(5))
            #expect(String(decoding: response.body, as: UTF8.self) == "\(i)")
            #expect(server.accepted == i)
            #expect(await transport.openConnections(host: "127.0.0.1", port: server.port) == 1)
            server.closeConnections()
            #expect(await eventually { await transport.openConnections(host: "127.0.0.1", port: server.port) == 0 })
        }
    }

    @Test func timeoutAndCancellation() async throws {
        let server = try TestServer { _, _ in .hold }
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        await #expect {
            try await transport.send(TransportRequest(method: "GET", url: server.url("/")), timeout: .milliseconds(50))
        } throws: { error in
            (error as? TransportError)?.kind == .responseTimeout
        }
        let task = Task { try await transport.send(TransportRequest(method: "GET", url: server.url("/")), timeout: nil) }
        #expect(await eventually { server.heldCount == 2 })
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result, let transportError = error as? TransportError else {
            Issue.record("expected a transport error, got \(result)")
            return
        }
        #expect(transportError.kind == .connectionClosed(requestSent: true))
        // The pool recovers: a new connection serves the next request.
        server.releaseHeld()
        let after = Task { try await transport.send(TransportRequest(method: "GET", url: server.url("/")), timeout: .seconds(5)) }
        #expect(await eventually { server.heldCount == 1 })
        server.releaseHeld()
        #expect(try await after.value.status == 200)
    }

    /// More URLs than the transport keeps among its recent ones, in turn: each request still goes to its
    /// own target (the recent ones are replaced, the older ones found again by hash).
    @Test func manyURLsKeepTheirTargets() async throws {
        let server = try TestServer { _, request in .respond(200, headers: [], body: request.head.target) }
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let paths = (0..<12).map { "/route/\($0)?q=\($0)" }
        for round in 0..<3 {
            for path in round == 1 ? paths.reversed() : paths {
                let response = try await transport.send(
                    TransportRequest(method: "GET", url: server.url(path)), timeout: .seconds(5))
                #expect(String(decoding: response.body, as: UTF8.self) == path)
            }
        }
        #expect(server.requests == 36)
    }

    /// A task cancelled before it sends (its cancellation handler then runs before the request reaches the
    /// pool) gets `.cancelled` at once, and the request never goes out.
    @Test func cancelledBeforeSendingSendsNothing() async throws {
        let server = try TestServer { n, _ in .respond(200, headers: [], body: "\(n)") }
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        for _ in 0..<20 {
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await transport.send(TransportRequest(method: "GET", url: server.url("/")), timeout: nil)
            }
            let result = await task.result
            guard case .failure(let error) = result, let transportError = error as? TransportError else {
                Issue.record("expected a transport error, got \(result)")
                return
            }
            #expect(transportError.kind == .cancelled)
        }
        // The next request is the first the server sees.
        let response = try await transport.send(TransportRequest(method: "GET", url: server.url("/")), timeout: .seconds(5))
        #expect(String(decoding: response.body, as: UTF8.self) == "1")
        #expect(server.requests == 1)
    }

    @Test func rejectsOtherSchemes() async throws {
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        await #expect {
            try await transport.send(TransportRequest(method: "GET", url: URL(string: "https://127.0.0.1/")!), timeout: nil)
        } throws: { error in
            (error as? TransportError)?.kind == .other
        }
    }

    @Test func errorMapping() {
        #expect(LoopTransport.map(.connectRefused).kind == .connectionRefused)
        #expect(LoopTransport.map(.connectTimedOut).kind == .connectTimeout)
        #expect(LoopTransport.map(.timedOut(requestSent: true)).kind == .responseTimeout)
        #expect(LoopTransport.map(.timedOut(requestSent: false)).kind == .connectTimeout)
        #expect(LoopTransport.map(.resetBeforeSend).kind == .connectionClosed(requestSent: false))
        #expect(LoopTransport.map(.resetAfterSend).kind == .connectionClosed(requestSent: true))
        #expect(LoopTransport.map(.closedByPeer(requestSent: false)).kind == .connectionClosed(requestSent: false))
        #expect(LoopTransport.map(.invalidResponse(HTTPParseError(status: 400, reason: "x"))).kind == .protocolError)
        let tooLarge = LoopTransport.map(
            .invalidResponse(HTTPParseError(status: 413, reason: "body larger than the limit of 64 bytes")))
        #expect(tooLarge.kind == .responseTooLarge)
        #expect(tooLarge.message == "response too large: body larger than the limit of 64 bytes")
    }

    @Test func clientOverLoopTransportRetries503() async throws {
        let server = try TestServer { n, request in
            if request.head.target == "/ping" { return .respond(200, headers: [], body: "") }
            return n <= 2 ? .respond(503, headers: [("Retry-After", "0")], body: "busy")
                : .respond(200, headers: [("Content-Type", "application/json")], body: catReply)
        }
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let clock = TestClock()
        var configuration = ResilientClientConfiguration(baseURL: server.url(""))
        configuration.randomSeed = 3
        let client = ResilientClient(configuration: configuration, transport: transport, clock: clock)
        try await client.waitUntilHealthy(timeout: .seconds(5))
        let (result, report) = await client.callReporting(predict, cat)
        #expect(try result.get() == Prediction(label: "cat"))
        #expect(report.attempts.map(\.outcome) == [.status(503), .status(200)])
        #expect(await transport.openConnections(host: "127.0.0.1", port: server.port) == 1)
    }
}
