/// Incremental, server-side HTTP/1.x request decoder (RFC 9112). Pure value: no IO.
///
/// Feed received bytes with `append(_:)`, then call `next()` until it returns `nil` (need more bytes).
/// Several pipelined requests in one append come out one `next()` call each; a request split over many appends
/// is resumed where scanning stopped, so byte-at-a-time input costs linear time.
///
/// `Expect: 100-continue`: when `next()` returns `nil` after reading the head of such a request and its body is
/// still incomplete, `takeContinueRequest()` returns `true` once; the server then writes
/// `HTTPEncoder.continueResponse` and keeps reading. Limits on the declared body size are checked when the head
/// is read, so a request that is too large fails with 413 before any `100 Continue` is due.
///
/// Errors are thrown as `HTTPParseError` with the status the server should answer (400, 413, 417, 431, 501, 505).
///
/// The decoder is strict where leniency enables request smuggling (RFC 9112 §2.2, §6.1, §6.3, §7.1.1; llhttp's
/// strict mode): CRLF line endings only, no obs-fold, no Content-Length with Transfer-Encoding, a single
/// Content-Length, chunked as the final coding, grammatical chunk extensions, only HTTP/1.0 and HTTP/1.1, and
/// `Expect` only `100-continue` (417 otherwise). docs/http-parser.md lists every rule with its status.
/// After an error the decoder stays failed: every later `next()` throws the same error.
public struct HTTPRequestDecoder: Sendable {
    /// The limits this decoder enforces.
    public var limits: HTTPLimits { reader.limits }

    private var reader: MessageReader<HTTPRequestHead>
    private var continuePending = false

    /// Creates a decoder with the given limits.
    public init(limits: HTTPLimits = .default) {
        reader = MessageReader(limits: limits, kind: "request")
    }

    /// Appends received bytes. Ignored once the decoder has failed.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { reader.append(bytes) }

    /// Appends received bytes. Ignored once the decoder has failed.
    public mutating func append(_ bytes: [UInt8]) { reader.append(bytes) }

    /// Returns the next complete request, or `nil` when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        try reader.checkNotFailed()
        do {
            let request = try decodeNext()
            reader.compactIfDrained()
            return request
        } catch {
            reader.fail(error)
            continuePending = false
            throw error
        }
    }

    /// Returns `true` once per request when the client asked for `Expect: 100-continue`, the head has been
    /// read and the body has not been completely received yet: the server should now send `100 Continue`.
    public mutating func takeContinueRequest() -> Bool {
        defer { continuePending = false }
        return continuePending
    }

    /// Whether a previous `next()` failed (the connection should be answered with the error and closed).
    public var isFailed: Bool { reader.isFailed }

    /// Whether part of a request has been received (buffered bytes or a body in progress). A server that sees
    /// end-of-file or an idle timeout while this is true has a truncated request.
    public var hasPartialRequest: Bool { reader.hasPartialMessage }

    /// Whether a request head has been read and its body is still incomplete (a server times the body's arrival
    /// from here, apart from the head's).
    public var isReadingBody: Bool {
        if case .body = reader.phase { return true }
        return false
    }

    /// Number of received bytes not yet consumed by `next()`.
    public var bufferedByteCount: Int { reader.queue.readable }

    private mutating func decodeNext() throws(HTTPParseError) -> HTTPRequest? {
        switch reader.phase {
        case .failed(let error):
            throw error
        case .body:
            return try continueBody()
        case .head:
            guard let (parsedHead, framing) = try reader.readHeadSection(HTTPRequestDecoder.parseHead) else {
                return nil
            }
            guard let framing else { return HTTPRequest(head: parsedHead, body: nil) }
            // A Content-Length body that arrived with its head (a small request) is taken in one copy, as the
            // response decoder does; one still arriving goes through the body phase.
            if case .fixed(let length) = framing, let body = reader.takeBufferedBody(length: length) {
                return HTTPRequest(head: parsedHead, body: body)
            }
            continuePending = parsedHead.expectsContinue
            reader.beginBody(of: parsedHead, framing: framing)
            return try continueBody()
        }
    }

    private mutating func continueBody() throws(HTTPParseError) -> HTTPRequest? {
        guard let (completedHead, completedBody) = try reader.continueBody() else { return nil }
        continuePending = false
        return HTTPRequest(head: completedHead, body: completedBody)
    }

    /// Parses a request head (`p` ends with the empty line). Returns the head and its body framing
    /// (`nil` = no body).
    static func parseHead(_ p: UnsafeBufferPointer<UInt8>, _ limits: HTTPLimits) throws(HTTPParseError)
        -> (HTTPRequestHead, BodyState?)
    {
        let total = p.count
        var lineEnd = 0
        while lineEnd < total && p[lineEnd] != lf { lineEnd += 1 }
        let nextLine = lineEnd + 1
        if lineEnd > 0 && p[lineEnd - 1] == cr { lineEnd -= 1 }

        // method SP request-target SP HTTP-version
        var i = 0
        // The scanner has checked that every line ends with CRLF.
        while i < lineEnd && isTokenByte(p[i]) { i += 1 }
        let methodEnd = i
        guard methodEnd > 0 else { throw .badRequest("invalid request line \(quoted(p, 0, lineEnd))") }
        guard i < lineEnd, p[i] == sp else {
            if i < lineEnd && p[i] != sp {
                throw .badRequest("invalid character in method \(quoted(p, 0, lineEnd))")
            }
            throw .badRequest("invalid request line \(quoted(p, 0, lineEnd))")
        }
        i += 1
        let targetStart = i
        while i < lineEnd && p[i] > 0x20 && p[i] < 0x7F { i += 1 }
        let targetEnd = i
        guard targetEnd > targetStart else { throw .badRequest("invalid request line \(quoted(p, 0, lineEnd))") }
        guard i < lineEnd else { throw .badRequest("invalid request line \(quoted(p, 0, lineEnd))") }
        guard p[i] == sp else { throw .badRequest("invalid character in request-target \(quoted(p, 0, lineEnd))") }
        i += 1
        let version = try parseVersion(p, i, lineEnd)

        // Validate and interpret the fields without indexing them (as the response decoder does): the headers
        // keep the section and find a field when it is read, which saves an index array per request (a server
        // usually reads one or two fields, if any).
        var summary = FieldSummary()
        try parseFieldLines(p, from: nextLine, maxCount: limits.maxHeaderCount, interpret: true, summary: &summary)
        let headers = HTTPHeaders(validatedSection: p, fieldsStart: nextLine)

        if version.minor == 1 {
            if summary.hostCount == 0 { throw .badRequest("missing Host header in an HTTP/1.1 request") }
        }
        if summary.hostCount > 1 { throw .badRequest("more than one Host header") }

        if summary.transferEncodingSeen && version.minor == 0 {
            throw .badRequest("Transfer-Encoding in an HTTP/1.0 request")
        }
        let framing = try declaredFraming(summary, limits: limits, isRequest: true)
        if let expectation = summary.unsupportedExpectation {
            throw HTTPParseError(status: 417, reason: "unsupported expectation \"\(expectation)\" (only 100-continue)")
        }

        let keepAlive =
            version.minor == 1 ? !summary.connectionClose : (summary.connectionKeepAlive && !summary.connectionClose)
        let head = HTTPRequestHead(
            method: internedMethod(p, 0, methodEnd), target: makeString(p, targetStart, targetEnd), version: version,
            headers: headers, keepAlive: keepAlive,
            expectsContinue: version.minor == 1 && summary.expectContinue && framing != nil)
        return (head, framing)
    }

    /// "HTTP/" DIGIT "." DIGIT; 1.0 and 1.1 are accepted, other well-formed versions fail with 505.
    static func parseVersion(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(HTTPParseError)
        -> HTTPVersion
    {
        guard let version = parseVersionBytes(p, start, end) else {
            // A non-HTTP protocol (RTSP/1.0, ICE/1.0) or a malformed version is not a version we could support:
            // 400, as llhttp (HPE_INVALID_VERSION / HPE_INVALID_CONSTANT). 505 is for a well-formed HTTP version.
            throw .badRequest("invalid HTTP version \(quoted(p, start, end))")
        }
        guard version.major == 1, version.minor <= 1 else {
            throw HTTPParseError(status: 505, reason: "unsupported HTTP version \(version)")
        }
        return version
    }
}

/// Parses exactly `HTTP/d.d` in p[start..<end].
func parseVersionBytes(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> HTTPVersion? {
    guard end - start == 8, p[start] == UInt8(ascii: "H"), p[start + 1] == UInt8(ascii: "T"),
        p[start + 2] == UInt8(ascii: "T"), p[start + 3] == UInt8(ascii: "P"), p[start + 4] == UInt8(ascii: "/"),
        p[start + 6] == UInt8(ascii: ".")
    else { return nil }
    let major = p[start + 5] &- UInt8(ascii: "0")
    let minor = p[start + 7] &- UInt8(ascii: "0")
    guard major < 10, minor < 10 else { return nil }
    return HTTPVersion(major: Int(major), minor: Int(minor))
}

/// Common methods come back as literal (immortal) strings; others are created from the bytes.
@inline(__always)
func internedMethod(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
    switch end - start {
    case 3:
        if p[start] == UInt8(ascii: "G") && p[start + 1] == UInt8(ascii: "E") && p[start + 2] == UInt8(ascii: "T") {
            return "GET"
        }
        if p[start] == UInt8(ascii: "P") && p[start + 1] == UInt8(ascii: "U") && p[start + 2] == UInt8(ascii: "T") {
            return "PUT"
        }
    case 4:
        if p[start] == UInt8(ascii: "P") && p[start + 1] == UInt8(ascii: "O") && p[start + 2] == UInt8(ascii: "S")
            && p[start + 3] == UInt8(ascii: "T")
        {
            return "POST"
        }
        if p[start] == UInt8(ascii: "H") && p[start + 1] == UInt8(ascii: "E") && p[start + 2] == UInt8(ascii: "A")
            && p[start + 3] == UInt8(ascii: "D")
        {
            return "HEAD"
        }
    default:
        break
    }
    return makeString(p, start, end)
}
