import Glibc
import HTTP1
import Synchronization
import TestSupport
import Testing
@testable import NetIO

/// Answers `/ping` with `pong`, `/echo` with the body, `/slow/N` from another thread (N ms later, via a loop timer
/// and execute), so pipelined requests are answered out of order; `/twice-later` and `/drop-later` answer twice or
/// not at all from that thread.
struct TestHandler: HTTPServerHandler {
    let other: EventLoop?
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let target = request.head.target
        if target == "/big-later", let other {
            // 256 KiB, answered from another thread (after the request was decoded).
            other.execute { responder.respond(status: 200, body: [UInt8](repeating: 0x61, count: 256 << 10)) }
            return
        }
        if target == "/twice-later", let other {
            other.execute {
                responder.respond(status: 200, body: Array("first-later".utf8))
                responder.respond(status: 500, body: Array("second-later".utf8))
            }
            return
        }
        if target == "/drop-later", let other {
            other.execute { _ = responder }  // released off the loop thread without an answer
            return
        }
        if target.hasPrefix("/slow/"), let other, let delay = UInt64(target.dropFirst(6)) {
            other.execute {
                other.schedule(after: delay * 1_000_000) {
                    responder.respond(status: 200, body: Array("slow\(delay)".utf8))
                }
            }
            return
        }
        switch target {
        case "/echo": responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: request.body ?? [])
        case "/twice":
            responder.respond(status: 200, body: Array("first".utf8))
            responder.respond(status: 500, body: Array("second".utf8))
        case "/drop": break
        default: responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array("pong".utf8))
        }
    }
}

final class ServerFixture {
    let group: EventLoopGroup
    let helper: EventLoopGroup
    let server: HTTPServer

    init(
        idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10), limits: HTTPLimits = .default,
        maxUnsentBytes: Int = HTTPServer.defaultMaxUnsentBytes
    ) throws {
        group = try EventLoopGroup(threads: 2)
        helper = try EventLoopGroup(threads: 1)
        server = try HTTPServer(
            group: group, port: 0, limits: limits, idleTimeout: idleTimeout, headerTimeout: headerTimeout,
            maxUnsentBytes: maxUnsentBytes, handler: TestHandler(other: helper.loops[0]))
    }

    deinit {
        server.shutdown()
        helper.shutdown()
        group.shutdown()
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite(.dedicatedThreads) struct HTTPServerTests {
    @Test("a peer that pipelines requests for large answers and never reads them is dropped past the unsent limit")
    func unreadPipelinedAnswersAreBounded() throws {
        let fixture = try ServerFixture(maxUnsentBytes: 2 << 20)
        let client = try RawClient(port: fixture.server.port)
        // 64 × 256 KiB answers against a 2 MiB limit: the server used to hold them all (64 answers of any size)
        // for as long as the peer kept the connection open.
        client.send(String(repeating: "GET /big-later HTTP/1.1\r\nHost: x\r\n\r\n", count: 64))
        usleep(1_000_000)
        var received = 0
        var closedByServer = false
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(client.fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { closedByServer = true }
            if n <= 0 { break }
            received += n
        }
        #expect(closedByServer, "the connection was still open after \(received) bytes")
        #expect(received < 12 << 20, "received \(received) bytes")
        // The server goes on serving others.
        let other = try RawClient(port: fixture.server.port)
        other.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(other.read(occurrences: 1, of: "pong").hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test("one answer larger than the limit still goes out whole, and a reader gets big pipelined answers")
    func largeAnswersToAReaderAreNotCut() throws {
        let fixture = try ServerFixture(maxUnsentBytes: 2 << 20)
        let client = try RawClient(port: fixture.server.port)
        // 3 MiB in one answer (the echo route), above the 2 MiB limit, is sent whole.
        let body = [UInt8](repeating: 0x62, count: 3 << 20)
        client.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        let echoed = client.read(until: { $0.count >= body.count })
        #expect(echoed.count >= body.count)
        #expect(text(Array(echoed.prefix(15))) == "HTTP/1.1 200 OK")
        // Big answers pipelined to a client that reads them: all 6 arrive (256 KiB each, 1.5 MiB in all).
        client.send(String(repeating: "GET /big-later HTTP/1.1\r\nHost: x\r\n\r\n", count: 6))
        let answers = client.read(until: { $0.count >= 6 * (256 << 10) })
        #expect(answers.count >= 6 * (256 << 10))
    }

    @Test func keepAliveServesSequentialRequestsOnOneConnection() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        for index in 0..<20 {
            client.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            let reply = client.read(occurrences: 1, of: "pong")
            #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"), "request \(index)")
            #expect(reply.contains("Content-Length: 4"))
            #expect(!reply.contains("Connection: close"))
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderEvenWhenAnsweredOutOfOrder() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        let targets = ["/slow/60", "/ping", "/slow/30", "/slow/1", "/echo"]
        var batch = ""
        for target in targets {
            if target == "/echo" {
                batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            } else {
                batch += "GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n"
            }
        }
        client.send(batch)
        let reply = client.read(occurrences: 5, of: "HTTP/1.1 200")
        let bodies = ["slow60", "pong", "slow30", "slow1", "hello"]
        var positions: [Int] = []
        for body in bodies {
            positions.append(reply.position(of: body) ?? -1)
        }
        #expect(!positions.contains(-1), "\(reply)")
        #expect(positions == positions.sorted(), "\(reply)")
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Length: 0\r\n\r\n", 417),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 413),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 300))\r\n\r\n", 431),
    ])
    func parseErrorsAnswerTheirStatusAndClose(request: String, status: Int) throws {
        let fixture = try ServerFixture(limits: HTTPLimits(maxHeaderBytes: 256, maxBodyBytes: 10, maxHeaderCount: 10))
        let client = try RawClient(port: fixture.server.port)
        // A valid request first: its answer must precede the error.
        client.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n" + request)
        let reply = text(client.readToEOF())
        #expect(reply.hasPrefix("HTTP/1.1 200 OK"), "\(reply)")
        #expect(reply.contains("HTTP/1.1 \(status) "), "\(reply)")
        #expect(reply.contains("Connection: close"))
        #expect(reply.contains(#"{"detail":""#))
    }

    @Test func headerTimeoutAnswers408AndCloses() throws {
        let fixture = try ServerFixture(headerTimeout: .milliseconds(200))
        let client = try RawClient(port: fixture.server.port)
        client.send("GET /ping HTTP/1.1\r\nHost: x\r\n")  // head never finished
        let reply = text(client.readToEOF())
        #expect(reply.hasPrefix("HTTP/1.1 408 "), "\(reply)")
        #expect(reply.contains("Connection: close"))
        #expect(reply.contains(#"{"detail":"#))
    }

    @Test func incompleteBodyAlsoTimesOut() throws {
        let fixture = try ServerFixture(headerTimeout: .milliseconds(200))
        let client = try RawClient(port: fixture.server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        let reply = text(client.readToEOF())
        #expect(reply.hasPrefix("HTTP/1.1 408 "), "\(reply)")
    }

    @Test func idleKeepAliveConnectionsCloseSilently() throws {
        let fixture = try ServerFixture(idleTimeout: .milliseconds(200))
        let client = try RawClient(port: fixture.server.port)
        client.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = client.read(occurrences: 1, of: "pong")
        let rest = client.readToEOF()  // returns at EOF (bounded by the 5 s receive timeout)
        #expect(rest.isEmpty)
        // EOF really happened: a further send/recv sees the closed connection.
        var byte: UInt8 = 0
        #expect(recv(client.fd, &byte, 1, 0) == 0)
    }

    @Test func connectionCloseIsHonouredAndLaterPipelinedRequestsIgnored() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        let reply = text(client.readToEOF())
        #expect(reply.hasPrefix("HTTP/1.1 200 OK"))
        #expect(reply.contains("Connection: close"))
        #expect(occurrences(of: "HTTP/1.1", in: Array(reply.utf8)) == 1)
    }

    @Test func http10WithoutKeepAliveCloses() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send("GET /ping HTTP/1.0\r\n\r\n")
        let reply = text(client.readToEOF())
        #expect(reply.contains("200"))
        #expect(reply.hasSuffix("pong"))
    }

    @Test func expectContinueGets100BeforeTheBody() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = text(client.read(until: { occurrences(of: "\r\n\r\n", in: $0) >= 1 }))
        #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
        client.send("hello")
        let reply = client.read(occurrences: 1, of: "hello")
        #expect(reply.hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func respondingTwiceIsANoOpAndDroppedResponderAnswers500() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send("GET /twice HTTP/1.1\r\nHost: x\r\n\r\nGET /drop HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        let reply = client.read(occurrences: 1, of: "pong")
        #expect(reply.contains("first"))
        #expect(!reply.contains("second"))
        #expect(reply.contains("HTTP/1.1 500 "))
        #expect(reply.contains("no response"))
    }

    @Test("off the loop thread too: a second answer is ignored, and a responder released unanswered answers 500")
    func respondingTwiceOffTheLoopIsANoOpAndDroppedResponderAnswers500() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send(
            "GET /twice-later HTTP/1.1\r\nHost: x\r\n\r\nGET /drop-later HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        let reply = client.read(occurrences: 1, of: "pong")
        #expect(reply.contains("first-later"))
        #expect(!reply.contains("second-later"))
        #expect(reply.contains("HTTP/1.1 500 "))
        #expect(reply.contains("no response"))
    }

    @Test func halfClosedClientStillGetsItsAnswers() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send("GET /slow/20 HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        client.shutdownWrite()
        let reply = text(client.readToEOF())
        #expect(reply.contains("slow20"))
        #expect(reply.hasSuffix("pong"))
    }

    @Test func headRequestsGetNoBody() throws {
        let fixture = try ServerFixture()
        let client = try RawClient(port: fixture.server.port)
        client.send("HEAD /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let reply = text(client.readToEOF())
        #expect(reply.contains("Content-Length: 4"))
        #expect(!reply.contains("pong"))
    }

    @Test func shutdownClosesOpenConnectionsAndOwnedGroup() throws {
        let server = try HTTPServer(port: 0) { _, responder in responder.respond(status: 204) }
        let client = try RawClient(port: server.port)
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = client.read(occurrences: 1, of: "\r\n\r\n")
        server.shutdown()
        #expect(client.readToEOF().isEmpty)
        server.shutdown()
        #expect(throws: (any Error).self) { try RawClient(port: server.port, timeoutSeconds: 1) }
    }
}

extension String {
    func position(of needle: String) -> Int? {
        let hay = Array(utf8)
        let pattern = Array(needle.utf8)
        guard hay.count >= pattern.count else { return nil }
        for start in 0...(hay.count - pattern.count) where hay[start..<(start + pattern.count)].elementsEqual(pattern) {
            return start
        }
        return nil
    }

    func contains(_ needle: String) -> Bool { position(of: needle) != nil }
}

@Suite struct HTTPServerPortTests {
    /// A port we serve cannot be joined by a second listener (no SO_REUSEPORT), so no other process can take a
    /// share of our connections.
    @Test func secondServerOnTheSamePortFails() throws {
        let group = try EventLoopGroup(threads: 2, name: "port-test")
        defer { group.shutdown() }
        let first = try HTTPServer(group: group, port: 0) { _, responder in responder.respond(status: 200, headers: [], body: []) }
        defer { first.shutdown() }
        #expect(throws: NetError.addressInUse) {
            _ = try HTTPServer(group: group, port: first.port) { _, responder in
                responder.respond(status: 200, headers: [], body: [])
            }
        }
    }
}

/// Counts requests handed to it and answers each later from another loop, recording the most ever outstanding.
final class OutstandingCounter: HTTPServerHandler, Sendable {
    let other: EventLoop
    private let counts = Mutex<(outstanding: Int, peak: Int)>((0, 0))
    init(other: EventLoop) { self.other = other }
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        counts.withLock {
            $0.outstanding += 1
            $0.peak = max($0.peak, $0.outstanding)
        }
        let other = self.other
        other.execute {
            _ = other.schedule(after: 200_000) {
                self.counts.withLock { $0.outstanding -= 1 }
                responder.respond(status: 200, body: Array("ok".utf8))
            }
        }
    }
    var peakValue: Int { counts.withLock { $0.peak } }
}

@Suite struct HTTPServerPipeliningLimitTests {
    /// A client that pipelines far more requests than the limit gets every answer, in order, while the handler
    /// never has more than `maxPipelinedRequests` of that connection's requests outstanding.
    @Test func pipeliningIsBoundedPerConnectionAndEveryRequestIsAnswered() throws {
        let group = try EventLoopGroup(threads: 1, name: "pipeline")
        let helper = try EventLoopGroup(threads: 1, name: "pipeline-helper")
        defer {
            helper.shutdown()
            group.shutdown()
        }
        let handler = OutstandingCounter(other: helper.loops[0])
        let server = try HTTPServer(group: group, port: 0, handler: handler)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        let count = 300
        client.send(String(repeating: "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", count: count))
        let reply = client.read(occurrences: count, of: "HTTP/1.1 200")
        #expect(occurrences(of: "HTTP/1.1 200", in: Array(reply.utf8)) == count)
        #expect(handler.peakValue <= HTTPServerConnection.maxPipelinedRequests)
        #expect(handler.peakValue > 1)  // requests really were pipelined (how many arrive per read depends on the kernel)
    }
}
