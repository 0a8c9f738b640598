import CLinux
import Glibc

/// A connected, non-blocking stream file descriptor (TCP socket or pipe) on one loop: reads into the loop's shared
/// buffer, writes immediately when possible and otherwise keeps the rest in an output buffer drained on EPOLLOUT.
/// Subclasses override the `did…` hooks. All members are loop-thread only.
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
class StreamChannel: Selectable, @unchecked Sendable {
    /// Unsent output; bytes before `outputOffset` were already written.
    @exclusivity(unchecked) final var output: [UInt8] = []
    @exclusivity(unchecked) final var outputOffset = 0
    @exclusivity(unchecked) final private(set) var isClosed = false
    /// The peer sent EOF.
    @exclusivity(unchecked) final private(set) var readEOF = false
    /// Write side shut down (after `closeAfterFlush`).
    @exclusivity(unchecked) final private(set) var writeShutdown = false
    @exclusivity(unchecked) final var closeWhenFlushed = false
    /// Bytes handed to the kernel since the channel was created.
    @exclusivity(unchecked) final private(set) var totalWritten: UInt64 = 0
    let isSocket: Bool

    init(fd: Int32, loop: EventLoop, isSocket: Bool = true) {
        self.isSocket = isSocket
        super.init(fd: fd, loop: loop)
    }

    /// Registers for reads.
    final func start() throws(NetError) {
        try loop.register(self, events: CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP)
    }

    // MARK: hooks

    /// Bytes read; valid only during the call.
    func didRead(_ bytes: UnsafeRawBufferPointer) {}
    /// All reads for this readiness event are done (a good point to flush collected output).
    func didFinishReadBatch() {}
    /// The peer closed its write side. Default: close.
    func didReadEOF() { close(error: nil) }
    /// The output buffer drained completely.
    func didDrainOutput() {}
    /// The channel closed (error nil for an orderly close).
    func didClose(error: NetError?) {}

    // MARK: events

    override func handleEvent(_ events: UInt32) {
        if events & (CLINUX_EPOLLIN | CLINUX_EPOLLHUP | CLINUX_EPOLLERR | CLINUX_EPOLLRDHUP) != 0 {
            readAvailable()
        }
        if !isClosed, events & CLINUX_EPOLLOUT != 0 {
            flushOutput()
        }
    }

    final func readAvailable() {
        let buffer = loop.readBuffer
        var rounds = 0
        while !isClosed, !readEOF {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                // While closing gracefully, input is read only to be discarded.
                if !closeWhenFlushed { didRead(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)) }
                rounds += 1
                if count < buffer.count || rounds >= 4 { break }
                continue
            }
            if count == 0 {
                readEOF = true
                // Stop watching input so level-triggered epoll does not spin on the EOF.
                if !isClosed { loop.modify(self, events: interest & ~(CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP)) }
                if closeWhenFlushed {
                    if !hasPendingOutput { close(error: nil) }
                    return
                }
                didFinishReadBatch()
                if !isClosed { didReadEOF() }
                return
            }
            let code = clinux_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            close(error: NetError.from(errno: code, call: "read"))
            return
        }
        if !isClosed { didFinishReadBatch() }
    }

    // MARK: writing

    /// Drops already-written bytes when the buffer is fully drained, so callers can append to `output` directly.
    final func compactOutputIfDrained() {
        if outputOffset > 0, outputOffset == output.count {
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
        }
    }

    /// Appends to the output buffer without writing; call `flushOutput()` (or schedule it) afterwards.
    final func enqueue(_ bytes: some Collection<UInt8>) {
        if outputOffset == output.count, outputOffset > 0 {
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
        }
        output.append(contentsOf: bytes)
    }

    /// Writes now as much as the kernel takes; the rest waits for EPOLLOUT.
    final func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !writeShutdown else { return }
        if outputOffset == output.count, !bytes.isEmpty {
            // Nothing queued: try the kernel directly and keep only the remainder.
            let written = rawWrite(bytes)
            if written < 0 { return }
            if written == bytes.count { return }
            enqueue(UnsafeRawBufferPointer(rebasing: bytes[written...]))
            enableWriteInterest()
            return
        }
        enqueue(bytes)
        flushOutput()
    }

    /// Writes the output buffer; enables EPOLLOUT when the kernel buffer is full.
    final func flushOutput() {
        guard !isClosed else { return }
        if outputOffset < output.count {
            let written = output.withUnsafeBytes { all in
                rawWrite(UnsafeRawBufferPointer(rebasing: all[outputOffset...]))
            }
            if written < 0 { return }
            outputOffset += written
        }
        if outputOffset < output.count {
            enableWriteInterest()
            return
        }
        output.removeAll(keepingCapacity: output.capacity <= 256 * 1024)
        outputOffset = 0
        if interest & CLINUX_EPOLLOUT != 0 { loop.modify(self, events: interest & ~CLINUX_EPOLLOUT) }
        didDrainOutput()
        if closeWhenFlushed, !isClosed { finishGracefulClose() }
    }

    /// True when output is waiting for the kernel.
    final var hasPendingOutput: Bool { outputOffset < output.count }

    private func enableWriteInterest() {
        if interest & CLINUX_EPOLLOUT == 0 { loop.modify(self, events: interest | CLINUX_EPOLLOUT) }
    }

    /// Returns bytes written (possibly fewer than asked), or -1 after closing on an error.
    private func rawWrite(_ bytes: UnsafeRawBufferPointer) -> Int {
        var total = 0
        while total < bytes.count {
            let start = bytes.baseAddress.map { $0 + total }
            let count = isSocket
                ? clinux_send(fd, start, bytes.count - total)
                : Glibc.write(fd, start, bytes.count - total)
            if count >= 0 {
                total += count
                totalWritten &+= UInt64(count)
                continue
            }
            let code = clinux_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            close(error: NetError.from(errno: code, call: "write"))
            return -1
        }
        return total
    }

    // MARK: closing

    /// Flushes pending output, then shuts the write side down; the channel closes when the peer's EOF arrives
    /// or after `lingerNanoseconds`.
    final func closeAfterFlush(lingerNanoseconds: UInt64 = 2_000_000_000) {
        guard !isClosed else { return }
        guard !closeWhenFlushed else { return }
        closeWhenFlushed = true
        lingerTimerID = loop.schedule(after: lingerNanoseconds) { [weak self] in self?.close(error: nil) }
        if !hasPendingOutput { finishGracefulClose() }
    }

    @exclusivity(unchecked) private var lingerTimerID: TimerID?

    private func finishGracefulClose() {
        if readEOF || !isSocket {
            close(error: nil)
            return
        }
        writeShutdown = true
        _ = clinux_shutdown_write(fd)
    }

    /// Closes the descriptor now (queued output is dropped) and reports `didClose`.
    final func close(error: NetError?) {
        guard !isClosed else { return }
        isClosed = true
        if let lingerTimerID { loop.cancel(lingerTimerID) }
        loop.deregister(self)
        Glibc.close(fd)
        output = []
        outputOffset = 0
        didClose(error: error)
    }

    /// Closes with an RST (SO_LINGER 0).
    final func abort() {
        guard !isClosed else { return }
        var zero = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &zero, socklen_t(MemoryLayout<linger>.size))
        close(error: nil)
    }

    override func loopDidStop() { close(error: .closed) }
}
