import Dispatch
import TestSupport
import Testing

/// The `.dedicatedThreads` trait really moves test bodies (synchronous or async) off the cooperative pool.
@Suite(.dedicatedThreads) struct DedicatedThreadsTests {
    @Test func synchronousBodyRunsOnADedicatedThread() {
        #expect(DedicatedThreadExecutor.isCurrentThread)
    }

    @Test func asyncBodyAndChildTasksStayOnDedicatedThreads() async {
        await Task.yield()
        #expect(DedicatedThreadExecutor.isCurrentThread)
        async let child = DedicatedThreadExecutor.isCurrentThread
        #expect(await child)
    }

    @Test func aBlockedThreadDoesNotHoldUpOtherJobs() async {
        // Two child tasks on the executor: the first blocks its thread until the second has run.
        let released = DispatchSemaphore(value: 0)
        async let blocked = released.wait(timeout: .now() + 60) == .success
        async let other = released.signal()
        _ = await other
        #expect(await blocked)
    }
}
