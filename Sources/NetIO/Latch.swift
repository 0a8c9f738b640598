import Glibc

/// A countdown latch on a pthread mutex and condition variable: `wait` blocks until `countDown` ran `count` times.
final class Latch: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var remaining: Int

    init(count: Int = 1) {
        remaining = count
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func countDown() {
        pthread_mutex_lock(mutex)
        if remaining > 0 { remaining -= 1 }
        if remaining == 0 { pthread_cond_broadcast(condition) }
        pthread_mutex_unlock(mutex)
    }

    /// Waits at most `timeoutNanoseconds`; returns false on timeout.
    func wait(timeoutNanoseconds: UInt64) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let total = UInt64(now.tv_nsec) + timeoutNanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(timeoutNanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while remaining > 0 {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { return remaining == 0 }
        }
        return true
    }

    func wait() {
        pthread_mutex_lock(mutex)
        while remaining > 0 { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
