/// Serializes HTTP/1.1 responses and requests by appending to a caller-owned byte array.
///
/// The encoder owns message framing: it writes `Content-Length` itself and drops any `Content-Length`,
/// `Transfer-Encoding` or `Connection` fields passed in `headers` (and `Host` for requests). Other fields are
/// written in the given order; CR, LF and NUL bytes in names or values are replaced by spaces so a field can
/// never split the message.
public enum HTTPEncoder {
    /// `HTTP/1.1 100 Continue` followed by the empty line: the interim response to `Expect: 100-continue`.
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Appends a complete response: status line, `Date` (cached, IMF-fixdate; omitted if `headers` has one),
    /// `headers`, `Content-Length` (not for 1xx, 204 and 304), `Connection: close` when `keepAlive` is false
    /// (or `Connection: keep-alive` when answering an HTTP/1.0 request with `keepAlive`), then the body
    /// (omitted for 1xx, 204 and 304).
    @inlinable
    public static func writeResponse(
        status: Int, headers: [(String, String)], body: some Collection<UInt8>, keepAlive: Bool,
        requestVersion: HTTPVersion = .http1_1, into buffer: inout [UInt8]
    ) {
        let count = body.count
        _writeResponseHead(
            status: status, headers: headers, contentLength: count, keepAlive: keepAlive,
            requestVersion: requestVersion, into: &buffer)
        if count > 0 && _statusAllowsBody(status) { buffer.append(contentsOf: body) }
    }

    /// Appends only the head of a response whose body would be `contentLength` bytes (e.g. the answer to a
    /// `HEAD` request, or a head followed by a body written separately). `contentLength: nil` writes no
    /// Content-Length. Otherwise like `writeResponse`.
    public static func writeResponseHead(
        status: Int, headers: [(String, String)], contentLength: Int?, keepAlive: Bool,
        requestVersion: HTTPVersion = .http1_1, into buffer: inout [UInt8]
    ) {
        _writeResponseHead(
            status: status, headers: headers, contentLength: contentLength, keepAlive: keepAlive,
            requestVersion: requestVersion, into: &buffer)
    }

    /// Appends a complete HTTP/1.1 request: request line, `Host`, `headers`, `Content-Length` (when the body is
    /// not empty or the method is POST, PUT or PATCH), the empty line and the body. Keep-alive is the HTTP/1.1
    /// default; pass `("Connection", "close")` in `headers` to ask the server to close.
    @inlinable
    public static func writeRequest(
        method: String, target: String, host: String, headers: [(String, String)], body: some Collection<UInt8>,
        into buffer: inout [UInt8]
    ) {
        let count = body.count
        _writeRequestHead(method: method, target: target, host: host, headers: headers, bodyCount: count, into: &buffer)
        if count > 0 { buffer.append(contentsOf: body) }
    }

    @usableFromInline
    static func _statusAllowsBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    @usableFromInline
    static func _writeResponseHead(
        status: Int, headers: [(String, String)], contentLength: Int?, keepAlive: Bool, requestVersion: HTTPVersion,
        into out: inout [UInt8]
    ) {
        out.reserveCapacity(out.count + 128 + headers.count * 32)
        appendStatic(&out, "HTTP/1.1 ")
        if status >= 100 && status <= 999 {
            out.append(UInt8(ascii: "0") + UInt8(status / 100))
            out.append(UInt8(ascii: "0") + UInt8(status / 10 % 10))
            out.append(UInt8(ascii: "0") + UInt8(status % 10))
        } else {
            appendStatic(&out, "500")
        }
        out.append(sp)
        appendStatic(&out, HTTPStatus.staticReasonPhrase(status))
        appendStatic(&out, "\r\n")
        var userDate = false
        for (name, value) in headers {
            switch fieldRole(name) {
            case .framing, .connection, .host: continue
            case .date: userDate = true
            case .other: break
            }
            appendField(&out, name, value)
        }
        if !userDate {
            appendStatic(&out, "Date: ")
            HTTPDate.appendCurrent(to: &out)
            appendStatic(&out, "\r\n")
        }
        if let contentLength, status >= 200 && status != 204 && status != 304 {
            appendStatic(&out, "Content-Length: ")
            appendDecimal(&out, contentLength)
            appendStatic(&out, "\r\n")
        }
        if !keepAlive {
            appendStatic(&out, "Connection: close\r\n")
        } else if requestVersion.minor == 0 {
            appendStatic(&out, "Connection: keep-alive\r\n")
        }
        appendStatic(&out, "\r\n")
    }

    @usableFromInline
    static func _writeRequestHead(
        method: String, target: String, host: String, headers: [(String, String)], bodyCount: Int,
        into out: inout [UInt8]
    ) {
        out.reserveCapacity(out.count + 128 + headers.count * 32)
        appendSanitized(&out, method)
        out.append(sp)
        appendSanitized(&out, target)
        appendStatic(&out, " HTTP/1.1\r\n")
        appendField(&out, "Host", host)
        for (name, value) in headers {
            switch fieldRole(name) {
            case .framing, .host: continue
            case .connection, .date, .other: break
            }
            appendField(&out, name, value)
        }
        if bodyCount > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
            appendStatic(&out, "Content-Length: ")
            appendDecimal(&out, bodyCount)
            appendStatic(&out, "\r\n")
        }
        appendStatic(&out, "\r\n")
    }

    private enum FieldRole {
        case framing, connection, host, date, other
    }

    private static func fieldRole(_ name: String) -> FieldRole {
        switch name.utf8.count {
        case 4:
            if asciiCaseInsensitiveEquals(name, "host") { return .host }
            if asciiCaseInsensitiveEquals(name, "date") { return .date }
        case 10:
            if asciiCaseInsensitiveEquals(name, "connection") { return .connection }
        case 14:
            if asciiCaseInsensitiveEquals(name, "content-length") { return .framing }
        case 17:
            if asciiCaseInsensitiveEquals(name, "transfer-encoding") { return .framing }
        default:
            break
        }
        return .other
    }

    @inline(__always)
    private static func appendField(_ out: inout [UInt8], _ name: String, _ value: String) {
        appendSanitized(&out, name)
        out.append(UInt8(ascii: ":"))
        out.append(sp)
        appendSanitized(&out, value)
        appendStatic(&out, "\r\n")
    }

    /// Appends the UTF-8 of `s`, replacing CR, LF and NUL by spaces.
    @inline(__always)
    private static func appendSanitized(_ out: inout [UInt8], _ s: String) {
        let start = out.count
        out.append(contentsOf: s.utf8)
        var i = start
        let end = out.count
        while i < end {
            let b = out[i]
            if b == cr || b == lf || b == 0 { out[i] = sp }
            i += 1
        }
    }

    @inline(__always)
    static func appendStatic(_ out: inout [UInt8], _ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    static func appendDecimal(_ out: inout [UInt8], _ value: Int) {
        if value < 10 && value >= 0 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        out.append(contentsOf: String(value).utf8)
    }
}

/// Reason phrases for status codes.
public enum HTTPStatus {
    /// The standard reason phrase for `status` (RFC 9110 and common extensions), or `"Unknown"`.
    public static func reasonPhrase(_ status: Int) -> String {
        staticReasonPhrase(status).description
    }

    static func staticReasonPhrase(_ status: Int) -> StaticString {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 203: return "Non-Authoritative Information"
        case 204: return "No Content"
        case 205: return "Reset Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 402: return "Payment Required"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 421: return "Misdirected Request"
        case 422: return "Unprocessable Content"
        case 425: return "Too Early"
        case 426: return "Upgrade Required"
        case 428: return "Precondition Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }
}
