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
    public var limits: HTTPLimits { reader.limits }

    private var reader: MessageReader<HTTPResponseHead>

    /// Creates a decoder with the given limits.
    public init(limits: HTTPLimits = .default) {
        reader = MessageReader(limits: limits, kind: "response")
    }

    /// Appends received bytes. Ignored once the decoder has failed.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { reader.append(bytes) }

    /// Appends received bytes. Ignored once the decoder has failed.
    public mutating func append(_ bytes: [UInt8]) { reader.append(bytes) }

    /// Whether a previous call failed.
    public var isFailed: Bool { reader.isFailed }

    /// Whether part of a response has been received (buffered bytes or a body in progress).
    public var hasPartialResponse: Bool { reader.hasPartialMessage }

    /// Returns the next complete final response to a request made with `requestMethod`, or `nil` when more
    /// bytes are needed.
    public mutating func next(requestMethod: String) throws(HTTPParseError) -> HTTPResponse? {
        try reader.checkNotFailed()
        do {
            let response = try decodeNext(requestMethod: requestMethod)
            reader.compactIfDrained()
            return response
        } catch {
            reader.fail(error)
            throw error
        }
    }

    /// Tells the decoder that the peer closed the connection. Returns the close-delimited response whose body
    /// was being read, or `nil` when no response was in progress. Throws when a response was cut short (partial
    /// head, or fewer body bytes than Content-Length / an unfinished chunked body). Afterwards the decoder is
    /// empty.
    public mutating func finishOnEOF() throws(HTTPParseError) -> HTTPResponse? {
        switch reader.phase {
        case .failed(let error):
            throw error
        case .head:
            if reader.queue.storage[reader.queue.readIndex...].allSatisfy({ $0 == cr || $0 == lf }) {
                reader.queue.removeAll()
                return nil
            }
            let error = HTTPParseError.badRequest("connection closed inside a response header section")
            reader.fail(error)
            throw error
        case .body:
            guard reader.bodyState == .untilClose, let completedHead = reader.head else {
                let error = HTTPParseError.badRequest("connection closed before the response body was complete")
                reader.fail(error)
                throw error
            }
            let completedBody = reader.body
            reader.body = []
            reader.head = nil
            reader.bodyState = .done
            reader.phase = .head
            reader.queue.removeAll()
            return HTTPResponse(head: completedHead, body: completedBody)
        }
    }

    private mutating func decodeNext(requestMethod: String) throws(HTTPParseError) -> HTTPResponse? {
        while true {
            switch reader.phase {
            case .failed(let error):
                throw error
            case .body:
                guard let (completedHead, completedBody) = try reader.continueBody() else { return nil }
                return HTTPResponse(head: completedHead, body: completedBody)
            case .head:
                guard
                    let (head, framing) = try reader.readHeadSection({ (p, limits) throws(HTTPParseError) in
                        try HTTPResponseDecoder.parseHead(p, limits, requestMethod: requestMethod)
                    })
                else { return nil }
                let status = head.status
                if status >= 100 && status < 200 && status != 101 { continue }  // interim response: skip
                if framing == .done { return HTTPResponse(head: head, body: []) }
                if case .fixed(let length) = framing, let body = reader.takeBufferedBody(length: length) {
                    return HTTPResponse(head: head, body: body)
                }
                reader.beginBody(of: head, framing: framing)
            }
        }
    }

    static func framing(status: Int, requestMethod: String, summary: FieldSummary, limits: HTTPLimits)
        throws(HTTPParseError) -> BodyState
    {
        if requestMethod == "HEAD" || status < 200 || status == 204 || status == 304 { return .done }
        if requestMethod == "CONNECT" && status < 300 { return .done }
        return try declaredFraming(summary, limits: limits, isRequest: false) ?? .untilClose
    }

    /// HTTP-version SP 3DIGIT SP reason-phrase (the SP before an empty reason may be missing), then the fields.
    /// Returns the head and how its body is delimited when it answers a request made with `requestMethod`; the
    /// head's `keepAlive` is final (false for a body delimited by the connection closing), so the head leaves
    /// the decoder without being copied to change it.
    static func parseHead(_ p: UnsafeBufferPointer<UInt8>, _ limits: HTTPLimits, requestMethod: String)
        throws(HTTPParseError) -> (HTTPResponseHead, BodyState)
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
        // Validate and interpret the fields without indexing them; the headers keep the section and find a field
        // when it is read (a client usually reads one or two, if any).
        var summary = FieldSummary()
        try parseFieldLines(p, from: nextLine, maxCount: limits.maxHeaderCount, interpret: true, summary: &summary)
        let headers = HTTPHeaders(validatedSection: p, fieldsStart: nextLine)
        let framing = try Self.framing(status: status, requestMethod: requestMethod, summary: summary, limits: limits)
        let keepAlive =
            framing != .untilClose
            && (version.minor >= 1
                ? !summary.connectionClose : (summary.connectionKeepAlive && !summary.connectionClose))
        let head = HTTPResponseHead(
            status: status, reason: makeString(p, reasonStart, max(reasonStart, lineEnd)), version: version,
            headers: headers, keepAlive: keepAlive)
        return (head, framing)
    }
}
