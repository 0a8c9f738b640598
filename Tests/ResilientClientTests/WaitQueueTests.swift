import Testing

@testable import ResilientClient

/// The host pool's queue of requests waiting for a connection, as a value: order, removal by id, and the
/// timers handed back to be cancelled.
@Suite struct WaitQueueTests {
    @Test func takesTheOldestFirstWithItsTimer() {
        var queue = WaitQueue<String, Int>()
        queue.append("a", id: 1, timer: 10)
        queue.append("b", id: 2, timer: nil)
        queue.append("c", id: 3, timer: 30)
        #expect(queue.count == 3)
        let first = queue.popFirst()
        #expect(first?.job == "a" && first?.timer == 10)
        let second = queue.popFirst()
        #expect(second?.job == "b" && second?.timer == nil)
        #expect(queue.popFirst()?.timer == 30)
        #expect(queue.popFirst() == nil)
        #expect(queue.isEmpty)
    }

    @Test func aRemovedRequestHandsBackItsTimerAndIsSkipped() {
        var queue = WaitQueue<String, Int>()
        for id in 1...5 { queue.append("job\(id)", id: UInt64(id), timer: id * 10) }
        // Request 3 timed out (or was cancelled): its timer comes back for the pool to cancel.
        #expect(queue.remove(3)?.timer == 30)
        #expect(queue.remove(3) == nil)
        #expect(queue.count == 4)
        var order: [String] = []
        while let next = queue.popFirst() { order.append(next.job) }
        #expect(order == ["job1", "job2", "job4", "job5"])
        // A request already taken is not there any more: its timer, if it fired late, finds nothing.
        #expect(queue.remove(1) == nil)
    }

    @Test func removeAllReturnsEveryTimerInOrder() {
        var queue = WaitQueue<String, Int>()
        for id in 1...100 { queue.append("job\(id)", id: UInt64(id), timer: id) }
        for id in stride(from: 2, through: 100, by: 2) { _ = queue.remove(UInt64(id)) }
        let all = queue.removeAll()
        #expect(all.map(\.timer) == Array(stride(from: 1, through: 99, by: 2)))
        #expect(queue.isEmpty)
        queue.append("again", id: 101, timer: nil)
        #expect(queue.popFirst()?.job == "again")
    }
}
