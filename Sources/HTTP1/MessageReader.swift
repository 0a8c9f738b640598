/// What the request and response decoders share: the received bytes, where the decoder is (reading a head,
/// reading a body, failed), the head whose body is being read, the body read so far and the limits. `Head` is
/// `HTTPRequestHead` or `HTTPResponseHead`; `kind` ("request" / "response") names the message in errors.
struct MessageReader<Head: Sendable>: Sendable {
    enum Phase: Sendable {
        case head
        case body
        case failed(HTTPParseError)
    }

    let limits: HTTPLimits
    let kind: StaticString
    var queue = ByteQueue()
    var phase = Phase.head
    var head: Head? = nil
    var bodyState = BodyState.done
    var body: [UInt8] = []

    init(limits: HTTPLimits, kind: StaticString) {
        self.limits = limits
        self.kind = kind
    }

    /// Appends received bytes. Ignored once the reader has failed.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = phase { return }
        queue.append(bytes)
    }

    /// Appends received bytes. Ignored once the reader has failed.
    mutating func append(_ bytes: [UInt8]) {
        if case .failed = phase { return }
        queue.append(bytes)
    }

    var isFailed: Bool {
        if case .failed = phase { return true }
        return false
    }

    /// Buffered bytes or a body in progress.
    var hasPartialMessage: Bool {
        switch phase {
        case .head: return queue.readable > 0
        case .body: return true
        case .failed: return false
        }
    }

    /// Throws the error of an earlier failure.
    @inline(__always)
    func checkNotFailed() throws(HTTPParseError) {
        if case .failed(let error) = phase { throw error }
    }

    /// Drops the consumed bytes once everything received has been read.
    @inline(__always)
    mutating func compactIfDrained() {
        if queue.readIndex == queue.storage.count { queue.compact() }
    }

    /// Enters the failed state for good and drops everything buffered.
    mutating func fail(_ error: HTTPParseError) {
        phase = .failed(error)
        head = nil
        body = []
        queue.removeAll()
    }

    /// Finds the header section at the read index and parses it with `parse`, then consumes it. Empty lines
    /// before a message are skipped (RFC 9112 §2.2). Returns `nil` when more bytes are needed; throws 431 when
    /// the section is, or already has been seen to be, larger than the limit.
    @inline(__always)
    mutating func readHeadSection<Parsed>(
        _ parse: (UnsafeBufferPointer<UInt8>, HTTPLimits) throws(HTTPParseError) -> Parsed
    ) throws(HTTPParseError) -> Parsed? {
        var sectionLength: Int? = nil
        while let length = try queue.findSectionEnd() {
            if length > 2 {
                sectionLength = length
                break
            }
            queue.consume(length)
        }
        guard let length = sectionLength else {
            if queue.scanned > limits.maxHeaderBytes { throw headerTooLarge() }
            return nil
        }
        if length > limits.maxHeaderBytes { throw headerTooLarge() }
        let limits = self.limits
        let start = queue.readIndex
        let parsed = try queue.storage.withUnsafeBufferPointer { (p) throws(HTTPParseError) -> Parsed in
            try parse(UnsafeBufferPointer(rebasing: p[start..<(start + length)]), limits)
        }
        queue.consume(length)
        return parsed
    }

    /// The next `length` bytes as a body when all of them are buffered (a small response arrives with its head),
    /// taken in one copy without entering the body phase; `nil` when more bytes are needed.
    mutating func takeBufferedBody(length: Int) -> [UInt8]? {
        guard queue.readable >= length else { return nil }
        let start = queue.readIndex
        let body = queue.storage.withUnsafeBufferPointer { p in
            Array(UnsafeBufferPointer(rebasing: p[start..<(start + length)]))  // cheaper than from an ArraySlice
        }
        queue.consume(length)
        return body
    }

    /// Starts reading the body of `head`, delimited as `framing` says.
    mutating func beginBody(of head: consuming Head, framing: BodyState) {
        if case .fixed(let n) = framing { body.reserveCapacity(min(n, 1 << 20)) }
        self.head = consume head
        bodyState = framing
        phase = .body
    }

    /// Reads more of the body. Returns the head and the complete body (and expects a head next), or `nil` when
    /// more bytes are needed.
    mutating func continueBody() throws(HTTPParseError) -> (Head, [UInt8])? {
        guard try queue.readBody(state: &bodyState, body: &body, limits: limits) else { return nil }
        guard let completedHead = head.take() else { throw .badRequest("internal error: body without head") }
        var completedBody: [UInt8] = []
        swap(&completedBody, &body)
        phase = .head
        return (completedHead, completedBody)
    }

    private func headerTooLarge() -> HTTPParseError {
        HTTPParseError(status: 431, reason: "\(kind) header section larger than \(limits.maxHeaderBytes) bytes")
    }
}

/// The framing the header fields declare (RFC 9112 §6.3): `.chunkSize` for a chunked Transfer-Encoding,
/// `.fixed` for a Content-Length, `nil` for neither. Throws 400 when both are present or chunked is applied
/// twice, 501 for another transfer coding, and 413 for a Content-Length above the body limit.
///
/// For a request (`isRequest`), a Transfer-Encoding whose final coding is not chunked is a 400 (RFC 9112 §6.3
/// item 4: the length cannot be determined), checked before the 501 for a coding we do not implement
/// (RFC 9112 §6.1 "SHOULD respond with 501"), so `gzip` alone is a 400 and `gzip, chunked` a 501.
func declaredFraming(_ summary: FieldSummary, limits: HTTPLimits, isRequest: Bool) throws(HTTPParseError)
    -> BodyState?
{
    if summary.transferEncodingSeen {
        if summary.contentLengthSeen { throw .badRequest("both Transfer-Encoding and Content-Length present") }
        if isRequest && !summary.lastCodingIsChunked {
            throw .badRequest("Transfer-Encoding in a request whose final coding is not chunked")
        }
        if let unknown = summary.unknownCoding {
            throw HTTPParseError(status: 501, reason: "unsupported transfer coding \"\(unknown)\"")
        }
        if summary.chunkedCount > 1 { throw .badRequest("chunked transfer coding applied more than once") }
        return .chunkSize
    }
    if let length = summary.contentLength {
        if length > limits.maxBodyBytes {
            throw HTTPParseError(
                status: 413,
                reason: "Content-Length \(length == Int.max ? "(huge)" : String(length)) exceeds the limit of \(limits.maxBodyBytes) bytes"
            )
        }
        return .fixed(remaining: length)
    }
    return nil
}
