import EndpointSpec
import Foundation
import Testing

@testable import ReferenceEndpoint

/// The framing and dispatch bookkeeping, without processes.
struct WorkerPoolProtocolTests {
    private func resultsFrame(_ records: [(UInt64, UInt8, UInt32, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = []
        for (id, status, micros, payload) in records {
            WorkerProtocol.appendUInt64(id, to: &body)
            body.append(status)
            WorkerProtocol.appendUInt32(micros, to: &body)
            WorkerProtocol.appendUInt32(UInt32(payload.count), to: &body)
            body += payload
        }
        var frame: [UInt8] = []
        WorkerProtocol.appendFrame(kind: WorkerProtocol.kindResults, body: body, to: &frame)
        return frame
    }

    @Test func frameBufferReassemblesFramesSplitAtEveryByte() throws {
        var stream: [UInt8] = []
        WorkerProtocol.appendFrame(kind: WorkerProtocol.kindReady, body: Array("Python 3".utf8), to: &stream)
        stream += resultsFrame([(7 << 40 | 7, 0, 12, Array(#"{"y":1}"#.utf8)), (3, 1, 0, Array("ValueError\u{0}bad".utf8))])
        WorkerProtocol.appendFrame(kind: WorkerProtocol.kindFailed, body: [], to: &stream)
        for split in 0...stream.count {
            var buffer = WorkerFrameBuffer()
            var kinds: [UInt8] = []
            var results: [WorkerResult] = []
            for part in [stream[..<split], stream[split...]] {
                Array(part).withUnsafeBytes { buffer.append($0) }
                while let frame = buffer.nextFrame() {
                    kinds.append(frame.kind)
                    if frame.kind == WorkerProtocol.kindResults {
                        let records = try #require(WorkerProtocol.results(in: buffer.bytes, frame.body))
                        #expect(records.map(\.id) == [7 << 40 | 7, 3])
                        #expect(records.map(\.micros) == [12, 0])
                        results += records.map {
                            WorkerProtocol.result(status: $0.status, payload: buffer.bytes[$0.payload])
                        }
                    }
                }
                buffer.compact()
            }
            #expect(kinds == [1, 3, 2], "split at \(split)")
            #expect(results == [.success(Array(#"{"y":1}"#.utf8)), .exception(type: "ValueError", message: "bad")])
        }
    }

    @Test func malformedResultsAreRejected() {
        let frame = resultsFrame([(1, 0, 0, [1, 2, 3])])
        let body = 5..<frame.count
        #expect(WorkerProtocol.results(in: frame, body)?.count == 1)
        #expect(WorkerProtocol.results(in: frame, 5..<(frame.count - 1)) == nil)  // payload cut short
        #expect(WorkerProtocol.results(in: frame, 5..<(5 + WorkerProtocol.resultHeaderSize - 1)) == nil)  // header cut short
        #expect(WorkerProtocol.results(in: frame, 5..<5) == [])
    }

    @Test func exceptionPayloadWithoutSeparatorIsTheTypeName() {
        #expect(WorkerProtocol.result(status: 1, payload: ArraySlice("KeyError".utf8)) == .exception(type: "KeyError", message: ""))
        #expect(WorkerProtocol.result(status: 1, payload: ArraySlice("E\u{0}a\u{0}b".utf8)) == .exception(type: "E", message: "a\u{0}b"))
    }

    @Test func callsFramesCarryAtMost32Calls() {
        var worker = DispatchWorker(generation: 1, pid: 1, pipe: WorkerFD(dup(2)))
        for index in 0..<40 {
            let call = WaitingCall(route: 1, arguments: Array("{\"x\":\(index)}".utf8), completion: { _ in })
            worker.send(call, id: 1_000 + UInt64(index), now: 0, cost: 5)
        }
        worker.closeFrame()
        var buffer = WorkerFrameBuffer()
        worker.output.withUnsafeBytes { buffer.append($0) }
        var counts: [Int] = []
        var ids: [UInt64] = []
        while let frame = buffer.nextFrame() {
            #expect(frame.kind == WorkerProtocol.kindCalls)
            var offset = frame.body.lowerBound
            var count = 0
            while offset < frame.body.upperBound {
                ids.append(WorkerProtocol.readUInt64(buffer.bytes, at: offset))
                #expect(buffer.bytes[offset + 8] == 1 && buffer.bytes[offset + 9] == 0)
                let length = Int(WorkerProtocol.readUInt32(buffer.bytes, at: offset + 10))
                offset += WorkerProtocol.callHeaderSize + length
                count += 1
            }
            counts.append(count)
        }
        #expect(counts == [32, 8])
        #expect(ids == (1_000..<1_040).map(UInt64.init))
        #expect(worker.inFlight == 40)
        #expect(worker.outstanding == 200)
        // A call completes once; an id it never had, or one already completed, completes nothing.
        #expect(worker.take(id: 1_005) != nil)
        #expect(worker.take(id: 1_005) == nil)
        #expect(worker.take(id: 5) == nil)
        #expect(worker.inFlight == 39)
        #expect(worker.outstanding == 195)
    }

    @Test("call ids come from one pool-wide counter: never reused, across workers and after completions")
    func callIDsAreNeverReused() {
        var state = PoolState(workers: [nil, nil], routeCost: [1_000], routeMeasured: [true])
        state.phase = .running
        for index in 0..<2 {
            state.workers[index] = DispatchWorker(generation: index, pid: 1, pipe: WorkerFD(dup(2)))
            state.workers[index]?.ready = true
        }
        var seen = Set<UInt64>()
        for _ in 0..<5 {
            for _ in 0..<8 { state.queue.append(WaitingCall(route: 0, arguments: [], completion: { _ in })) }
            state.assign(now: 0, threads: 1, maxInFlight: 32, budget: 1_000_000)
            for index in 0..<2 {
                let ids = state.workers[index]?.allCallsWithIDs().map(\.id) ?? []
                for id in ids {
                    #expect(seen.insert(id).inserted, "id \(id) was used twice")
                    #expect(state.workers[index]?.take(id: id) != nil)
                }
            }
        }
        #expect(seen.count == 40)
    }

    @Test func dispatchPipelinesFastCallsAndHoldsSlowOnesBack() {
        var state = PoolState(workers: [nil, nil], routeCost: [2_000_000, 2_000_000], routeMeasured: [false, false])
        state.phase = .running
        for index in 0..<2 {
            state.workers[index] = DispatchWorker(generation: index, pid: 1, pipe: WorkerFD(dup(2)))
            state.workers[index]?.ready = true
        }
        state.measured(route: 0, micros: 5)  // fast route: 5 µs
        for _ in 0..<100 { state.queue.append(WaitingCall(route: 0, arguments: [], completion: { _ in })) }
        state.assign(now: 0, threads: 1, maxInFlight: 32, budget: 2_000_000)
        #expect(state.workers.map { $0?.inFlight } == [32, 32])
        #expect(state.queue.count == 36)

        var slow = PoolState(workers: [nil], routeCost: [2_000_000], routeMeasured: [false])
        slow.phase = .running
        slow.workers[0] = DispatchWorker(generation: 0, pid: 1, pipe: WorkerFD(dup(2)))
        slow.workers[0]?.ready = true
        for _ in 0..<3 { slow.queue.append(WaitingCall(route: 0, arguments: [], completion: { _ in })) }
        slow.assign(now: 0, threads: 1, maxInFlight: 32, budget: 2_000_000)
        // An unmeasured (or slow) route gets one call per thread; the rest wait where admission sees them.
        #expect(slow.workers[0]?.inFlight == 1)
        #expect(slow.queue.count == 2)
    }

    @Test("abandoned calls are dropped at dispatch, judged at their expected finish; the others go out in order")
    func abandonedCallsAreDroppedAtDispatch() {
        var state = PoolState(workers: [nil], routeCost: [10_000_000], routeMeasured: [true])
        state.phase = .running
        state.workers[0] = DispatchWorker(generation: 0, pid: 1, pipe: WorkerFD(dup(2)))
        state.workers[0]?.ready = true
        // Deadlines at 5 ms, 10 ms and 30 ms; it is 1 ms now and the route takes 10 ms: the first two could not
        // finish in time. A call without a check is never dropped.
        for deadline: UInt64 in [5_000_000, 10_000_000, 30_000_000] {
            state.queue.append(WaitingCall(route: 0, arguments: Array("\(deadline)".utf8), abandoned: { $0 >= deadline },
                                           completion: { _ in }))
        }
        state.queue.append(WaitingCall(route: 0, arguments: Array("none".utf8), completion: { _ in }))
        let dropped = state.assign(now: 1_000_000, threads: 1, maxInFlight: 32, budget: 2_000_000)
        #expect(dropped.map { String(decoding: $0.arguments, as: UTF8.self) } == ["5000000", "10000000"])
        #expect(state.workers[0]?.inFlight == 1)  // the 30 ms one; "none" waits (the route is slow)
        #expect(state.queue.count == 1)
        // A sweep later: "none" stays whatever the time.
        #expect(state.takeAbandoned(now: .max / 2).isEmpty)
        #expect(state.queue.count == 1)
    }

    @Test func costEstimateFollowsMeasurements() {
        var state = PoolState(workers: [nil], routeCost: [2_000_000], routeMeasured: [false])
        state.measured(route: 0, micros: 100)
        #expect(state.routeCost[0] == 100_000)
        state.measured(route: 0, micros: 900)
        #expect(state.routeCost[0] == 100_000 - 12_500 + 112_500)
        state.measured(route: 0, micros: 0)  // clamped to 1 µs
        #expect(state.routeCost[0] > 0)
        state.measured(route: 5, micros: 1)  // unknown route: ignored
    }

    @Test func configurationIsJSONPythonCanRead() throws {
        let routes = [
            RouteSpec(path: "/p\"q", file: "predict.py", function: "f", positional: true,
                      body: [BodyParam(name: "x\n", type: .int, optional: true, defaultValue: "'a\\b'"),
                             BodyParam(name: "y", type: .str)]),
        ]
        let bytes = WorkerProtocol.configuration(
            modelDirectory: "/m\u{1}é", routes: routes, threads: 0, delayMilliseconds: .nan, worker: 3)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["model_dir"] as? String == "/m\u{1}é")
        #expect(object["threads"] as? Int == 1)
        #expect(object["delay_ms"] as? Double == 0)
        #expect(object["worker"] as? Int == 3)
        let route = try #require((object["routes"] as? [[String: Any]])?.first)
        #expect(route["path"] as? String == "/p\"q")
        #expect(route["positional"] as? Bool == true)
        let params = try #require(route["params"] as? [[String: Any]])
        #expect(params[0]["name"] as? String == "x\n")
        #expect(params[0]["default"] as? String == "'a\\b'")
        #expect(params[1]["default"] is NSNull)
        #expect(params[1]["optional"] as? Bool == false)
    }

    @Test func callQueueIsFIFOAcrossCompaction() {
        var queue = WorkerCallQueue()
        for route in 0..<3_000 { queue.append(WaitingCall(route: route, arguments: [], completion: { _ in })) }
        var seen: [Int] = []
        for _ in 0..<2_000 { if let call = queue.removeFirst() { seen.append(call.route) } }
        queue.append(WaitingCall(route: 3_000, arguments: [], completion: { _ in }))
        #expect(queue.count == 1_001)
        #expect(queue.firstRoute == 2_000)
        seen += queue.removeAll().map(\.route)
        #expect(seen == Array(0...3_000))
        #expect(queue.isEmpty)
        #expect(queue.removeFirst() == nil)
    }
}
