import EndpointSpec
import Foundation
import Glibc
import TestSupport
import CommandLine
import Testing

@testable import ReferenceEndpoint

/// The endpoint's knobs for the client experiments (issue 16): `GET /stats`, `--drop-abandoned` with
/// `X-Deadline-Ms`, `--ping-overload-queue` and `--outage`. A gated model lets the tests hold the one worker
/// busy until they say so, and records every call that reached Python.
@Suite("Endpoint end to end: experiment knobs", .dedicatedThreads)
struct EndpointExperimentKnobsTests {
    /// `hold` records its tag, then waits (at most 60 s) for the test to create `release`; `quick` records its
    /// tag and answers at once.
    static let gatedModel = """
        import os, time

        def _record(tag):
            with open("ran.txt", "a") as f:
                f.write(tag + "\\n")

        def hold(tag):
            _record(tag)
            deadline = time.monotonic() + 60
            while not os.path.exists("release") and time.monotonic() < deadline:
                time.sleep(0.005)
            return {"tag": tag}

        def quick(tag):
            _record(tag)
            return {"tag": tag}

        def boom(tag):
            _record(tag)
            raise ValueError("boom " + tag)
        """

    static let routes = [
        RouteSpec(path: "/hold", file: "model", function: "hold", body: [BodyParam(name: "tag", type: .str)]),
        RouteSpec(path: "/quick", file: "model", function: "quick", body: [BodyParam(name: "tag", type: .str)]),
        RouteSpec(path: "/boom", file: "model", function: "boom", body: [BodyParam(name: "tag", type: .str)]),
    ]

    /// A running endpoint over a fresh copy of the gated model.
    final class Gated: Sendable {
        let model: E2ETemporaryModel
        let endpoint: RunningEndpoint

        init(_ adjust: (inout EndpointConfiguration) -> Void = { _ in }) throws {
            model = try E2ETemporaryModel(["model.py": EndpointExperimentKnobsTests.gatedModel])
            var config = EndpointConfiguration(modelDirectory: model.path, routes: EndpointExperimentKnobsTests.routes)
            config.port = 0
            config.workers = 1
            config.eventLoopThreads = 1
            adjust(&config)
            endpoint = try RunningEndpoint(config)
        }

        /// The tags that reached Python, in order.
        var ran: [String] {
            guard let text = try? String(contentsOfFile: model.path + "/ran.txt", encoding: .utf8) else { return [] }
            return text.split(separator: "\n").map(String.init)
        }

        func release() { _ = FileManager.default.createFile(atPath: model.path + "/release", contents: Data()) }

        /// `GET /stats` as a dictionary of integers.
        func stats() throws -> [String: Int] {
            let response = try endpoint.send("GET", "/stats")
            try #require(response.status == 200)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int])
            return object
        }

        /// Polls `condition` (every 10 ms, at most 3,000 times); records an issue naming `what` if it never held.
        func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
            for _ in 0..<3_000 {
                if try condition() { return }
                usleep(10_000)
            }
            Issue.record("timed out waiting until \(what)")
            throw WireError("timed out waiting until \(what)")
        }

        /// Sends `POST path {"tag": tag}` on a new connection without reading the answer.
        func start(_ path: String, _ tag: String, headers: [(String, String)] = []) throws -> WireClient {
            let client = try endpoint.connect()
            try client.send(client.request("POST", path, json: #"{"tag":"\#(tag)"}"#, headers: headers))
            return client
        }

        /// Starts `hold` and waits until it runs in the worker.
        func occupyWorker(_ tag: String = "holder") throws -> WireClient {
            let client = try start("/hold", tag)
            try waitUntil("\(tag) runs") { ran.contains(tag) }
            return client
        }
    }

    // MARK: - GET /stats

    @Test("GET /stats: served counts answers from Python (200 and 500), rejected the 503s; exact key order")
    func statsCounts() throws {
        let gated = try Gated()
        let empty = try gated.endpoint.send("GET", "/stats")
        #expect(empty.status == 200)
        #expect(empty.header("content-type") == "application/json")
        #expect(empty.text == #"{"served":0,"rejected":0,"abandoned_before_running":0,"served_after_client_left":0,"queued":0,"in_flight":0}"#)
        gated.release()
        #expect(try gated.endpoint.send("POST", "/quick", json: #"{"tag":"q"}"#).status == 200)
        #expect(try gated.endpoint.send("POST", "/boom", json: #"{"tag":"b"}"#).status == 500)
        #expect(try gated.endpoint.send("POST", "/quick", json: #"{"tag":1}"#).status == 422)  // not served
        let stats = try gated.stats()
        #expect(stats["served"] == 2)
        #expect(stats["rejected"] == 0)
        #expect(stats["abandoned_before_running"] == 0)
        #expect(stats["served_after_client_left"] == 0)
        #expect(stats["queued"] == 0)
        #expect(stats["in_flight"] == 0)
        let head = try gated.endpoint.send("HEAD", "/stats")
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(try gated.endpoint.send("POST", "/stats").status == 405)
    }

    @Test("GET /stats: queued and in_flight while the worker is held; shed and injected 503s are rejected")
    func statsWhileBusy() throws {
        let gated = try Gated { $0.maxQueue = 1 }
        let holder = try gated.occupyWorker()
        let waiting = try gated.start("/quick", "w")
        try gated.waitUntil("one call is queued") { try gated.stats()["queued"] == 1 }
        let shed = try gated.endpoint.send("POST", "/quick", json: #"{"tag":"s"}"#)
        #expect(shed.status == 503)
        var stats = try gated.stats()
        #expect(stats["in_flight"] == 1)
        #expect(stats["queued"] == 1)
        #expect(stats["rejected"] == 1)
        gated.release()
        #expect(try holder.readResponse().status == 200)
        #expect(try waiting.readResponse().status == 200)
        stats = try gated.stats()
        #expect(stats["served"] == 2 && stats["queued"] == 0 && stats["in_flight"] == 0)

        let failing = try Gated { $0.failRate = 1 }
        #expect(try failing.endpoint.send("POST", "/quick", json: #"{"tag":"f"}"#).status == 503)
        #expect(try failing.stats()["rejected"] == 1)
        #expect(failing.ran.isEmpty)
    }

    @Test("a route that claims GET or HEAD /stats is refused at start; POST /stats is allowed", arguments: ["GET", "HEAD"])
    func statsIsReserved(verb: String) throws {
        let route = RouteSpec(verb: verb, path: "/stats", file: "calculator", function: "opaque")
        let server = ReferenceEndpointServer(
            configuration: E2E.configuration("calculator", [Repository.calculatorRoutes[0], route]),
            log: EndpointLogFile().log)
        #expect(throws: EndpointStartupError(
            message: "route 1 (\(verb) /stats) conflicts with the built-in counters GET /stats (reserved, like GET /ping)")) {
            try server.start()
        }
        let post = try Router(routes: [RouteSpec(path: "/stats", file: "f", function: "g")])
        #expect(post.resolve(method: "POST", path: "/stats") == .route(0))
        #expect(post.resolve(method: "GET", path: "/stats") == .stats)
        #expect(post.resolve(method: "GET", path: "/stats/") == .redirect(path: "/stats"))
        #expect(post.resolve(method: "DELETE", path: "/stats") == .methodNotAllowed(allow: "GET, HEAD, POST"))
    }

    // MARK: - --drop-abandoned

    @Test("--drop-abandoned: a queued call whose client disconnected never reaches Python and is counted")
    func droppedWhenClientLeaves() throws {
        let gated = try Gated { $0.dropAbandoned = true }
        let holder = try gated.occupyWorker()
        do {
            let leaver = try gated.start("/quick", "left")
            try gated.waitUntil("the call is queued") { try gated.stats()["queued"] == 1 }
            _ = leaver  // closed at the end of this scope
        }
        try gated.waitUntil("the abandoned call is dropped") { try gated.stats()["abandoned_before_running"] == 1 }
        gated.release()
        #expect(try holder.readResponse().status == 200)
        #expect(try gated.endpoint.send("POST", "/quick", json: #"{"tag":"after"}"#).status == 200)
        #expect(gated.ran == ["holder", "after"])
        let stats = try gated.stats()
        #expect(stats["served"] == 2)
        #expect(stats["abandoned_before_running"] == 1)
        #expect(stats["queued"] == 0)
    }

    @Test("without --drop-abandoned the call runs anyway and counts as served after its client left")
    func servedAfterClientLeft() throws {
        let gated = try Gated()
        let holder = try gated.occupyWorker()
        do {
            let leaver = try gated.start("/quick", "left")
            try gated.waitUntil("the call is queued") { try gated.stats()["queued"] == 1 }
            _ = leaver
        }
        // One loop thread: once it answered this request it has read the leaver's end of file too.
        _ = try gated.stats()
        gated.release()
        #expect(try holder.readResponse().status == 200)
        try gated.waitUntil("both calls are served") { try gated.stats()["served"] == 2 }
        #expect(gated.ran == ["holder", "left"])
        let stats = try gated.stats()
        #expect(stats["served_after_client_left"] == 1)
        #expect(stats["abandoned_before_running"] == 0)
    }

    @Test("--drop-abandoned: X-Deadline-Ms 0 is dropped (504, never runs); a far deadline runs; a bad one is a 400")
    func deadlineHeader() throws {
        let gated = try Gated { $0.dropAbandoned = true }
        let expired = try gated.endpoint.send("POST", "/quick", json: #"{"tag":"late"}"#, headers: [("X-Deadline-Ms", "0")])
        #expect(expired.status == 504)
        #expect(expired.text.contains("did not run"))
        let far = try gated.endpoint.send("POST", "/quick", json: #"{"tag":"far"}"#, headers: [("X-Deadline-Ms", "60000")])
        #expect(far.status == 200)
        let bad = try gated.endpoint.send("POST", "/quick", json: #"{"tag":"bad"}"#, headers: [("X-Deadline-Ms", "soon")])
        #expect(bad.status == 400)
        #expect(bad.text == #"{"detail":"X-Deadline-Ms must be a number of milliseconds >= 0, got 'soon'"}"#)
        #expect(gated.ran == ["far"])
        let stats = try gated.stats()
        #expect(stats["abandoned_before_running"] == 1)
        #expect(stats["served"] == 1)
    }

    @Test("--drop-abandoned: a call whose deadline passes while it waits is dropped before it runs (504)")
    func deadlinePassesInTheQueue() throws {
        let gated = try Gated { $0.dropAbandoned = true }
        let holder = try gated.occupyWorker()
        let waiting = try gated.start("/quick", "short", headers: [("X-Deadline-Ms", "1")])
        try gated.waitUntil("the call was dropped") { try gated.stats()["abandoned_before_running"] == 1 }
        let answer = try waiting.readResponse()
        #expect(answer.status == 504)
        gated.release()
        #expect(try holder.readResponse().status == 200)
        #expect(gated.ran == ["holder"])
    }

    @Test("without --drop-abandoned, X-Deadline-Ms is ignored")
    func deadlineIgnoredByDefault() throws {
        let gated = try Gated()
        let response = try gated.endpoint.send("POST", "/quick", json: #"{"tag":"x"}"#, headers: [("X-Deadline-Ms", "0")])
        #expect(response.status == 200)
        #expect(try gated.endpoint.send("POST", "/quick", json: #"{"tag":"y"}"#, headers: [("X-Deadline-Ms", "no")]).status == 200)
        #expect(try gated.stats()["abandoned_before_running"] == 0)
    }

    // MARK: - --ping-overload-queue

    @Test("--ping-overload-queue 1: /ping is 503 with Retry-After while 2 calls wait, 200 again once they ran")
    func pingReportsOverload() throws {
        let gated = try Gated {
            $0.pingOverloadQueue = 1
            $0.retryAfterSeconds = 3
        }
        let holder = try gated.occupyWorker()
        let first = try gated.start("/quick", "a")
        try gated.waitUntil("one call waits") { try gated.stats()["queued"] == 1 }
        #expect(try gated.endpoint.send("GET", "/ping").status == 200)  // 1 is not more than 1
        let second = try gated.start("/quick", "b")
        try gated.waitUntil("two calls wait") { try gated.stats()["queued"] == 2 }
        let ping = try gated.endpoint.send("GET", "/ping")
        #expect(ping.status == 503)
        #expect(ping.header("retry-after") == "3")
        #expect(ping.text == #"{"detail":"Service Unavailable: overloaded (more than 1 calls wait for a worker)"}"#)
        gated.release()
        for client in [holder, first, second] { #expect(try client.readResponse().status == 200) }
        #expect(try gated.endpoint.send("GET", "/ping").status == 200)
    }

    @Test("without --ping-overload-queue, /ping answers 200 however many calls wait")
    func pingIgnoresQueueByDefault() throws {
        let gated = try Gated()
        let holder = try gated.occupyWorker()
        let waiting = try (0..<3).map { try gated.start("/quick", "w\($0)") }
        try gated.waitUntil("three calls wait") { try gated.stats()["queued"] == 3 }
        #expect(try gated.endpoint.send("GET", "/ping").status == 200)
        gated.release()
        for client in [holder] + waiting { #expect(try client.readResponse().status == 200) }
    }

    // MARK: - --outage

    @Test("--outage 0:3600: every route call and /ping get 503 with Retry-After from --outage-retry-after")
    func outage() throws {
        let gated = try Gated {
            $0.outage = OutageWindow(start: 0, duration: 3_600)
            $0.outageRetryAfterSeconds = 7
        }
        let call = try gated.endpoint.send("POST", "/quick", json: #"{"tag":"o"}"#)
        #expect(call.status == 503)
        #expect(call.header("retry-after") == "7")
        #expect(call.text == #"{"detail":"Service Unavailable: outage (--outage)"}"#)
        let ping = try gated.endpoint.send("GET", "/ping")
        #expect(ping.status == 503 && ping.header("retry-after") == "7")
        #expect(try gated.stats()["rejected"] == 1)
        #expect(gated.ran.isEmpty)
    }

    @Test("--outage that has not begun yet changes nothing")
    func outageNotYet() throws {
        let gated = try Gated { $0.outage = OutageWindow(start: 3_600, duration: 1) }
        #expect(try gated.endpoint.send("POST", "/quick", json: #"{"tag":"o"}"#).status == 200)
        #expect(try gated.endpoint.send("GET", "/ping").status == 200)
    }

    @Test("OutageWindow: start inclusive, end exclusive; START:DURATION parsing")
    func outageWindow() {
        let window = OutageWindow(start: 10, duration: 5)
        #expect(!window.contains(elapsed: 9.999))
        #expect(window.contains(elapsed: 10))
        #expect(window.contains(elapsed: 14.999))
        #expect(!window.contains(elapsed: 15))
        #expect(OutageWindow.parse("10:5") == window)
        #expect(OutageWindow.parse("10s:5s") == window)
        #expect(OutageWindow.parse("1.5:500ms") == OutageWindow(start: 1.5, duration: 0.5))
        for bad in ["", "10", "10:", ":5", "10:0", "-1:5", "10:5:1", "a:b", "10:-5"] {
            #expect(OutageWindow.parse(bad) == nil, "\(bad)")
        }
    }

    // MARK: - Flags

    static func configuration(_ arguments: [String]) throws -> EndpointConfiguration {
        let parser = CommandParser(root: EndpointCommand.spec(name: "reference-endpoint"))
        let route = #"{"path": "/p", "file": "f", "function": "g"}"#
        guard case .run(let parsed) = try parser.parse(["--model-dir", "m", "--route", route] + arguments) else {
            throw CommandLineError("expected run")
        }
        return try EndpointCommand.configuration(from: parsed)
    }

    @Test("the flags fill the configuration; everything is off by default")
    func flags() throws {
        let defaults = try Self.configuration([])
        #expect(!defaults.dropAbandoned)
        #expect(defaults.pingOverloadQueue == nil)
        #expect(defaults.outage == nil)
        #expect(defaults.outageRetryAfterSeconds == 2)
        let set = try Self.configuration([
            "--drop-abandoned", "--ping-overload-queue", "16", "--outage", "20s:5s", "--outage-retry-after", "4",
        ])
        #expect(set.dropAbandoned)
        #expect(set.pingOverloadQueue == 16)
        #expect(set.outage == OutageWindow(start: 20, duration: 5))
        #expect(set.outageRetryAfterSeconds == 4)
    }

    @Test("bad values name the flag and the value")
    func badFlags() {
        func message(_ arguments: [String]) -> String {
            do {
                _ = try Self.configuration(arguments)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(["--outage", "20"]).contains(
            "--outage expects START:DURATION in seconds (e.g. 10:5 or 10s:5s; DURATION greater than 0), got '20'"))
        #expect(message(["--ping-overload-queue", "-1"]).contains("--ping-overload-queue expects an integer >= 0, got '-1'"))
        #expect(message(["--outage-retry-after", "x"]).contains("--outage-retry-after expects an integer from 0 to 86400, got 'x'"))
        #expect(message(["--worker-memory", "8"]).contains("--worker-memory expects an integer from 16 to 1073741824, got '8'"))
        #expect(message(["--worker-max-calls", "0"]).contains("--worker-max-calls expects a positive integer, got '0'"))
        #expect(message(["--worker-max-rss", "lots"]).contains("--worker-max-rss expects an integer from 1 to 1073741824, got 'lots'"))
    }

    @Test("the worker flags fill the pool configuration in bytes; all off by default")
    func workerFlags() throws {
        let defaults = try Self.configuration([])
        #expect(defaults.memoryLimitBytes == nil && defaults.maxCallsPerWorker == nil && defaults.maxResidentBytes == nil)
        let set = try Self.configuration(["--worker-memory", "512", "--worker-max-calls", "1000", "--worker-max-rss", "300"])
        #expect(set.memoryLimitBytes == 512 << 20)
        #expect(set.maxCallsPerWorker == 1_000)
        #expect(set.maxResidentBytes == 300 << 20)
    }
}
