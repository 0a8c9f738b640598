import CLinux
import Glibc
import HTTP1
import Synchronization

/// Immutable per-server settings shared by every connection.
struct ServerConfiguration: Sendable {
    let limits: HTTPLimits
    let idleTimeout: UInt64
    /// Nanoseconds from the first byte of a request head to its end.
    let headerTimeout: UInt64
    /// Nanoseconds from the end of a request head to the end of its body.
    var bodyTimeout: UInt64 = 10_000_000_000
    /// Nanoseconds unsent answer bytes may wait without the peer reading any of them.
    var sendTimeout: UInt64 = 30_000_000_000
    /// Open connections across all loops, and the most allowed (see `HTTPServer.init`).
    var connections = ConnectionCount(limit: .max)
    /// Unsent answer bytes past which a further answer closes the connection (see `HTTPServer.init`).
    var maxUnsentBytes: Int = HTTPServer.defaultMaxUnsentBytes
    let handler: any HTTPServerHandler
}

struct ClosureHandler: HTTPServerHandler {
    let body: @Sendable (HTTPRequest, HTTPResponder) -> Void
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) { body(request, responder) }
}

/// The connections one server has on one loop (loop-thread only).
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
final class ServerLoopState: @unchecked Sendable {
    let loop: EventLoop
    let configuration: ServerConfiguration
    @exclusivity(unchecked) private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]
    @exclusivity(unchecked) private var closing = false

    init(loop: EventLoop, configuration: ServerConfiguration) {
        self.loop = loop
        self.configuration = configuration
    }

    func accept(_ fd: Int32) {
        guard !closing else {
            Glibc.close(fd)
            return
        }
        _ = clinux_set_nodelay(fd)
        guard configuration.connections.tryOpen() else {
            RejectedConnection.reject(fd: fd, loop: loop)
            return
        }
        let connection = HTTPServerConnection(fd: fd, state: self)
        do {
            try connection.start()
        } catch {
            Glibc.close(fd)
            configuration.connections.closed()
            return
        }
        connections[ObjectIdentifier(connection)] = connection
        connection.armTimer()
    }

    func remove(_ connection: HTTPServerConnection) {
        if connections.removeValue(forKey: ObjectIdentifier(connection)) != nil { configuration.connections.closed() }
    }

    func closeAll() {
        closing = true
        for connection in Array(connections.values) {
            // Answers queued earlier in this iteration go out first (as far as the socket takes them at once):
            // after a drain they are the last answers, and closing would drop them.
            connection.flushOutput()
            connection.close(error: nil)
        }
        connections.removeAll()
    }
}

/// One accepted HTTP/1.1 connection: decode, dispatch, answer in order, time out.
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
final class HTTPServerConnection: StreamChannel, @unchecked Sendable {
    private unowned(unsafe) let state: ServerLoopState
    private let configuration: ServerConfiguration
    @exclusivity(unchecked) private var decoder: HTTPRequestDecoder
    /// Sequence number of the next decoded request.
    @exclusivity(unchecked) private var nextSequence: UInt64 = 0
    /// Sequence number whose response is written next.
    @exclusivity(unchecked) private var nextToWrite: UInt64 = 0
    /// Encoded responses that arrived before their predecessors.
    @exclusivity(unchecked) private var parked: [UInt64: [UInt8]] = [:]
    /// Per in-flight request: keep-alive, version and HEAD flag, indexed by `sequence - nextToWrite`.
    @exclusivity(unchecked) private var inFlight = FIFOQueue<RequestInfo>()
    /// After this sequence number's response the connection closes.
    @exclusivity(unchecked) private var lastSequence: UInt64 = .max
    /// No more requests are decoded (close requested, parse error, EOF).
    @exclusivity(unchecked) private var stopDecoding = false
    @exclusivity(unchecked) private var inReadBatch = false
    @exclusivity(unchecked) private var continueOwed = false
    /// When the part of a request now awaited began: the first byte of a head, or the end of a head whose body is
    /// incomplete; for a request pipelined behind answers still being prepared, when the last of them went out
    /// (0: no partial request).
    @exclusivity(unchecked) private var partialSince: UInt64 = 0
    /// The partial request is past its head (`partialSince` is the end of the head; `bodyTimeout` applies).
    @exclusivity(unchecked) private var partialIsBody = false
    /// Output has been waiting for the peer since `sendWaitSince` with `totalWritten` at `sendWaitWritten`.
    @exclusivity(unchecked) private var sendWaitSince: UInt64 = 0
    @exclusivity(unchecked) private var sendWaitWritten: UInt64 = 0
    @exclusivity(unchecked) private var idleSince: UInt64
    @exclusivity(unchecked) private var timer: TimerID?
    @exclusivity(unchecked) private var timerDeadline: UInt64 = 0
    @exclusivity(unchecked) private var readingPaused = false
    /// Decoding stopped because `maxPipelinedRequests` answers are outstanding.
    @exclusivity(unchecked) private var pipelinePaused = false
    @exclusivity(unchecked) private var decoding = false
    /// The peer closed its side (end of file read) or the connection closed; read from any thread
    /// (`HTTPResponder.isClientGone`).
    let peerGone = Atomic<Bool>(false)

    /// Requests one connection may have outstanding (decoded, not yet answered). Beyond that the connection
    /// stops decoding and reading, so one pipelining client cannot queue unbounded work; TCP flow control
    /// then pushes back on it.
    static let maxPipelinedRequests = 64

    /// Unsent answer bytes at which the connection stops reading and decoding requests until the peer reads
    /// (4 MiB, or half the limit when that is lower).
    private var outputPauseBytes: Int { min(4 << 20, configuration.maxUnsentBytes / 2) }
    /// Unsent answer bytes (written or parked behind an earlier answer) past which a further answer closes the
    /// connection: a peer that pipelines requests for large answers and never reads them cannot make the server
    /// hold 64 answers of any size. A single answer is always sent, however large.
    private var outputLimitBytes: Int { configuration.maxUnsentBytes }
    /// Bytes of the answers in `parked`.
    @exclusivity(unchecked) private var parkedBytes = 0
    /// Answer bytes not yet taken by the kernel.
    private var unsentBytes: Int { output.count - outputOffset + parkedBytes }

    struct RequestInfo {
        var keepAlive: Bool
        var version: HTTPVersion
        var isHead: Bool
    }

    init(fd: Int32, state: ServerLoopState) {
        self.state = state
        self.configuration = state.configuration
        self.decoder = HTTPRequestDecoder(limits: state.configuration.limits)
        self.idleSince = EventLoop.now()
        super.init(fd: fd, loop: state.loop)
    }

    private var inFlightCount: Int { inFlight.count }

    // MARK: reading

    override func didRead(_ bytes: UnsafeRawBufferPointer) {
        guard !stopDecoding else { return }
        inReadBatch = true
        decoder.append(bytes)
        decodeAvailable()
    }

    private func decodeAvailable() {
        decoding = true
        defer { decoding = false }
        var decodedAny = false
        while !stopDecoding, !isClosed {
            if inFlightCount >= Self.maxPipelinedRequests {
                pipelinePaused = true
                updateReadInterest()
                return
            }
            if unsentBytes >= outputPauseBytes {
                // The peer does not read its answers: no more requests until the output drains.
                readingPaused = true
                updateReadInterest()
                return
            }
            let request: HTTPRequest
            do {
                guard let next = try decoder.next() else { break }
                request = next
            } catch {
                answerError(status: error.status, reason: error.reason)
                return
            }
            decodedAny = true
            dispatch(request)
        }
        if isClosed || stopDecoding { return }
        if decoder.takeContinueRequest() {
            if inFlightCount == 0 { enqueue(HTTPEncoder.continueResponse) } else { continueOwed = true }
        }
        if decoder.hasPartialRequest {
            // Each part is timed from its own start: the head from its first byte (trickling more bytes does not
            // extend it), the body from the end of the head.
            let inBody = decoder.isReadingBody
            if decodedAny || partialSince == 0 || inBody != partialIsBody {
                partialSince = EventLoop.now()
                partialIsBody = inBody
            }
        } else {
            partialSince = 0
            partialIsBody = false
        }
    }

    private func dispatch(_ request: HTTPRequest) {
        let sequence = nextSequence
        nextSequence += 1
        let head = request.head
        inFlight.append(RequestInfo(keepAlive: head.keepAlive, version: head.version, isHead: head.method == "HEAD"))
        if !head.keepAlive {
            stopDecoding = true
            lastSequence = sequence
        }
        configuration.handler.handle(request, HTTPResponder(connection: self, sequence: sequence))
    }

    override func didFinishReadBatch() {
        inReadBatch = false
        flushOutput()
        if isClosed { return }
        if unsentBytes >= outputPauseBytes, !readingPaused {
            // The peer does not read its answers: stop reading requests until the output drains.
            readingPaused = true
            updateReadInterest()
        }
        if inFlightCount == 0 { idleSince = EventLoop.now() }
        armTimer()
    }

    override func didDrainOutput() {
        sendWaitSince = 0
        // A slow reader has just taken its last answer: the keep-alive idle time starts now.
        if inFlightCount == 0 { idleSince = EventLoop.now() }
        if readingPaused, !isClosed, !readEOF {
            readingPaused = false
            updateReadInterest()
            decodeBuffered()
        }
    }

    /// Reads only while neither the output backlog nor the pipelining limit holds reading back.
    private func updateReadInterest() {
        guard !isClosed else { return }
        let wanted = !readingPaused && !pipelinePaused && !readEOF
        let reading = interest & CLINUX_EPOLLIN != 0
        if wanted != reading {
            loop.modify(self, events: wanted ? interest | CLINUX_EPOLLIN : interest & ~CLINUX_EPOLLIN)
        }
    }

    /// After answers went out: decode requests that waited behind the pipelining limit.
    private func resumeDecodingIfPaused() {
        guard pipelinePaused, !decoding, !isClosed, inFlightCount < Self.maxPipelinedRequests else { return }
        pipelinePaused = false
        updateReadInterest()
        decodeBuffered()
    }

    /// Decodes requests already received (they waited behind a limit).
    private func decodeBuffered() {
        guard !decoding, !isClosed else { return }
        let batch = inReadBatch
        inReadBatch = true  // flush once, below, rather than per synchronous answer
        decodeAvailable()
        inReadBatch = batch
    }

    override func didReadEOF() {
        peerGone.store(true, ordering: .relaxed)
        // Half-close: answer what was already received, then close.
        stopDecoding = true
        if inFlightCount == 0 {
            close(error: nil)
        } else {
            lastSequence = nextSequence &- 1
        }
    }

    override func didClose(error: NetError?) {
        peerGone.store(true, ordering: .relaxed)
        if let timer { loop.cancel(timer) }
        timer = nil
        parked.removeAll()
        parkedBytes = 0
        state.remove(self)
    }

    // MARK: answering

    /// Records the answer to `sequence`; writes it (and any parked successors) once all earlier answers are out.
    func complete(sequence: UInt64, status: Int, headers: [(String, String)], body: [UInt8]) {
        // `parked` is empty unless a pipelined answer came out of order: checking that first spares hashing a key.
        guard !isClosed, sequence >= nextToWrite, sequence < nextSequence, parked.isEmpty || parked[sequence] == nil
        else { return }
        let info = inFlight[Int(sequence - nextToWrite)]
        let keepAlive = info.keepAlive && sequence != lastSequence
        let backlog = unsentBytes
        if sequence == nextToWrite {
            compactOutputIfDrained()
            encode(info: info, keepAlive: keepAlive, status: status, headers: headers, body: body, into: &output)
            advance()
            while !parked.isEmpty, let bytes = parked.removeValue(forKey: nextToWrite) {
                parkedBytes -= bytes.count
                output.append(contentsOf: bytes)
                advance()
            }
        } else {
            var bytes: [UInt8] = []
            encode(info: info, keepAlive: keepAlive, status: status, headers: headers, body: body, into: &bytes)
            parkedBytes += bytes.count
            parked[sequence] = bytes
            if backlog > 0 && unsentBytes > outputLimitBytes { close(error: nil) }
            return
        }
        // One answer of any size goes out; answers piling up behind unread ones past the limit mean the peer
        // pipelined more than it reads: drop the connection, not the server's memory.
        if backlog > 0 && unsentBytes > outputLimitBytes {
            close(error: nil)
            return
        }
        resumeDecodingIfPaused()
        if !inReadBatch { loop.scheduleFlush(self) }
    }

    private func encode(
        info: RequestInfo, keepAlive: Bool, status: Int, headers: [(String, String)], body: [UInt8],
        into buffer: inout [UInt8]
    ) {
        if info.isHead {
            HTTPEncoder.writeResponseHead(
                status: status, headers: headers, contentLength: body.count, keepAlive: keepAlive,
                requestVersion: info.version, into: &buffer)
        } else {
            HTTPEncoder.writeResponse(
                status: status, headers: headers, body: body, keepAlive: keepAlive, requestVersion: info.version,
                into: &buffer)
        }
    }

    /// One more response is in `output`.
    private func advance() {
        let written = nextToWrite
        nextToWrite += 1
        _ = inFlight.popFirst()
        if written == lastSequence {
            closeAfterFlush()
            return
        }
        if inFlightCount == 0 {
            idleSince = EventLoop.now()
            // A request pipelined behind the answers had no clock while they were awaited (the server, not the
            // client, was slow): the part now awaited is timed from here.
            if partialSince != 0 { partialSince = idleSince }
            if continueOwed {
                continueOwed = false
                if decoder.hasPartialRequest { output.append(contentsOf: HTTPEncoder.continueResponse) }
            }
        }
    }

    override func flushScheduledOutput() {
        flushOutput()
        if !isClosed { armTimer() }
    }

    /// Answers a parse failure (after any earlier in-flight responses) and closes.
    private func answerError(status: Int, reason: String) {
        stopDecoding = true
        let sequence = nextSequence
        nextSequence += 1
        inFlight.append(RequestInfo(keepAlive: false, version: .http1_1, isHead: false))
        lastSequence = sequence
        complete(
            sequence: sequence, status: status, headers: [("Content-Type", "application/json")],
            body: detailBody(reason))
    }

    // MARK: timeouts

    /// The instant at which this connection times out in its current state, or nil (waiting for the handler, or
    /// closing, which has its own linger timer).
    private var currentDeadline: UInt64? {
        if closeWhenFlushed { return nil }
        // Answers the peer does not read: whatever else is going on, the connection ends when the peer has taken
        // nothing for `sendTimeout`.
        if sendWaitSince != 0 { return sendWaitSince &+ configuration.sendTimeout }
        if inFlightCount > 0 { return nil }
        if partialSince != 0 {
            return partialSince &+ (partialIsBody ? configuration.bodyTimeout : configuration.headerTimeout)
        }
        return idleSince &+ configuration.idleTimeout
    }

    /// Starts or moves the send clock: it runs while output waits for the peer and restarts whenever the peer
    /// has taken bytes since it was last looked at.
    private func updateSendWait() {
        guard hasPendingOutput else {
            sendWaitSince = 0
            return
        }
        if sendWaitSince == 0 || totalWritten != sendWaitWritten {
            sendWaitSince = EventLoop.now()
            sendWaitWritten = totalWritten
        }
    }

    /// Keeps one timer armed no later than the current deadline (lazy: activity only moves the deadline and the
    /// timer re-checks when it fires).
    func armTimer() {
        updateSendWait()
        guard let deadline = currentDeadline else { return }
        if timer != nil, timerDeadline <= deadline { return }
        if let timer { loop.cancel(timer) }
        let now = EventLoop.now()
        timerDeadline = deadline
        // A strong capture: closing cancels the timer (dropping the closure), and a weak reference would give
        // this object a side table, which makes every retain of it take the runtime's slow path.
        timer = loop.schedule(after: deadline > now ? deadline - now : 0) { self.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard !isClosed else { return }
        updateSendWait()
        guard let deadline = currentDeadline else { return }
        if EventLoop.now() < deadline {
            armTimer()
            return
        }
        if sendWaitSince != 0 {
            // The peer stopped reading: there is no way to tell it anything more.
            close(error: nil)
        } else if partialSince != 0 {
            answerError(
                status: 408,
                reason: partialIsBody
                    ? "request body not received within the body timeout"
                    : "request head not received within the header timeout")
            flushOutput()
        } else {
            close(error: nil)
        }
    }
}

/// `{"detail":"<reason>"}` with the reason escaped as a JSON string.
func detailBody(_ reason: String) -> [UInt8] {
    var out: [UInt8] = Array(#"{"detail":""#.utf8)
    for byte in reason.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
        default: out.append(byte)
        }
    }
    out.append(contentsOf: Array(#""}"#.utf8))
    return out
}

/// Writes a line to stderr in debug builds.
func debugLog(_ message: String) {
    #if DEBUG
        let line = Array("[NetIO] \(message)\n".utf8)
        line.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    #endif
}

extension Duration {
    /// The duration in nanoseconds, clamped to 0 … UInt64.max.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
