import EndpointSpec
import Foundation
import Glibc
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Bodies far larger than a pipe's 64 KiB: a partial write to the worker keeps its place instead of copying the
/// rest (Benchmarks/large-body.sh measures the time), and what reaches Python is exactly what was sent.
@Suite("Endpoint end to end: large bodies", .dedicatedThreads)
struct LargeBodyTests {
    @Test("after a partial write the rest goes out first, from where the write stopped, then frames queued meanwhile")
    func partialWriteKeepsItsPlace() throws {
        var worker = DispatchWorker(generation: 1, pid: 1, pipe: WorkerFD(dup(2)))
        worker.send(WaitingCall(route: 0, arguments: Array(repeating: 0x61, count: 1_000), completion: { _ in }), id: 1, now: 0, cost: 1)
        worker.closeFrame()
        let taken = worker.takeWritableOutput()
        let (first, firstOffset) = try #require(taken)
        #expect(firstOffset == 0)
        // While the first write runs (outside the lock), another call is queued.
        worker.send(WaitingCall(route: 0, arguments: Array("{}".utf8), completion: { _ in }), id: 2, now: 0, cost: 1)
        worker.closeFrame()
        let queuedMeanwhile = worker.output
        worker.restoreUnwritten(first, offset: 300)
        let retaken = worker.takeWritableOutput()
        let (again, offset) = try #require(retaken)
        #expect(offset == 300)
        #expect(Array(again[offset...]) == Array(first[300...]) + queuedMeanwhile)
        let nothing = worker.takeWritableOutput()
        #expect(nothing == nil)
    }

    @Test("a 6 MiB string (a hundred pipefuls) goes to the worker and comes back whole")
    func sixMegabytesRoundTrip() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("echo", E2E.echoRoutes) { $0.maxBodyBytes = 64 << 20 })
        var text = ""
        text.reserveCapacity(6 << 20)
        for index in 0..<(6 << 20) / 16 { text += String(format: "%015d.", index) }
        let response = try endpoint.send("POST", "/predict", json: #"{"text": ""# + text + #""}"#)
        #expect(response.status == 200)
        guard case .object(let object) = try JSON.parse(response.body) else {
            Issue.record("not an object")
            return
        }
        #expect(object["text"] == .string(text))
        #expect(object["length"] == .number(String(text.count)))
    }
}
