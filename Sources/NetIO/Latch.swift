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

    func wait() {
        pthread_mutex_lock(mutex)
        while remaining > 0 { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
