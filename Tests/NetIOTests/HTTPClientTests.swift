import Glibc
import HTTP1
import TestSupport
import Testing
@testable import NetIO

/// Connects a client on `loop` and runs `body` on the loop thread with it; fails the test on connect errors.
func withClient(
    port: Int, on loop: EventLoop, _ body: @escaping @Sendable (HTTPClientConnection) -> Void
) -> Bool {
    let connected = Latch()
    let ok = Recorder<Bool>()
    HTTPClientConnection.connect(host: "127.0.0.1", port: port, on: loop) { result in
        switch result {
        case .success(let connection):
            ok.append(true)
            body(connection)
        case .failure(let error):
            Issue.record("connect failed: \(error)")
            ok.append(false)
        }
        connected.countDown()
    }
    return connected.wait(timeoutNanoseconds: testTimeout) && ok.values == [true]
}

@Suite(.dedicatedThreads) struct HTTPClientTests {
    @Test func manySequentialRequestsOnOneConnection() throws {
        let fixture = try ServerFixture()
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let total = 500
        let done = Latch()
        let statuses = Recorder<Int>()
        let connected = withClient(port: fixture.server.port, on: clients.loops[0]) { connection in
            func next(_ remaining: Int) {
                if remaining == 0 {
                    done.countDown()
                    return
                }
                connection.send(method: "GET", target: "/ping") { result in
                    guard case .success(let response) = result, response.body == Array("pong".utf8) else {
                        Issue.record("unexpected \(result)")
                        done.countDown()
                        return
                    }
                    statuses.append(response.head.status)
                    next(remaining - 1)
                }
            }
            next(total)
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(statuses.values.count == total)
        #expect(Set(statuses.values) == [200])
    }

    @Test func pipelinedRequestsAreMatchedInOrder() throws {
        let fixture = try ServerFixture()
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let count = 200
        let done = Latch(count: count)
        let bodies = Recorder<String>()
        let connected = withClient(port: fixture.server.port, on: clients.loops[0]) { connection in
            for index in 0..<count {
                let target = index % 7 == 0 ? "/slow/\(index % 3)" : "/echo"
                let method = target == "/echo" ? "POST" : "GET"
                connection.send(method: method, target: target, body: Array("#\(index)".utf8)) { result in
                    switch result {
                    case .success(let response):
                        let body = text(response.body)
                        bodies.append(target == "/echo" ? body : "#\(index)=\(body)")
                    case .failure(let error): bodies.append("error \(error)")
                    }
                    done.countDown()
                }
            }
            #expect(connection.inFlightCount == count)
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        let expected = (0..<count).map { index in index % 7 == 0 ? "#\(index)=slow\(index % 3)" : "#\(index)" }
        #expect(bodies.values == expected)
    }

    @Test func asyncWrapperSendsFromSwiftConcurrency() async throws {
        let fixture = try ServerFixture()
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let connection = try await HTTPClientConnection.connect(host: "127.0.0.1", port: fixture.server.port, on: clients.loops[0])
        for index in 0..<20 {
            let response = try await connection.send(method: "POST", target: "/echo", body: Array("n\(index)".utf8))
            #expect(response.head.status == 200)
            #expect(text(response.body) == "n\(index)")
        }
        connection.closeFromAnyThread()
    }

    @Test func connectToAClosedPortFailsWithConnectRefused() async throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        await #expect(throws: HTTPClientError.connectRefused) {
            _ = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, on: clients.loops[0])
        }
        #expect(!HTTPClientError.connectRefused.requestMayHaveBeenProcessed)
    }

    @Test func serverResetAfterTheRequestIsResetAfterSend() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        // A "server" that resets the connection as soon as a request arrives.
        let listener = try TCPListener(group: group, port: 0) { connection in
            try? connection.start(onRead: { c, _ in c.abort() }, onClose: { _, _ in })
        }
        defer { listener.close() }
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let results = Recorder<HTTPClientError?>()
        let done = Latch(count: 2)
        let connected = withClient(port: listener.port, on: clients.loops[0]) { connection in
            for _ in 0..<2 {
                connection.send(method: "GET", target: "/") { result in
                    if case .failure(let error) = result { results.append(error) } else { results.append(nil) }
                    done.countDown()
                }
            }
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == [.resetAfterSend, .resetAfterSend])
        #expect(HTTPClientError.resetAfterSend.requestMayHaveBeenProcessed)
    }

    @Test func connectionCloseFromServerFailsLaterRequestsAsNotSent() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let server = try HTTPServer(group: group, port: 0) { _, responder in
            responder.respond(status: 200, headers: [("Connection", "close")], body: Array("bye".utf8))
        }
        defer { server.shutdown() }
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let results = Recorder<String>()
        let done = Latch(count: 2)
        let connected = withClient(port: server.port, on: clients.loops[0]) { connection in
            connection.send(method: "GET", target: "/", headers: [("Connection", "close")]) { result in
                results.append((try? text(result.get().body)) ?? "\(result)")
                #expect(!connection.isReusable)
                connection.send(method: "GET", target: "/again") { result in
                    if case .failure(let error) = result { results.append("\(error)") } else { results.append("ok?") }
                    done.countDown()
                }
                done.countDown()
            }
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == ["bye", "\(HTTPClientError.closedByPeer(requestSent: false))"])
    }

    @Test func peerCloseWithRequestsOutstandingIsClosedByPeerSent() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let listener = try TCPListener(group: group, port: 0) { connection in
            try? connection.start(onRead: { c, _ in c.close() }, onClose: { _, _ in })
        }
        defer { listener.close() }
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let results = Recorder<HTTPClientError?>()
        let done = Latch()
        let connected = withClient(port: listener.port, on: clients.loops[0]) { connection in
            connection.send(method: "GET", target: "/") { result in
                if case .failure(let error) = result { results.append(error) } else { results.append(nil) }
                done.countDown()
            }
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        // The server closes with unread input, which the kernel may turn into an RST; both mean "sent".
        let value = results.values.first ?? nil
        #expect(value == .closedByPeer(requestSent: true) || value == .resetAfterSend)
    }

    @Test func deadlineExpiryFailsTimedOutAndClosesTheRest() throws {
        let fixture = try ServerFixture()
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let results = Recorder<String>()
        let done = Latch(count: 2)
        let connected = withClient(port: fixture.server.port, on: clients.loops[0]) { connection in
            connection.send(method: "GET", target: "/slow/2000", deadline: EventLoop.now() + 50_000_000) { result in
                if case .failure(let error) = result { results.append("\(error)") } else { results.append("ok?") }
                done.countDown()
            }
            connection.send(method: "GET", target: "/ping") { result in
                if case .failure(let error) = result { results.append("\(error)") } else { results.append("ok?") }
                done.countDown()
            }
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == ["\(HTTPClientError.timedOut(requestSent: true))", "\(HTTPClientError.closed(requestSent: true))"])
    }

    @Test func localCloseFailsOutstandingAndLaterSends() throws {
        let fixture = try ServerFixture()
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let results = Recorder<HTTPClientError?>()
        let done = Latch(count: 2)
        let connected = withClient(port: fixture.server.port, on: clients.loops[0]) { connection in
            connection.send(method: "GET", target: "/slow/100") { result in
                if case .failure(let error) = result { results.append(error) } else { results.append(nil) }
                done.countDown()
            }
            connection.close()
            connection.send(method: "GET", target: "/ping") { result in
                if case .failure(let error) = result { results.append(error) } else { results.append(nil) }
                done.countDown()
            }
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == [.closed(requestSent: false), .closed(requestSent: false)])
    }

    @Test func garbageResponseIsInvalidResponse() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let listener = try TCPListener(group: group, port: 0) { connection in
            try? connection.start(onRead: { c, _ in c.write(Array("NOT HTTP AT ALL\r\n\r\n".utf8)) }, onClose: { _, _ in })
        }
        defer { listener.close() }
        let clients = try EventLoopGroup(threads: 1)
        defer { clients.shutdown() }
        let results = Recorder<Bool>()
        let done = Latch()
        let connected = withClient(port: listener.port, on: clients.loops[0]) { connection in
            connection.send(method: "GET", target: "/") { result in
                if case .failure(.invalidResponse) = result { results.append(true) } else { results.append(false) }
                done.countDown()
            }
        }
        #expect(connected)
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == [true])
    }
}
