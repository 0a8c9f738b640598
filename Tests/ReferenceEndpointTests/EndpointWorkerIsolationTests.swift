import EndpointSpec
import Foundation
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// One client's answer must never reach another client, whatever the model does to the worker process.
@Suite("Endpoint end to end: worker isolation", .dedicatedThreads)
struct EndpointWorkerIsolationTests {
    /// A model whose function forks: the child returns a different answer, later than the parent.
    static let forkingModel = """
        import os, time

        def predict(x):
            if os.fork() == 0:
                time.sleep(0.03)
                return {"x": -1, "who": "child"}
            time.sleep(0.005)
            return {"x": x, "who": "parent"}

        def cfork(x):
            # fork() called from C (ctypes), as a C extension would: no os.register_at_fork hook runs, so the
            # child still holds the real protocol pipes when it returns into the worker loop.
            import ctypes
            if ctypes.CDLL(None, use_errno=True).fork() == 0:
                time.sleep(0.03)
                return {"x": -1, "who": "child"}
            time.sleep(0.005)
            return {"x": x, "who": "parent"}

        def forge(x):
            # Writes a results frame for a call id the pool never issued straight into the protocol pipe
            # (what a forked child or a stray write could do), then answers normally.
            import struct, sys
            payload = b'{"x":-2,"who":"forged"}'
            record = struct.pack("<QBII", (1 << 63) + x, 0, 1, len(payload)) + payload
            os.write(int(sys.argv[2]), struct.pack("<I", len(record) + 1) + bytes((3,)) + record)
            return {"x": x, "who": "forger"}
        """

    static let routes = [
        RouteSpec(path: "/predict", file: "model", function: "predict", positional: true, body: [BodyParam(name: "x", type: .int)]),
        RouteSpec(path: "/forge", file: "model", function: "forge", positional: true, body: [BodyParam(name: "x", type: .int)]),
        RouteSpec(path: "/cfork", file: "model", function: "cfork", positional: true, body: [BodyParam(name: "x", type: .int)]),
    ]

    /// The forking model behind one worker with `threads` call threads; calls `path` 20 times one after another
    /// on one connection and expects each caller to read the parent's answer to its own call (with reused slots,
    /// a child's late answer to call i completed call i + 1 instead). Returns the endpoint for more checks.
    private func callForkingModel(_ path: String, threads: Int) throws -> (E2ETemporaryModel, RunningEndpoint) {
        let model = try E2ETemporaryModel(["model.py": Self.forkingModel])
        var config = EndpointConfiguration(modelDirectory: model.path, routes: Self.routes)
        config.port = 0
        config.workers = 1
        config.eventLoopThreads = 1
        config.threads = threads
        let endpoint = try RunningEndpoint(config)
        let client = try endpoint.connect()
        for x in 0..<20 {
            let response = try client.exchange("POST", path, json: #"{"x":\#(x)}"#)
            #expect(response.status == 200)
            #expect(response.text == #"{"x":\#(x),"who":"parent"}"#, "call \(x)")
        }
        return (model, endpoint)
    }

    @Test("a model that forks: every caller reads its own answer, never the child's", arguments: [1, 4])
    func forkedChildNeverAnswers(threads: Int) throws {
        let (model, endpoint) = try callForkingModel("/predict", threads: threads)
        defer { withExtendedLifetime(model) {} }
        #expect(endpoint.stats.serverErrors == 0)
        #expect(try endpoint.send("GET", "/ping").status == 200)
    }

    @Test("a model whose C code calls fork(): the child, which kept the pipes, exits instead of answering", arguments: [1, 4])
    func cForkedChildNeverAnswers(threads: Int) throws {
        let (model, endpoint) = try callForkingModel("/cfork", threads: threads)
        defer { withExtendedLifetime(model) {} }
        #expect(endpoint.logFile.waitFor("returned into the worker; it exits"))
        #expect(!endpoint.logFile.contents.contains("does not have in flight"))
        #expect(endpoint.stats.serverErrors == 0)
        #expect(try endpoint.send("GET", "/ping").status == 200)
    }

    @Test("a result for a call the worker does not have makes it corrupt: replaced, its call fails, nothing leaks")
    func unknownCallIDReplacesTheWorker() throws {
        let model = try E2ETemporaryModel(["model.py": Self.forkingModel])
        var config = EndpointConfiguration(modelDirectory: model.path, routes: Self.routes)
        config.port = 0
        config.workers = 1
        config.eventLoopThreads = 1
        let endpoint = try RunningEndpoint(config)
        let forged = try endpoint.send("POST", "/forge", json: #"{"x":5}"#)
        #expect(forged.status == 500)
        #expect(!forged.text.contains("forged"))
        #expect(endpoint.logFile.waitFor("does not have in flight"))
        #expect(endpoint.logFile.waitFor("replacing it"))
        // The replacement answers, and no answer ever carries the forged payload.
        var answered = false
        for _ in 0..<200 where !answered {
            let response = try endpoint.send("POST", "/predict", json: #"{"x":7}"#)
            #expect(!response.text.contains("forged"))
            if response.status == 200 {
                #expect(response.text == #"{"x":7,"who":"parent"}"#)
                answered = true
            } else {
                #expect(response.status == 503)  // no worker ready yet
                usleep(20_000)
            }
        }
        #expect(answered)
    }
}
