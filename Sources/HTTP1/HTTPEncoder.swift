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
        // Size the head exactly, grow the array once, then copy every piece in with raw pointers.
        let validStatus = status >= 100 && status <= 999
        let reason = HTTPStatus.staticReasonPhrase(status)
        var length = 13 + reason.utf8CodeUnitCount + 2  // "HTTP/1.1 NNN " reason CRLF
        var userDate = false
        for (name, value) in headers {
            switch fieldRole(name) {
            case .framing, .connection, .host: continue
            case .date: userDate = true
            case .other: break
            }
            length += name.utf8.count + value.utf8.count + 4
        }
        if !userDate { length += 37 }  // "Date: " + 29 + CRLF
        let writeLength = contentLength != nil && status >= 200 && status != 204 && status != 304
        let lengthDigits = decimalDigitCount(contentLength ?? 0)
        if writeLength { length += 18 + lengthDigits }  // "Content-Length: " digits CRLF
        let connection: StaticString? =
            !keepAlive ? "Connection: close\r\n" : (requestVersion.minor == 0 ? "Connection: keep-alive\r\n" : nil)
        if let connection { length += connection.utf8CodeUnitCount }
        length += 2

        RawWriter.append(length, to: &out) { w in
            w.write("HTTP/1.1 ")
            let code = validStatus ? status : 500
            w.byte(UInt8(ascii: "0") + UInt8(code / 100))
            w.byte(UInt8(ascii: "0") + UInt8(code / 10 % 10))
            w.byte(UInt8(ascii: "0") + UInt8(code % 10))
            w.byte(sp)
            w.write(reason)
            w.write("\r\n")
            for (name, value) in headers {
                switch fieldRole(name) {
                case .framing, .connection, .host: continue
                case .date, .other: break
                }
                w.field(name, value)
            }
            if !userDate {
                w.write("Date: ")
                HTTPDate.writeCurrent(to: w.cursor)
                w.cursor += 29
                w.write("\r\n")
            }
            if writeLength { w.contentLength(contentLength ?? 0, digits: lengthDigits) }
            if let connection { w.write(connection) }
            w.write("\r\n")
        }
    }

    @usableFromInline
    static func _writeRequestHead(
        method: String, target: String, host: String, headers: [(String, String)], bodyCount: Int,
        into out: inout [UInt8]
    ) {
        var length = method.utf8.count + 1 + target.utf8.count + 11 + 6 + host.utf8.count + 2
        for (name, value) in headers {
            switch fieldRole(name) {
            case .framing, .host: continue
            case .connection, .date, .other: break
            }
            length += name.utf8.count + value.utf8.count + 4
        }
        let writeLength = bodyCount > 0 || method == "POST" || method == "PUT" || method == "PATCH"
        let lengthDigits = decimalDigitCount(bodyCount)
        if writeLength { length += 18 + lengthDigits }
        length += 2

        RawWriter.append(length, to: &out) { w in
            w.sanitized(method)
            w.byte(sp)
            w.sanitized(target)
            w.write(" HTTP/1.1\r\n")
            w.field("Host", host)
            for (name, value) in headers {
                switch fieldRole(name) {
                case .framing, .host: continue
                case .connection, .date, .other: break
                }
                w.field(name, value)
            }
            if writeLength { w.contentLength(bodyCount, digits: lengthDigits) }
            w.write("\r\n")
        }
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

    static func decimalDigitCount(_ value: Int) -> Int {
        var v = max(value, 0)
        var n = 1
        while v >= 10 {
            v /= 10
            n += 1
        }
        return n
    }
}

/// Writes bytes through a raw pointer into space the caller has already sized exactly.
struct RawWriter {
    var cursor: UnsafeMutablePointer<UInt8>

    init(_ cursor: UnsafeMutablePointer<UInt8>) {
        self.cursor = cursor
    }

    /// Lets `write` fill exactly `length` bytes and appends them to `out`. They are written into temporary
    /// space (on the stack when small) and copied in once: growing `out` with zeros first, for `write` to
    /// overwrite, cost a slow pass over every byte.
    @inline(__always)
    static func append(_ length: Int, to out: inout [UInt8], _ write: (inout RawWriter) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
            guard let base = buffer.baseAddress else { return }
            var w = RawWriter(base)
            write(&w)
            precondition(w.cursor == base + length, "RawWriter: the head was sized wrong")
            out.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        cursor.pointee = b
        cursor += 1
    }

    @inline(__always)
    mutating func write(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        cursor.update(from: s.utf8Start, count: n)
        cursor += n
    }

    /// Copies the UTF-8 of `s`, replacing CR, LF and NUL by spaces so a field can never split the message.
    @inline(__always)
    mutating func sanitized(_ s: String) {
        var copy = s
        copy.withUTF8 { bytes in
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                cursor[i] = (b == cr || b == lf || b == 0) ? sp : b
                i += 1
            }
            cursor += bytes.count
        }
    }

    @inline(__always)
    mutating func field(_ name: String, _ value: String) {
        sanitized(name)
        byte(UInt8(ascii: ":"))
        byte(sp)
        sanitized(value)
        byte(cr)
        byte(lf)
    }

    /// `Content-Length: ` and `value` in `digits` digits, then CRLF (18 + `digits` bytes).
    @inline(__always)
    mutating func contentLength(_ value: Int, digits: Int) {
        write("Content-Length: ")
        decimal(value, digits: digits)
        write("\r\n")
    }

    mutating func decimal(_ value: Int, digits: Int) {
        var v = max(value, 0)
        var i = digits - 1
        while i >= 0 {
            cursor[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        cursor += digits
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
