import Foundation
import Glibc
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// At the open-file limit the endpoint pauses accepting instead of spinning, keeps serving the connections it
/// has, and accepts again once descriptors are free.
@Suite("Endpoint end to end: open-file limit", .dedicatedThreads)
struct EndpointDescriptorLimitTests {
    /// CPU seconds (user + system) the process has used so far.
    static func cpuSeconds(_ pid: pid_t) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = try #require(stat.split(separator: ")").last).split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("EMFILE: no accept spin, open connections still served, new ones accepted once fds are free")
    func acceptPausesAtTheLimit() throws {
        let executable = try EndpointCLITests.executable()
        // `ulimit -n 40`: the endpoint needs about a dozen descriptors of its own, so the 30th client or so finds
        // the process out of descriptors.
        let child = try ChildProcess(
            "/bin/bash",
            [
                "-c", "ulimit -n 40 && exec \"$0\" \"$@\"", executable, "--model-dir", "examples/calculator",
                "--routes-file", "examples/calculator/routes.json", "--port", "0", "--workers", "1",
                "--loop-threads", "1",
            ])
        let line = try #require(child.readLine(seconds: 120), "no ready line; stderr: \(child.stderrText)")
        let port = try #require(Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        var clients: [WireClient] = []
        for _ in 0..<60 { clients.append(try WireClient(port: port)) }  // the kernel's backlog takes them all
        usleep(300_000)
        let pid = child.process.processIdentifier
        let before = try Self.cpuSeconds(pid)
        usleep(2_000_000)
        let spent = try Self.cpuSeconds(pid) - before
        // A listener spinning on EMFILE burns the whole 2 s; paused, it wakes ten times a second.
        #expect(spent < 0.5, "the endpoint used \(spent) s of CPU in 2 s while out of descriptors")
        // A connection it accepted is still served.
        #expect(try clients[0].exchange("GET", "/ping").status == 200)
        // Descriptors free up: the waiting clients, and new ones, are served.
        let waiting = clients[59]  // still in the kernel's backlog
        clients.removeSubrange(1...)
        #expect(try waiting.exchange("GET", "/ping").status == 200)
        let fresh = try WireClient(port: port)
        #expect(try fresh.exchange("POST", "/add", json: #"{"a":1}"#).text == #"{"sum":2.5}"#)
        kill(pid, SIGTERM)
        #expect(child.waitForExit(seconds: 30) == 0)
        let stderr = child.stderrText
        let reports = stderr.components(separatedBy: "cannot accept connections: Too many open files").count - 1
        #expect(reports == 1, "\(stderr.suffix(2_000))")
    }
}

/// SIGTERM with calls in flight: they finish, everything else is told to come back later, nothing is left behind.
@Suite("Endpoint end to end: graceful drain", .dedicatedThreads)
struct EndpointDrainTests {
    @Test("five 1 s calls in flight at SIGTERM all answer 200; /ping and a queued call get 503 + Retry-After; exit 0")
    func sigtermDrainsCallsInFlight() throws {
        let child = try ChildProcess(
            try EndpointCLITests.executable(),
            [
                "--model-dir", "examples/calculator", "--routes-file", "examples/calculator/routes.json",
                "--port", "0", "--workers", "1", "--threads", "5", "--loop-threads", "1", "--retry-after", "3",
            ])
        let line = try #require(child.readLine(seconds: 120), "no ready line; stderr: \(child.stderrText)")
        let port = try #require(Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        // The route's cost is measured first, so that a sixth slow call waits in the queue instead of being
        // pipelined to the busy worker.
        let warm = try WireClient(port: port)
        #expect(try warm.exchange("POST", "/sleep", json: #"{"seconds":0.2}"#).status == 200)
        let calls = try (0..<5).map { _ in try WireClient(port: port) }
        for client in calls { try client.send(client.request("POST", "/sleep", json: #"{"seconds":1}"#)) }
        let queued = try WireClient(port: port)
        let ping = try WireClient(port: port)
        // The endpoint's own counters say when each step is reached (fixed sleeps failed on a loaded machine).
        try Self.waitForStats(port: port, "the five calls at the worker") { $0["in_flight"] == 5 }
        try queued.send(queued.request("POST", "/sleep", json: #"{"seconds":1}"#))
        try Self.waitForStats(port: port, "the sixth call waiting") { $0["queued"] == 1 }
        #expect(kill(child.process.processIdentifier, SIGTERM) == 0)
        // During the drain: /ping says so, the queued call is turned away, new connections are refused.
        var health = try ping.exchange("GET", "/ping")
        for _ in 0..<500 where health.status == 200 {  // until the signal is handled (at most 5 s)
            usleep(10_000)
            health = try ping.exchange("GET", "/ping")
        }
        #expect(health.status == 503)
        #expect(health.header("retry-after") == "3")
        #expect(health.text.contains("shutting down"))
        let turnedAway = try queued.readResponse()
        #expect(turnedAway.status == 503)
        #expect(turnedAway.header("retry-after") == "3")
        #expect(throws: (any Error).self) { _ = try WireClient(port: port) }
        // The five calls in flight finish.
        for client in calls {
            let response = try client.readResponse()
            #expect(response.status == 200, "\(response.text)")
        }
        #expect(child.waitForExit(seconds: 30) == 0)
        let stderr = child.stderrText
        #expect(stderr.contains("received SIGTERM: draining"))
        #expect(stderr.contains("drained: every call in flight finished"))
        #expect(!stderr.contains("worker crashed"))
    }

    /// Polls `GET /stats` (a new connection each time, every 10 ms, at most 30 s) until `condition` holds.
    static func waitForStats(port: Int, _ what: String, _ condition: ([String: Int]) -> Bool) throws {
        for _ in 0..<3_000 {
            let response = try WireClient(port: port).exchange("GET", "/stats")
            if let stats = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int], condition(stats) {
                return
            }
            usleep(10_000)
        }
        Issue.record("never reached: \(what)")
    }
}
