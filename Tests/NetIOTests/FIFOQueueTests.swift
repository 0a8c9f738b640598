import Testing
@testable import NetIO

/// The queue against an array model: order kept across the ring's wrap-around and growth, middle removals,
/// and the elements it takes released at once.
struct FIFOQueueTests {
    @Test func keepsOrderAcrossWrapAroundAndGrowth() {
        var queue = FIFOQueue<Int>()
        var model: [Int] = []
        var next = 0
        // Interleaved appends and pops (more appends than pops) wrap the ring many times and grow it while wrapped.
        for round in 0..<500 {
            for _ in 0..<(round % 5 + 1) {
                queue.append(next)
                model.append(next)
                next += 1
            }
            for _ in 0..<(round % 4) {
                #expect(queue.popFirst() == (model.isEmpty ? nil : model.removeFirst()))
            }
            #expect(queue.count == model.count)
            #expect(queue.first == model.first)
            if !model.isEmpty { #expect(queue[model.count - 1] == model.last) }
        }
        #expect(queue.removeAll() == model)
        #expect(queue.isEmpty)
        #expect(queue.popFirst() == nil)
    }

    @Test func removesFromTheMiddleOfAWrappedRing() {
        var queue = FIFOQueue<Int>()
        for value in 0..<12 { queue.append(value) }
        for _ in 0..<10 { _ = queue.popFirst() }
        for value in 12..<24 { queue.append(value) }  // 10, 11, …, 23: wraps around the 16-place ring
        var model = Array(10..<24)
        for offset in [5, 0, 11, 3] {
            #expect(queue.remove(at: offset) == model.remove(at: offset))
        }
        #expect((0..<queue.count).map { queue[$0] } == model)
        queue.append(99)
        model.append(99)
        #expect(queue.removeAll() == model)
    }

    @Test func releasesTakenElementsAtOnce() {
        final class Box {}
        var queue = FIFOQueue<Box>()
        weak var taken: Box?
        do {
            let box = Box()
            taken = box
            queue.append(box)
            queue.append(Box())
        }
        _ = queue.popFirst()
        #expect(taken == nil)
        #expect(queue.count == 1)
    }
}
