import Dispatch
import EndpointSpec
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

@testable import ReferenceEndpoint

private typealias F = WorkerPoolFixtures
private typealias Calc = WorkerPoolFixtures.Calc

/// Issue 11: a worker killed by the call timeout used to answer 504 to every call it had in flight, including
/// the calls pipelined behind the hung one that it had not started. Those never ran: they get `.rejected`
/// (503 with Retry-After, safe to retry even for a route that is not idempotent); the calls that started keep
/// `.timedOut` (504: their outcome is unknown).
@Suite(.serialized, .dedicatedThreads)
struct WorkerNotStartedTests {
    /// Warm-up rounds: the pool's cost estimate of a route is a moving average (1/8 per call), so a slow first
    /// call (a busy host) is forgotten after a dozen fast ones.
    static let warmRounds = 16

    /// Calls each route until the pool knows they are fast and pipelines later calls behind a slow one.
    static func warm(_ pool: WorkerPool) throws {
        for _ in 0..<Self.warmRounds {
            #expect(F.text(try F.call(pool, Calc.sleep, #"{"seconds":0}"#)) != nil)
            #expect(F.text(try F.call(pool, Calc.add, #"{"a":1}"#)) == #"{"sum":2.5}"#)
        }
    }

    /// Submits `calls` at once; waits until all of them are at the worker, then for every completion.
    static func submitAll(_ pool: WorkerPool, _ calls: [(Int, String)]) throws -> [WorkerResult] {
        let results = Mutex<[Int: WorkerResult]>([:])
        let done = DispatchSemaphore(value: 0)
        for (index, call) in calls.enumerated() {
            try #require(pool.submit(route: call.0, arguments: Array(call.1.utf8)) { result in
                results.withLock { $0[index] = result }
                done.signal()
            })
        }
        var atWorker = false
        for _ in 0..<1_000 where !atWorker {
            atWorker = pool.inFlightCalls == calls.count && pool.waitingCalls == 0
            if !atWorker { usleep(1_000) }
        }
        try #require(atWorker, "the calls were not all sent to the worker (\(pool.waitingCalls) still waiting)")
        for _ in calls { try #require(done.wait(timeout: .now() + 60) == .success) }
        return results.withLock { dictionary in calls.indices.compactMap { dictionary[$0] } }
    }

    @Test("threads 1: the hung call is .timedOut, the two pipelined behind it never started and are .rejected")
    func inlineWorker() throws {
        let log = CapturedLog()
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, timeout: 2),
            log: log.log)
        try pool.start()
        defer { pool.shutdown() }
        try Self.warm(pool)
        let results = try Self.submitAll(pool, [
            (Calc.sleep, #"{"seconds":60}"#), (Calc.add, #"{"a":1}"#), (Calc.add, #"{"a":2}"#),
        ])
        #expect(results == [.timedOut, .rejected, .rejected])
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":3}"#)) == #"{"sum":4.5}"#)
        #expect(log.log.flush(timeout: 30))  // the log's own thread writes the file (it may lag on a loaded machine)
        #expect(log.contents.contains("3 calls in flight failed (2 had not started: answered 503, safe to retry)"))
    }

    @Test("threads 2: both hung calls started (.timedOut); the third waited for a thread and is .rejected")
    func threadedWorker() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, threads: 2, timeout: 2),
            log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        try Self.warm(pool)
        let results = try Self.submitAll(pool, [
            (Calc.sleep, #"{"seconds":60}"#), (Calc.sleep, #"{"seconds":60}"#), (Calc.add, #"{"a":1}"#),
        ])
        #expect(results == [.timedOut, .timedOut, .rejected])
    }

    @Test("over HTTP: 504 for the hung call, 503 with Retry-After for the calls pipelined behind it")
    func overHTTP() throws {
        let endpoint = try RunningEndpoint(
            E2E.configuration("calculator", Repository.calculatorRoutes) {
                $0.callTimeout = 2
                $0.retryAfterSeconds = 4
            })
        let client = try endpoint.connect()
        for _ in 0..<Self.warmRounds {
            #expect(try client.exchange("POST", "/sleep", json: #"{"seconds":0}"#).status == 200)
            #expect(try client.exchange("POST", "/add", json: #"{"a":1}"#).status == 200)
        }
        try client.send(
            client.request("POST", "/sleep", json: #"{"seconds":60}"#) + client.request("POST", "/add", json: #"{"a":5}"#)
                + client.request("POST", "/add", json: #"{"a":6}"#))
        var atWorker = false
        for _ in 0..<1_000 where !atWorker {
            atWorker = endpoint.server.inFlightCalls == 3
            if !atWorker { usleep(1_000) }
        }
        try #require(atWorker, "the three calls were not all sent to the worker")
        #expect(try client.readResponse().status == 504)
        for _ in 0..<2 {
            let notStarted = try client.readResponse()
            #expect(notStarted.status == 503)
            #expect(notStarted.header("retry-after") == "4")
        }
        #expect(endpoint.stats.rejected == 2)
        #expect(try client.exchange("POST", "/add", json: #"{"a":5}"#).text == #"{"sum":6.5}"#)
    }
}
