import Glibc
import TestSupport
import Testing
@testable import NetIO

@Suite(.dedicatedThreads) struct TCPTests {
    @Test func listenerOnPortZeroAcceptsARawClientAndEchoes() throws {
        let group = try EventLoopGroup(threads: 2)
        defer { group.shutdown() }
        let closed = Latch()
        let closeErrors = Recorder<String>()
        let listener = try TCPListener(group: group, port: 0) { connection in
            try? connection.start(
                onRead: { connection, bytes in connection.write(bytes) },
                onClose: { _, error in
                    closeErrors.append(error.map { "\($0)" } ?? "orderly")
                    closed.countDown()
                })
        }
        defer { listener.close() }
        #expect(listener.port > 0)
        let client = try RawClient(port: listener.port)
        client.send("hello ")
        client.send("world")
        let echoed = client.read(until: { $0.count >= 11 })
        #expect(String(decoding: echoed, as: UTF8.self) == "hello world")
        // A large payload exercises partial writes and EPOLLOUT.
        let big = [UInt8]((0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        client.send(big)
        let back = client.read(until: { $0.count >= big.count })
        #expect(back == big)
        client.shutdownWrite()
        #expect(closed.wait(timeoutNanoseconds: testTimeout))
        #expect(closeErrors.values == ["orderly"])
    }

    @Test func outgoingConnectionRoundTripsThroughAnEchoServer() throws {
        let group = try EventLoopGroup(threads: 2)
        defer { group.shutdown() }
        let listener = try TCPListener(group: group, port: 0) { connection in
            try? connection.start(onRead: { c, bytes in c.write(bytes) }, onClose: { _, _ in })
        }
        defer { listener.close() }
        let received = Recorder<UInt8>()
        let done = Latch()
        TCPConnection.connect(host: "127.0.0.1", port: listener.port, on: group.loops[0]) { result in
            guard case .success(let connection) = result else {
                Issue.record("connect failed: \(result)")
                done.countDown()
                return
            }
            #expect(connection.loop.inEventLoop)
            do {
                try connection.start(
                    onRead: { c, bytes in
                        for byte in bytes { received.append(byte) }
                        if received.values.count >= 5 { c.close() }
                    },
                    onClose: { _, error in
                        #expect(error == nil)
                        done.countDown()
                    })
            } catch {
                Issue.record("start failed: \(error)")
                done.countDown()
            }
            connection.write(Array("ping!".utf8))
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(received.values == Array("ping!".utf8))
    }

    @Test func connectToAClosedPortIsRefused() throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let results = Recorder<NetError?>()
        let done = Latch()
        TCPConnection.connect(host: "127.0.0.1", port: port, on: group.loops[0]) { result in
            switch result {
            case .success: results.append(nil)
            case .failure(let error): results.append(error)
            }
            done.countDown()
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == [.connectionRefused])
    }

    @Test func unresolvableHostIsATypedError() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let results = Recorder<NetError?>()
        let done = Latch()
        TCPConnection.connect(host: "no-such-host.invalid", port: 80, on: group.loops[0]) { result in
            if case .failure(let error) = result { results.append(error) } else { results.append(nil) }
            done.countDown()
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == [.addressResolution(host: "no-such-host.invalid")])
    }

    @Test func connectTimesOutAgainstAFullBacklog() throws {
        // A listener that never accepts, with backlog 0, fills after a couple of connections; SYNs are then
        // dropped and further connects stay pending until our timeout fires.
        let (fd, port) = try Socket.listen(host: "127.0.0.1", port: 0, backlog: 0)
        defer { Glibc.close(fd) }
        var fillers: [RawClient] = []
        for _ in 0..<2 { if let client = try? RawClient(port: port, timeoutSeconds: 1) { fillers.append(client) } }
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let results = Recorder<NetError?>()
        let done = Latch()
        TCPConnection.connect(host: "127.0.0.1", port: port, on: group.loops[0], timeoutNanoseconds: 100_000_000) { result in
            if case .failure(let error) = result { results.append(error) } else { results.append(nil) }
            done.countDown()
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(results.values == [.timedOut])
        _ = fillers
    }

    @Test func peerResetIsReportedAsConnectionReset() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let errors = Recorder<String>()
        let closed = Latch()
        let accepted = Latch()
        let listener = try TCPListener(group: group, port: 0) { connection in
            try? connection.start(
                onRead: { _, _ in accepted.countDown() },
                onClose: { _, error in
                    errors.append(error.map { "\($0)" } ?? "orderly")
                    closed.countDown()
                })
        }
        defer { listener.close() }
        let client = try RawClient(port: listener.port)
        client.send("x")
        #expect(accepted.wait(timeoutNanoseconds: testTimeout))
        client.reset()
        #expect(closed.wait(timeoutNanoseconds: testTimeout))
        #expect(errors.values == ["\(NetError.connectionReset)"])
    }

    @Test func secondListenerOnTheSamePortWithoutReusePortFailsTyped() throws {
        // SO_REUSEPORT lets our own listeners share a port; a plain socket bound there fails with EADDRINUSE.
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let listener = try TCPListener(group: group, port: 0) { _ in }
        defer { listener.close() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(listener.port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(rc != 0)
        #expect(NetError.from(errno: errno, call: "bind") == .addressInUse)
    }
}
