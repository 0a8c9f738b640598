/// An HTTP protocol version such as `HTTP/1.1`.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The major version digit.
    public var major: Int
    /// The minor version digit.
    public var minor: Int

    /// Creates a version from its two digits.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// `HTTP/1.0`.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// `HTTP/1.1`.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// The version as written on the wire, e.g. `HTTP/1.1`.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// Size limits that the decoders enforce while reading a message.
public struct HTTPLimits: Sendable, Hashable {
    /// Maximum size of the start line plus header section (and, separately, of a chunked trailer section),
    /// terminating empty line included. Exceeding it fails with 431.
    public var maxHeaderBytes: Int
    /// Maximum size of a decoded body. Exceeding it fails with 413.
    public var maxBodyBytes: Int
    /// Maximum number of header fields (and, separately, of trailer fields). Exceeding it fails with 431.
    public var maxHeaderCount: Int

    /// Creates limits; the defaults are 16 KiB of header, 8 MiB of body and 100 header fields.
    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 8 * 1024 * 1024, maxHeaderCount: Int = 100) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// The default limits (16 KiB header, 8 MiB body, 100 fields).
    public static let `default` = HTTPLimits()
}

/// A malformed or unacceptable message. `status` is the status code a server answers with
/// (400, 413, 431, 501 or 505); the response decoder uses the same categories.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status code that describes the failure.
    public var status: Int
    /// A human-readable explanation of what was wrong, e.g. `invalid Content-Length value "abc"`.
    public var reason: String

    /// Creates an error.
    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// `"<status> <reason>"`.
    public var description: String { "\(status) \(reason)" }

    static func badRequest(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
}

/// The request line and header section of a request.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The method token exactly as received (case-sensitive), e.g. `POST`.
    public var method: String
    /// The request-target exactly as received, e.g. `/predict?x=1`.
    public var target: String
    /// The protocol version (1.0 or 1.1).
    public var version: HTTPVersion
    /// The header fields in arrival order.
    public var headers: HTTPHeaders
    /// Whether the connection may be reused after this request: HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive` (and no `close`).
    public var keepAlive: Bool
    /// Whether an HTTP/1.1 request carried `Expect: 100-continue`.
    public var expectsContinue: Bool

    /// Creates a request head.
    public init(
        method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(),
        keepAlive: Bool = true, expectsContinue: Bool = false
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
    }
}

/// A complete request.
public struct HTTPRequest: Sendable, Equatable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The decoded body; `nil` when the request had no body framing at all (neither Content-Length nor
    /// Transfer-Encoding), `[]` for an explicitly empty body.
    public var body: [UInt8]?

    /// Creates a request.
    public init(head: HTTPRequestHead, body: [UInt8]?) {
        self.head = head
        self.body = body
    }
}

/// The status line and header section of a response.
public struct HTTPResponseHead: Sendable, Equatable {
    /// The three-digit status code.
    public var status: Int
    /// The reason phrase as received (may be empty).
    public var reason: String
    /// The protocol version (major version 1).
    public var version: HTTPVersion
    /// The header fields in arrival order.
    public var headers: HTTPHeaders
    /// Whether the connection may carry another request after this response.
    public var keepAlive: Bool

    /// Creates a response head.
    public init(
        status: Int, reason: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(),
        keepAlive: Bool = true
    ) {
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
    }
}

/// A complete response.
public struct HTTPResponse: Sendable, Equatable {
    /// The status line and headers.
    public var head: HTTPResponseHead
    /// The decoded body (empty when the response has none).
    public var body: [UInt8]

    /// Creates a response.
    public init(head: HTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }
}
