import Glibc

/// A page of memory shared with one worker process, in which the worker writes the id of each call just before
/// it starts running it (one 8-byte little-endian slot per call thread). When the worker is killed or dies, the
/// pool reads the highest id it started: a call in flight with a higher id never ran, so it can be answered
/// "not started, safe to retry" (503) rather than "outcome unknown" (504 or 500). Call ids grow in the order
/// calls are sent, and a worker starts them in that order (its call threads take them from one FIFO queue), so
/// one number tells the two apart. The pages come from `memfd_create`; the child gets the descriptor as fd 5.
final class WorkerProgressBoard {
    private typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>?, UInt32) -> Int32

    /// The memfd (close-on-exec); the spawner duplicates it into the child, then `closeDescriptor()` drops it.
    private(set) var fd: Int32
    private let base: UnsafeMutableRawPointer
    private let size: Int
    let slots: Int

    private init(fd: Int32, base: UnsafeMutableRawPointer, size: Int, slots: Int) {
        self.fd = fd
        self.base = base
        self.size = size
        self.slots = slots
    }

    /// A zeroed board with `slots` slots, or nil when shared memory is unavailable (the pool then treats every
    /// call in flight as started, as it did before boards existed).
    static func make(slots: Int) -> WorkerProgressBoard? {
        guard let symbol = dlsym(nil, "memfd_create") else { return nil }
        let create = unsafeBitCast(symbol, to: MemfdCreate.self)
        let closeOnExec: UInt32 = 1  // MFD_CLOEXEC
        let fd = create("worker-progress", closeOnExec)
        guard fd >= 0 else { return nil }
        let count = max(1, slots)
        let page = max(4_096, Int(sysconf(Int32(_SC_PAGESIZE))))
        let size = (count * 8 + page - 1) / page * page
        guard ftruncate(fd, off_t(size)) == 0,
            let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED
        else {
            close(fd)
            return nil
        }
        return WorkerProgressBoard(fd: fd, base: mapped, size: size, slots: count)
    }

    /// Closes the parent's descriptor once the child has its copy (the mapping stays).
    func closeDescriptor() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// The highest call id the worker has started (0 when none). Exact once the worker is dead.
    var highestStarted: UInt64 {
        var highest: UInt64 = 0
        for slot in 0..<slots {
            let value = UInt64(littleEndian: base.load(fromByteOffset: slot * 8, as: UInt64.self))
            highest = max(highest, value)
        }
        return highest
    }

    deinit {
        munmap(base, size)
        if fd >= 0 { close(fd) }
    }
}
