import Glibc
import Synchronization
import TestSupport
import Testing
@testable import NetIO

@Suite(.dedicatedThreads) struct EventLoopTests {
    @Test func executeKeepsPerThreadFIFOOrderFromManyThreads() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let producers = 8
        let perProducer = 2000
        let seen = Recorder<(Int, Int)>()
        let done = Latch(count: producers * perProducer)
        let onLoop = Atomic<Int>(0)
        var threads: [pthread_t] = []
        for producer in 0..<producers {
            let box = Unmanaged.passRetained(Work {
                for index in 0..<perProducer {
                    loop.execute {
                        if loop.inEventLoop { onLoop.add(1, ordering: .relaxed) }
                        seen.append((producer, index))
                        done.countDown()
                    }
                }
            })
            var thread: pthread_t = 0
            pthread_create(&thread, nil, { raw in
                Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box.toOpaque())
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        let values = seen.values
        #expect(values.count == producers * perProducer)
        #expect(onLoop.load(ordering: .relaxed) == producers * perProducer)
        for producer in 0..<producers {
            let order = values.filter { $0.0 == producer }.map(\.1)
            #expect(order == Array(0..<perProducer))
        }
        #expect(!loop.inEventLoop)
    }

    @Test func executeFromTheLoopItselfRunsLater() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let order = Recorder<String>()
        let done = Latch()
        loop.execute {
            loop.execute {
                order.append("inner")
                done.countDown()
            }
            order.append("outer")
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(order.values == ["outer", "inner"])
    }

    @Test func atEndOfIterationRunsAfterTheIterationsWorkAndOnlyOnce() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let order = Recorder<String>()
        let done = Latch()
        loop.execute {
            loop.atEndOfIteration {
                order.append("end")
                // Asked for during the end of an iteration: the end of the next one, not this one again.
                loop.atEndOfIteration {
                    order.append("next end")
                    done.countDown()
                }
            }
            order.append("task")
            loop.execute { order.append("next task") }
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(order.values == ["task", "end", "next task", "next end"])
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let fired = Recorder<Int>()
        let done = Latch()
        loop.execute {
            // Scheduled out of order; equal deadlines keep scheduling order.
            loop.schedule(after: 30_000_000) { fired.append(3) }
            loop.schedule(after: 10_000_000) { fired.append(1) }
            let cancelled = loop.schedule(after: 20_000_000) { fired.append(99) }
            loop.schedule(after: 20_000_000) { fired.append(2) }
            loop.cancel(cancelled)
            loop.cancel(cancelled)  // twice: no-op
            loop.schedule(after: 40_000_000) {
                fired.append(4)
                done.countDown()
            }
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(fired.values == [1, 2, 3, 4])
    }

    @Test func manyCancelledTimersDoNotAccumulate() throws {
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let counts = Recorder<Int>()
        let done = Latch()
        loop.execute {
            for _ in 0..<10_000 {
                let id = loop.schedule(after: 60_000_000_000) {}
                loop.cancel(id)
            }
            counts.append(loop.pendingTimerCount)
            counts.append(loop.timerHeapCount)
            done.countDown()
        }
        #expect(done.wait(timeoutNanoseconds: testTimeout))
        #expect(counts.values[0] == 0)
        #expect(counts.values[1] <= 64)
    }

    @Test func nowIsMonotonic() {
        let a = EventLoop.now()
        let b = EventLoop.now()
        #expect(b >= a)
        #expect(a > 0)
    }

    @Test func groupRoundRobinsAndShutdownIsIdempotent() throws {
        let group = try EventLoopGroup(threads: 2)
        let first = group.next()
        let second = group.next()
        let third = group.next()
        #expect(first !== second)
        #expect(first === third)
        group.shutdown()
        group.shutdown()
    }
}

final class Work {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
