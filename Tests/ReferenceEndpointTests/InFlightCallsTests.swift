import Testing

@testable import ReferenceEndpoint

/// `InFlightCalls`, the ordered table of a worker's calls in flight, against a dictionary doing the same.
struct InFlightCallsTests {
    private func call(route: Int, sentAt: UInt64 = 0) -> InFlightCall {
        InFlightCall(route: route, sentAt: sentAt, cost: 1, completion: { _ in })
    }

    @Test("in send order: each call taken once, by its id, then gone")
    func inOrder() {
        var calls = InFlightCalls()
        for id in UInt64(1)...5 { calls.append(id: id, call(route: Int(id))) }
        #expect(calls.count == 5)
        for id in UInt64(1)...5 {
            #expect(calls.take(id: id)?.route == Int(id))
            #expect(calls.take(id: id) == nil, "id \(id) taken twice")
        }
        #expect(calls.isEmpty)
        #expect(calls.callsWithIDs().isEmpty)
    }

    @Test("out of order: the ones left listed oldest first; unknown and future ids find nothing")
    func outOfOrder() {
        var calls = InFlightCalls()
        for id: UInt64 in [3, 4, 7, 9, 10] { calls.append(id: id, call(route: Int(id))) }
        #expect(calls.take(id: 7)?.route == 7)
        #expect(calls.take(id: 10)?.route == 10)
        #expect(calls.take(id: 5) == nil)  // between two live ids
        #expect(calls.take(id: 1) == nil)  // before all
        #expect(calls.take(id: 11) == nil)  // after all
        #expect(calls.callsWithIDs().map(\.id) == [3, 4, 9])
        #expect(calls.take(id: 3)?.route == 3)
        #expect(calls.callsWithIDs().map(\.id) == [4, 9])
        #expect(calls.count == 2)
    }

    @Test("earliestSent is the smallest sentAt, whichever id it has")
    func earliestSent() {
        var calls = InFlightCalls()
        #expect(calls.earliestSent() == nil)
        calls.append(id: 1, call(route: 1, sentAt: 50))
        calls.append(id: 2, call(route: 2, sentAt: 40))  // a second dispatcher read the clock first
        calls.append(id: 3, call(route: 3, sentAt: 60))
        #expect(calls.earliestSent()?.route == 2)
        _ = calls.take(id: 2)
        #expect(calls.earliestSent()?.route == 1)
    }

    @Test("a call stuck at the head while thousands pass: storage is compacted, every answer still right")
    func stragglerAtHead() {
        var calls = InFlightCalls()
        var model: [UInt64: Int] = [:]
        var next: UInt64 = 1
        func send() {
            calls.append(id: next, call(route: Int(next)))
            model[next] = Int(next)
            next += 1
        }
        send()  // id 1 stays in flight throughout
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            send()
            send()
            // Take two live calls other than 1: one at random (often older than others), then the newest.
            for pickNewest in [false, true] {
                let live = model.keys.filter { $0 != 1 }.sorted()
                let id = pickNewest ? live[live.count - 1] : live[Int.random(in: 0..<live.count, using: &rng)]
                #expect(calls.take(id: id)?.route == model.removeValue(forKey: id))
            }
            #expect(calls.storedEntries <= 2 * calls.count + 33, "\(calls.storedEntries) entries for \(calls.count) calls")
        }
        #expect(calls.count == model.count)
        #expect(calls.callsWithIDs().map(\.id) == model.keys.sorted())
        #expect(calls.take(id: 1)?.route == 1)
        for id in model.keys.sorted() where id != 1 { #expect(calls.take(id: id) != nil) }
        #expect(calls.isEmpty)
    }
}
