/// Incremental, client-side HTTP/1.x response decoder (RFC 9112). Pure value: no IO.
///
/// Feed received bytes with `append(_:)` and call `next(requestMethod:)` with the method of the oldest request
/// still waiting for its answer; it returns `nil` until a complete final response is available. Interim 1xx
/// responses (other than 101) are skipped. Responses to `HEAD`, and 1xx/204/304 responses, have no body.
/// A response without Content-Length or chunked framing is delimited by the connection closing: call
/// `finishOnEOF()` when the peer closes to obtain it.
///
/// Errors use the same status categories as the request decoder (400 malformed, 413 body too large,
/// 431 header too large, 501 unsupported transfer coding, 505 unsupported version). After an error the decoder
/// stays failed.
public struct HTTPResponseDecoder: Sendable {
    /// The limits this decoder enforces.
    public let limits: HTTPLimits

    private enum Phase: Sendable {
        case head
        case body
        case failed(HTTPParseError)
    }

    private var queue = ByteQueue()
    private var phase = Phase.head
    private var head: HTTPResponseHead? = nil
    private var bodyState = BodyState.done
    private var body: [UInt8] = []

    /// Creates a decoder with the given limits.
    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    /// Appends received bytes. Ignored once the decoder has failed.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = phase { return }
        queue.append(bytes)
    }

    /// Appends received bytes. Ignored once the decoder has failed.
    public mutating func append(_ bytes: [UInt8]) {
        if case .failed = phase { return }
        queue.append(bytes)
    }

    /// Whether a previous call failed.
    public var isFailed: Bool {
        if case .failed = phase { return true }
        return false
    }

    /// Whether part of a response has been received (buffered bytes or a body in progress).
    public var hasPartialResponse: Bool {
        switch phase {
        case .head: return queue.readable > 0
        case .body: return true
        case .failed: return false
        }
    }

    /// Returns the next complete final response to a request made with `requestMethod`, or `nil` when more
    /// bytes are needed.
    public mutating func next(requestMethod: String) throws(HTTPParseError) -> HTTPResponse? {
        if case .failed(let error) = phase { throw error }
        do {
            let response = try decodeNext(requestMethod: requestMethod)
            if queue.readIndex == queue.storage.count { queue.compact() }
            return response
        } catch {
            fail(error)
            throw error
        }
    }

    /// Tells the decoder that the peer closed the connection. Returns the close-delimited response whose body
    /// was being read, or `nil` when no response was in progress. Throws when a response was cut short (partial
    /// head, or fewer body bytes than Content-Length / an unfinished chunked body). Afterwards the decoder is
    /// empty.
    public mutating func finishOnEOF() throws(HTTPParseError) -> HTTPResponse? {
        switch phase {
        case .failed(let error):
            throw error
        case .head:
            if queue.storage[queue.readIndex...].allSatisfy({ $0 == cr || $0 == lf }) {
                queue.removeAll()
                return nil
            }
            let error = HTTPParseError.badRequest("connection closed inside a response header section")
            fail(error)
            throw error
        case .body:
            guard bodyState == .untilClose, let completedHead = head else {
                let error = HTTPParseError.badRequest("connection closed before the response body was complete")
                fail(error)
                throw error
            }
            let completedBody = body
            body = []
            head = nil
            bodyState = .done
            phase = .head
            queue.removeAll()
            return HTTPResponse(head: completedHead, body: completedBody)
        }
    }

    private mutating func fail(_ error: HTTPParseError) {
        phase = .failed(error)
        head = nil
        body = []
        queue.removeAll()
    }

    private mutating func decodeNext(requestMethod: String) throws(HTTPParseError) -> HTTPResponse? {
        while true {
            switch phase {
            case .failed(let error):
                throw error
            case .body:
                return try continueBody()
            case .head:
                guard let length = queue.findSectionEnd() else {
                    if queue.scanned > limits.maxHeaderBytes { throw headerTooLarge() }
                    return nil
                }
                if length <= 2 {
                    // A stray empty line between messages: tolerated (RFC 9112 §2.2 robustness).
                    queue.consume(length)
                    continue
                }
                if length > limits.maxHeaderBytes { throw headerTooLarge() }
                let limits = self.limits
                let start = queue.readIndex
                let (parsedHead, summary) = try queue.storage.withUnsafeBufferPointer {
                    (p) throws(HTTPParseError) -> (HTTPResponseHead, FieldSummary) in
                    try HTTPResponseDecoder.parseHead(UnsafeBufferPointer(rebasing: p[start..<(start + length)]), limits)
                }
                queue.consume(length)
                let status = parsedHead.status
                if status >= 100 && status < 200 && status != 101 { continue }  // interim response: skip
                let framing = try HTTPResponseDecoder.framing(
                    status: status, requestMethod: requestMethod, summary: summary, limits: limits)
                var completedHead = parsedHead
                if framing == .untilClose { completedHead.keepAlive = false }
                if framing == .done || framing == .fixed(remaining: 0) {
                    return HTTPResponse(head: completedHead, body: [])
                }
                if case .fixed(let n) = framing { body.reserveCapacity(min(n, 1 << 20)) }
                head = completedHead
                bodyState = framing
                phase = .body
                return try continueBody()
            }
        }
    }

    private mutating func continueBody() throws(HTTPParseError) -> HTTPResponse? {
        guard try queue.readBody(state: &bodyState, body: &body, limits: limits) else { return nil }
        guard let completedHead = head.take() else { throw .badRequest("internal error: body without head") }
        var completedBody: [UInt8] = []
        swap(&completedBody, &body)
        phase = .head
        return HTTPResponse(head: completedHead, body: completedBody)
    }

    private func headerTooLarge() -> HTTPParseError {
        HTTPParseError(status: 431, reason: "response header section larger than \(limits.maxHeaderBytes) bytes")
    }

    static func framing(status: Int, requestMethod: String, summary: FieldSummary, limits: HTTPLimits)
        throws(HTTPParseError) -> BodyState
    {
        if requestMethod == "HEAD" || status < 200 || status == 204 || status == 304 { return .done }
        if requestMethod == "CONNECT" && status < 300 { return .done }
        if summary.transferEncodingSeen {
            if summary.contentLengthSeen { throw .badRequest("both Transfer-Encoding and Content-Length present") }
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
        return .untilClose
    }

    /// HTTP-version SP 3DIGIT SP reason-phrase (the SP before an empty reason may be missing).
    static func parseHead(_ p: UnsafeBufferPointer<UInt8>, _ limits: HTTPLimits) throws(HTTPParseError)
        -> (HTTPResponseHead, FieldSummary)
    {
        let total = p.count
        var lineEnd = 0
        while lineEnd < total && p[lineEnd] != lf { lineEnd += 1 }
        let nextLine = lineEnd + 1
        if lineEnd > 0 && p[lineEnd - 1] == cr { lineEnd -= 1 }
        guard lineEnd >= 12, let version = parseVersionBytes(p, 0, 8), p[8] == sp else {
            throw .badRequest("invalid status line \(quoted(p, 0, lineEnd))")
        }
        guard version.major == 1 else {
            throw HTTPParseError(status: 505, reason: "unsupported HTTP version \(version)")
        }
        var status = 0
        for i in 9..<12 {
            let digit = p[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw .badRequest("invalid status code in \(quoted(p, 0, lineEnd))") }
            status = status * 10 + Int(digit)
        }
        guard status >= 100 else { throw .badRequest("invalid status code in \(quoted(p, 0, lineEnd))") }
        var reasonStart = 12
        if lineEnd > 12 {
            guard p[12] == sp else { throw .badRequest("invalid status line \(quoted(p, 0, lineEnd))") }
            reasonStart = 13
            for i in reasonStart..<lineEnd where !isFieldValueByte(p[i]) {
                throw .badRequest("invalid character in reason phrase \(quoted(p, 0, lineEnd))")
            }
        }
        var headers = HTTPHeaders(rawSection: p, capacity: 8)
        var summary = FieldSummary()
        try parseFieldLines(
            p, from: nextLine, maxCount: limits.maxHeaderCount, store: true, interpret: true, headers: &headers,
            summary: &summary)
        let keepAlive =
            version.minor >= 1 ? !summary.connectionClose : (summary.connectionKeepAlive && !summary.connectionClose)
        let head = HTTPResponseHead(
            status: status, reason: makeString(p, reasonStart, max(reasonStart, lineEnd)), version: version,
            headers: headers, keepAlive: keepAlive)
        return (head, summary)
    }
}
