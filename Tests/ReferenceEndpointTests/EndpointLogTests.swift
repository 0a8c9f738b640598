import Dispatch
import EndpointSpec
import Foundation
import Glibc
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// A log whose reader is stuck costs log lines, never requests.
@Suite("Endpoint log", .dedicatedThreads)
struct EndpointLogTests {
    /// A pipe whose read end nobody reads (until `drain()`).
    final class StuckPipe: Sendable {
        let read: Int32
        let write: Int32

        init() throws {
            var fds: [Int32] = [0, 0]
            try #require(pipe(&fds) == 0)
            read = fds[0]
            write = fds[1]
        }

        /// Everything written so far (non-blocking).
        func drain() -> String {
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
            var text: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                text += buffer[0..<n]
            }
            return String(decoding: text, as: UTF8.self)
        }

        /// Stops `log`'s writer thread (reading the pipe meanwhile, so that a blocked write returns) before the
        /// pipe is closed: a writer still running would write into whatever the descriptor's number is reused
        /// for, such as another test's socket.
        func stop(_ log: EndpointLog) {
            for _ in 0..<3_000 {
                _ = drain()
                if log.close(timeout: 0.01) { return }
            }
            Issue.record("the log's writer thread did not stop")
        }

        deinit {
            close(read)
            close(write)
        }
    }

    @Test("logging into a full pipe returns at once, drops lines, and says how many once it can write")
    func fullPipeDropsInsteadOfBlocking() throws {
        let stuck = try StuckPipe()
        let log = EndpointLog(fileDescriptor: stuck.write, capacityBytes: 64 * 1024)
        defer { stuck.stop(log) }
        let done = DispatchSemaphore(value: 0)
        let lines = 20_000  // ~1.4 MB: far beyond the pipe's 64 KB and the queue's 64 KB
        Thread {
            for index in 0..<lines { log.log("line \(index) " + String(repeating: "x", count: 40)) }
            done.signal()
        }.start()
        // A log that blocks on the pipe never gets here.
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(log.droppedLines > 0)
        #expect(log.droppedLines < lines)
        // The reader resumes: the queued lines come out whole, then the count of what was dropped.
        var text = ""
        for _ in 0..<200 where !text.contains("dropped") {
            text += stuck.drain()
            usleep(10_000)
        }
        text += stuck.drain()
        #expect(text.contains(" line 0 xxxx"))
        #expect(text.contains("lines dropped: the log's reader did not keep up"))
        #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("20") })  // whole timestamped lines
    }

    @Test("flush writes every queued line; a disabled log drops everything")
    func flushAndDisabled() throws {
        let stuck = try StuckPipe()
        let log = EndpointLog(fileDescriptor: stuck.write)
        defer { stuck.stop(log) }
        for index in 0..<100 { log.log("entry \(index)") }
        #expect(log.flush(timeout: 5))
        let text = stuck.drain()
        #expect(text.split(separator: "\n").count == 100)
        #expect(text.contains("entry 99\n"))
        let silent = EndpointLog(fileDescriptor: stuck.write, enabled: false)
        silent.log("never")
        #expect(silent.flush(timeout: 1))
        #expect(stuck.drain().isEmpty)
    }

    @Test("an endpoint whose stderr nobody reads keeps answering: /ping after thousands of logged requests")
    func stuckStderrDoesNotFreezeTheEndpoint() throws {
        let stuck = try StuckPipe()
        var config = E2E.configuration("calculator", Repository.calculatorRoutes)
        config.accessLog = true
        let log = EndpointLog(fileDescriptor: stuck.write)
        defer { stuck.stop(log) }
        let server = ReferenceEndpointServer(configuration: config, log: log)
        try server.start()
        defer { server.shutdown() }
        let client = try WireClient(port: server.port)
        // Each request logs a line of ~80 bytes: 3,000 of them overflow the 64 KB pipe many times over (the
        // endpoint used to stop answering after about 1,400).
        let batch = (0..<100).flatMap { _ in client.request("GET", "/ping") }
        for _ in 0..<30 {
            try client.send(batch)
            for _ in 0..<100 { #expect(try client.readResponse(method: "GET").status == 200) }
        }
        #expect(try client.exchange("POST", "/add", json: #"{"a":1}"#).text == #"{"sum":2.5}"#)
        #expect(server.stats.requests == 3_001)
    }
}
