import CLinux
import Glibc
import HTTP1

/// Why an HTTP client request or connection failed. `requestSent` tells whether any byte of the request reached
/// the kernel: when false, the server cannot have seen the request and a retry is always safe.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server refused the TCP connection.
    case connectRefused
    /// The TCP connection was not established within the connect timeout.
    case connectTimedOut
    /// No route to the host.
    case unreachable
    /// Connecting failed otherwise (resolution, socket limits, …).
    case connectFailed(NetError)
    /// The request's deadline passed before its response arrived.
    case timedOut(requestSent: Bool)
    /// The connection was reset before any byte of this request was written.
    case resetBeforeSend
    /// The connection was reset after (part of) this request was written.
    case resetAfterSend
    /// The server closed the connection before answering this request.
    case closedByPeer(requestSent: Bool)
    /// The response could not be parsed.
    case invalidResponse(HTTPParseError)
    /// The connection was closed locally (`close()`, or an earlier request on it timed out or failed to parse).
    case closed(requestSent: Bool)

    /// Whether the server may have received (and processed) the request.
    public var requestMayHaveBeenProcessed: Bool {
        switch self {
        case .connectRefused, .connectTimedOut, .unreachable, .connectFailed, .resetBeforeSend: return false
        case .resetAfterSend, .invalidResponse: return true
        case .timedOut(let sent), .closedByPeer(let sent), .closed(let sent): return sent
        }
    }

    /// A human-readable description.
    public var description: String {
        switch self {
        case .connectRefused: return "connection refused"
        case .connectTimedOut: return "connect timed out"
        case .unreachable: return "host unreachable"
        case .connectFailed(let error): return "connect failed: \(error)"
        case .timedOut(let sent): return "request timed out (\(sent ? "sent" : "not sent"))"
        case .resetBeforeSend: return "connection reset before the request was sent"
        case .resetAfterSend: return "connection reset after the request was sent"
        case .closedByPeer(let sent): return "connection closed by peer (\(sent ? "request sent" : "request not sent"))"
        case .invalidResponse(let error): return "invalid response: \(error)"
        case .closed(let sent): return "connection closed locally (\(sent ? "request sent" : "request not sent"))"
        }
    }

    static func connect(_ error: NetError) -> HTTPClientError {
        switch error {
        case .connectionRefused: return .connectRefused
        case .timedOut: return .connectTimedOut
        case .unreachable: return .unreachable
        default: return .connectFailed(error)
        }
    }
}

/// One keep-alive HTTP/1.1 client connection. Requests are written in order (pipelined when several are
/// outstanding) and responses are matched to them in order.
///
/// `send`, `close` and all callbacks run on the connection's loop thread; the `async` variants may be called from
/// anywhere. Nothing on the request path takes a lock.
public final class HTTPClientConnection: @unchecked Sendable {
    /// The loop that owns the connection.
    public let loop: EventLoop
    let channel: HTTPClientChannel

    init(channel: HTTPClientChannel) {
        self.channel = channel
        self.loop = channel.loop
    }

    /// Connects to `host:port`; `callback` runs on `loop`'s thread. `host` is also sent as the `Host` header
    /// (with `:port` unless 80). Callable from any thread.
    public static func connect(
        host: String, port: Int, on loop: EventLoop, timeout: Duration = .seconds(10),
        limits: HTTPLimits = .default,
        _ callback: @escaping @Sendable (Result<HTTPClientConnection, HTTPClientError>) -> Void
    ) {
        let hostHeader = hostHeader(host: host, port: port)
        let start: @Sendable () -> Void = {
            Connector.connect(host: host, port: port, loop: loop, timeoutNanoseconds: timeout.nanoseconds) { result in
                switch result {
                case .failure(let error):
                    callback(.failure(.connect(error)))
                case .success(let fd):
                    let channel = HTTPClientChannel(fd: fd, loop: loop, host: hostHeader, limits: limits)
                    do throws(NetError) {
                        try channel.start()
                    } catch {
                        Glibc.close(fd)
                        callback(.failure(.connectFailed(error)))
                        return
                    }
                    callback(.success(HTTPClientConnection(channel: channel)))
                }
            }
        }
        if loop.inEventLoop { start() } else { loop.execute(start) }
    }

    /// Sends a request (loop thread only). `deadline` is an absolute `EventLoop.now()` instant; when it passes
    /// before the response, the request fails with `.timedOut` and the connection closes (failing the requests
    /// queued behind it with `.closed`). `completion` runs exactly once on the loop thread.
    public func send(
        method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = [],
        deadline: UInt64? = nil, completion: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void
    ) {
        channel.send(method: method, target: target, headers: headers, body: body, deadline: deadline, completion: completion)
    }

    /// Sends a request whose bytes were encoded beforehand with `encodeRequest` (loop thread only): the bytes are
    /// queued as they are, so a request sent many times is encoded once. `method` is the encoded request's
    /// method (it decides whether the response has a body). Deadline and completion as in the other `send`.
    public func send(
        method: String, encodedRequest: [UInt8], deadline: UInt64? = nil,
        completion: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void
    ) {
        channel.send(method: method, encodedRequest: encodedRequest, deadline: deadline, completion: completion)
    }

    /// The bytes `send(method:target:headers:body:)` writes for this request on a connection opened with
    /// `connect(host:port:)`, for `send(method:encodedRequest:)`.
    public static func encodeRequest(
        method: String, target: String, host: String, port: Int, headers: [(String, String)] = [],
        body: [UInt8] = []
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        HTTPEncoder.writeRequest(
            method: method, target: target, host: hostHeader(host: host, port: port), headers: headers, body: body,
            into: &bytes)
        return bytes
    }

    static func hostHeader(host: String, port: Int) -> String {
        port == 80 ? host : "\(host):\(port)"
    }

    /// Closes the connection; outstanding requests fail with `.closed`. Loop thread only.
    public func close() { channel.closeLocally() }

    /// Requests written or queued but not answered yet. Loop thread only.
    public var inFlightCount: Int { channel.pendingCount }

    /// False once the connection closed or the server announced `Connection: close`. Loop thread only.
    public var isReusable: Bool { !channel.isClosed && !channel.peerWillClose }

    // MARK: async

    /// Connects from Swift concurrency.
    public static func connect(
        host: String, port: Int, on loop: EventLoop, timeout: Duration = .seconds(10), limits: HTTPLimits = .default
    ) async throws(HTTPClientError) -> HTTPClientConnection {
        let result = await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<HTTPClientConnection, HTTPClientError>, Never>) in
            connect(host: host, port: port, on: loop, timeout: timeout, limits: limits) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Sends a request from any thread and awaits its response (hops to the loop with `execute`).
    public func send(
        method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = [], deadline: UInt64? = nil
    ) async throws(HTTPClientError) -> HTTPResponse {
        let result = await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<HTTPResponse, HTTPClientError>, Never>) in
            loop.execute { [self] in
                channel.send(method: method, target: target, headers: headers, body: body, deadline: deadline) {
                    continuation.resume(returning: $0)
                }
            }
        }
        return try result.get()
    }

    /// Closes from any thread.
    public func closeFromAnyThread() {
        loop.execute { [self] in channel.closeLocally() }
    }
}

/// The socket side of `HTTPClientConnection`.
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
final class HTTPClientChannel: StreamChannel, @unchecked Sendable {
    struct Pending {
        var method: String
        /// `totalWritten + queued` position of the request's first byte in the output stream.
        var start: UInt64
        var deadline: UInt64
        var completion: (Result<HTTPResponse, HTTPClientError>) -> Void
    }

    /// The state every request touches. It lives behind a pointer the channel owns (allocated in `init`, freed
    /// in `deinit`) rather than in stored properties: stored class properties pay a dynamic exclusivity check
    /// per access, pointer accesses do not. Only the loop's thread touches it, and no access overlaps another.
    struct HotState {
        var decoder: HTTPResponseDecoder
        var pending = FIFOQueue<Pending>()
        /// Bytes ever appended to the output (written or not).
        var streamPosition: UInt64 = 0
        var peerWillClose = false
    }

    let host: String
    private let hot: UnsafeMutablePointer<HotState>
    private var decoder: HTTPResponseDecoder {
        _read { yield hot.pointee.decoder }
        _modify { yield &hot.pointee.decoder }
    }
    private var pending: FIFOQueue<Pending> {
        _read { yield hot.pointee.pending }
        _modify { yield &hot.pointee.pending }
    }
    private var streamPosition: UInt64 {
        _read { yield hot.pointee.streamPosition }
        _modify { yield &hot.pointee.streamPosition }
    }
    private(set) var peerWillClose: Bool {
        _read { yield hot.pointee.peerWillClose }
        _modify { yield &hot.pointee.peerWillClose }
    }
    @exclusivity(unchecked) private var closingLocally = false
    @exclusivity(unchecked) private var timer: TimerID?
    @exclusivity(unchecked) private var timerDeadline: UInt64 = 0
    /// Set by the close path: what queued requests fail with.
    @exclusivity(unchecked) private var failure: ((Bool) -> HTTPClientError)?

    init(fd: Int32, loop: EventLoop, host: String, limits: HTTPLimits) {
        self.host = host
        hot = UnsafeMutablePointer<HotState>.allocate(capacity: 1)
        hot.initialize(to: HotState(decoder: HTTPResponseDecoder(limits: limits)))
        super.init(fd: fd, loop: loop)
    }

    deinit {
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    var pendingCount: Int { pending.count }

    /// Whether the connection takes a new request; if not, `completion` has been failed (never sent). Makes
    /// room in the output buffer for one that is taken.
    private func accepts(_ completion: (Result<HTTPResponse, HTTPClientError>) -> Void) -> Bool {
        assert(loop.inEventLoop, "HTTPClientConnection.send must be called on the connection's loop")
        if isClosed || peerWillClose || closeWhenFlushed {
            completion(.failure(closingLocally ? .closed(requestSent: false) : .closedByPeer(requestSent: false)))
            return false
        }
        compactOutputIfDrained()
        return true
    }

    func send(
        method: String, target: String, headers: [(String, String)], body: [UInt8], deadline: UInt64?,
        completion: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void
    ) {
        guard accepts(completion) else { return }
        let before = output.count
        HTTPEncoder.writeRequest(method: method, target: target, host: host, headers: headers, body: body, into: &output)
        queued(method: method, length: output.count - before, deadline: deadline, completion: completion)
    }

    func send(
        method: String, encodedRequest: [UInt8], deadline: UInt64?,
        completion: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void
    ) {
        guard accepts(completion) else { return }
        output.append(contentsOf: encodedRequest)
        queued(method: method, length: encodedRequest.count, deadline: deadline, completion: completion)
    }

    @inline(__always)
    private func queued(
        method: String, length: Int, deadline: UInt64?,
        completion: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void
    ) {
        let start = streamPosition
        streamPosition &+= UInt64(length)
        pending.append(Pending(method: method, start: start, deadline: deadline ?? .max, completion: completion))
        loop.scheduleFlush(self)
        if let deadline { armTimer(deadline) }
    }

    override func flushScheduledOutput() { flushOutput() }

    override func didRead(_ bytes: UnsafeRawBufferPointer) {
        decoder.append(bytes)
        // With nothing buffered, `next` could only answer that it needs more bytes (checked first: reading the
        // method copies the pending request).
        while decoder.hasPartialResponse, !isClosed, let method = pending.first?.method {
            let response: HTTPResponse
            do {
                guard let next = try decoder.next(requestMethod: method) else { return }
                response = next
            } catch {
                failHead(.invalidResponse(error))
                fail(closing: { .closed(requestSent: $0) })
                return
            }
            if !response.head.keepAlive { peerWillClose = true }
            pending.popFirst()?.completion(.success(response))
            if peerWillClose {
                fail(closing: { .closedByPeer(requestSent: $0) })
                return
            }
        }
        if pending.isEmpty, decoder.hasPartialResponse {
            // Bytes nobody asked for.
            fail(closing: { .closed(requestSent: $0) })
        }
    }

    override func didReadEOF() {
        if !pending.isEmpty {
            do {
                if let response = try decoder.finishOnEOF() {
                    pending.popFirst()?.completion(.success(response))
                }
            } catch {
                // A response cut off by the close (inside its head or before its body's end) is not a malformed
                // one: the peer closed the connection mid-answer, which retry policies treat like a reset after
                // sending (safe to retry for idempotent requests).
                failHead(.closedByPeer(requestSent: true))
            }
        }
        fail(closing: { .closedByPeer(requestSent: $0) })
    }

    override func didClose(error: NetError?) {
        if let timer { loop.cancel(timer) }
        timer = nil
        let reason: (Bool) -> HTTPClientError
        if let failure {
            reason = failure
        } else if closingLocally {
            reason = { .closed(requestSent: $0) }
        } else if let error, error != .closed {
            reason = { $0 ? .resetAfterSend : .resetBeforeSend }
        } else {
            reason = { .closedByPeer(requestSent: $0) }
        }
        // Requests whose bytes were still queued at close time were never fully sent; `start` tells whether any
        // byte went out.
        let written = totalWritten
        while let request = pending.popFirst() {
            request.completion(.failure(reason(request.start < written)))
        }
    }

    func closeLocally() {
        closingLocally = true
        close(error: nil)
    }

    private func fail(closing reason: @escaping (Bool) -> HTTPClientError) {
        if failure == nil { failure = reason }
        close(error: nil)
    }

    private func failHead(_ error: HTTPClientError) {
        pending.popFirst()?.completion(.failure(error))
    }

    // MARK: deadlines (one lazy timer)

    private func armTimer(_ deadline: UInt64) {
        if timer != nil, timerDeadline <= deadline { return }
        if let timer { loop.cancel(timer) }
        timerDeadline = deadline
        let now = EventLoop.now()
        // A strong capture: closing cancels the timer (dropping the closure), and a weak reference would give
        // this object a side table, which makes every retain of it take the runtime's slow path.
        timer = loop.schedule(after: deadline > now ? deadline - now : 0) { self.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard !isClosed else { return }
        let now = EventLoop.now()
        var earliest = UInt64.max
        var expired = false
        for index in 0..<pending.count {
            let deadline = pending[index].deadline
            if deadline <= now { expired = true }
            earliest = min(earliest, deadline)
        }
        if expired {
            // The connection is out of sync with the server now: fail the expired requests, close the rest.
            let written = totalWritten
            let reason: (Bool) -> HTTPClientError = { .closed(requestSent: $0) }
            failure = reason
            var index = 0
            while index < pending.count {
                if pending[index].deadline <= now {
                    let item = pending.remove(at: index)
                    item.completion(.failure(.timedOut(requestSent: item.start < written)))
                } else {
                    index += 1
                }
            }
            close(error: nil)
        } else if earliest != .max {
            armTimer(earliest)
        }
    }
}
