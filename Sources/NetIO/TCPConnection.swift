import CLinux
import Glibc

/// A connected TCP stream on one event loop, driven by callbacks on that loop's thread.
///
/// Create one with `TCPConnection.connect(...)` or receive one from a `TCPListener`, then call
/// `start(onRead:onClose:)` on its loop. Every method except `loop` must be called on the loop thread.
public final class TCPConnection: @unchecked Sendable {
    /// The loop that owns the connection.
    public var loop: EventLoop { channel.loop }
    let channel: CallbackChannel

    init(fd: Int32, loop: EventLoop) {
        channel = CallbackChannel(fd: fd, loop: loop)
    }

    /// Connects to `host:port` without blocking the loop (name resolution uses getaddrinfo and may block for
    /// non-numeric hosts). `callback` runs on `loop`'s thread. Callable from any thread.
    public static func connect(
        host: String, port: Int, on loop: EventLoop, timeoutNanoseconds: UInt64 = 10_000_000_000,
        _ callback: @escaping @Sendable (Result<TCPConnection, NetError>) -> Void
    ) {
        let start: @Sendable () -> Void = {
            Connector.connect(host: host, port: port, loop: loop, timeoutNanoseconds: timeoutNanoseconds) { result in
                callback(result.map { TCPConnection(fd: $0, loop: loop) })
            }
        }
        if loop.inEventLoop { start() } else { loop.execute(start) }
    }

    /// Registers the connection for reads. `onRead` gets bytes that are valid only during the call; `onClose` runs
    /// once, with nil for an orderly close (EOF from the peer or `close()`), or the error.
    public func start(
        onRead: @escaping (TCPConnection, UnsafeRawBufferPointer) -> Void,
        onClose: @escaping (TCPConnection, NetError?) -> Void
    ) throws(NetError) {
        channel.onRead = { [unowned self] bytes in onRead(self, bytes) }
        channel.onClose = { [unowned self] error in
            onClose(self, error)
        }
        channel.owner = self
        _ = clinux_set_nodelay(channel.fd)
        try channel.start()
    }

    /// Writes now as far as the kernel allows; the rest is sent on EPOLLOUT in order.
    public func write(_ bytes: some Collection<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ channel.write(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let copy = Array(bytes)
        copy.withUnsafeBytes { channel.write($0) }
    }

    /// Bytes accepted by `write` but not yet taken by the kernel.
    public var pendingWriteCount: Int { channel.output.count - channel.outputOffset }

    /// Sends the pending output, then a FIN; closes when the peer's EOF arrives (or after a 2 s linger).
    public func closeGracefully() { channel.closeAfterFlush() }

    /// Closes now, dropping unsent output.
    public func close() { channel.close(error: nil) }

    /// Closes with a TCP RST.
    public func abort() { channel.abort() }

    /// True once closed.
    public var isClosed: Bool { channel.isClosed }
}

/// The stream behind `TCPConnection`: forwards hooks to closures.
final class CallbackChannel: StreamChannel, @unchecked Sendable {
    var onRead: ((UnsafeRawBufferPointer) -> Void)?
    var onClose: ((NetError?) -> Void)?
    /// Keeps the public wrapper alive while registered (released on close).
    var owner: TCPConnection?

    override func didRead(_ bytes: UnsafeRawBufferPointer) { onRead?(bytes) }

    override func didClose(error: NetError?) {
        let callback = onClose
        onClose = nil
        onRead = nil
        callback?(error)
        owner = nil
    }
}

/// A TCP listener spread over a group: one listening socket registered on every loop with EPOLLEXCLUSIVE, so a
/// connection wakes one loop and accepts need no lock.
public final class TCPListener: Sendable {
    /// The bound port (useful after binding port 0).
    public let port: Int
    private let listeners: [ListenerSocket]

    /// Binds `host:port` on every loop of `group`; `onAccept` runs on the accepting loop's thread with a connection
    /// that is not started yet (call `start(onRead:onClose:)`).
    public init(
        group: EventLoopGroup, host: String = "127.0.0.1", port: Int = 0, backlog: Int32 = 1024,
        onAccept: @escaping @Sendable (TCPConnection) -> Void
    ) throws(NetError) {
        let (listeners, bound) = try ListenerSocket.bind(group: group, host: host, port: port, backlog: backlog) { loop in
            { fd in onAccept(TCPConnection(fd: fd, loop: loop)) }
        }
        self.listeners = listeners
        self.port = bound
    }

    /// Stops accepting (already accepted connections stay open). Waits until every loop closed its socket; must
    /// not be called on one of the group's loops.
    public func close() {
        let done = Latch(count: listeners.count)
        for listener in listeners {
            listener.loop.execute { [listener] in
                listener.close()
                done.countDown()
            }
        }
        done.wait()
    }
}
