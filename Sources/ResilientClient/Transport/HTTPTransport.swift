import Foundation
import HTTP1

/// One HTTP request as the client hands it to a transport.
public struct TransportRequest: Sendable {
    /// The method, upper-case (`POST`, `GET`).
    public var method: String
    /// The absolute URL (`http://host:port/path` or `https://…`).
    public var url: URL
    /// Header fields in order (the transport adds `Host`, `Content-Length` and framing itself).
    public var headers: [(name: String, value: String)]
    /// The body; empty for none.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, url: URL, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// One complete HTTP response.
public struct TransportResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The body.
    public var body: [UInt8]
    /// The header fields: as given, or as `LoopTransport` received them (strings made only when read).
    private var fields: Fields

    private enum Fields: Sendable {
        case pairs([(name: String, value: String)])
        case received(HTTPHeaders)
    }

    /// Header fields in order.
    public var headers: [(name: String, value: String)] {
        get {
            switch fields {
            case .pairs(let pairs): return pairs
            case .received(let received): return received.fields
            }
        }
        set { fields = .pairs(newValue) }
    }

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.fields = .pairs(headers)
        self.body = body
    }

    /// A response with the header fields as received: a client reads few of them (`Retry-After` after a
    /// 503), so none is turned into a string before it is asked for.
    init(status: Int, received: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.fields = .received(received)
        self.body = body
    }

    /// The first value of the header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        switch fields {
        case .pairs(let pairs): return pairs.first { Self.equalIgnoringASCIICase($0.name, name) }?.value
        case .received(let received): return received[name]
        }
    }

    /// ASCII case-insensitive comparison of two header names, without allocating.
    static func equalIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x == y { continue }
                let lx = x >= 0x41 && x <= 0x5A ? x | 0x20 : x
                let ly = y >= 0x41 && y <= 0x5A ? y | 0x20 : y
                if lx != ly { return false }
            default: return false
            }
        }
    }
}

/// How ``ResilientClient`` sends one attempt. Implement it to plug in another HTTP stack or a test
/// double. By default the client sends with `LoopTransport` for `http://` on Linux, and with
/// ``URLSessionTransport`` otherwise (`https://`, and every URL on other platforms).
///
/// Contract:
/// - `send` performs exactly one attempt (no retries, no redirects) and returns any complete response,
///   whatever its status.
/// - On failure it throws a ``TransportError`` whose kind says whether the request may have reached
///   the server (this decides which failures are retried).
/// - It honours task cancellation promptly (the client cancels an attempt when its timeout or the
///   call's deadline passes, or when the caller's task is cancelled).
/// - `timeout` bounds the attempt; `nil` means none. A transport that enforces it itself says so with
///   ``enforcesTimeout`` and the client then starts no timer of its own (a timer task per attempt would
///   cost about as much as a loopback request); otherwise the client races the attempt against a timer.
///
/// ```swift
/// struct Canned: HTTPTransport {
///     func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
///         TransportResponse(status: 200, body: Array(#"{"ok":true}"#.utf8))
///     }
/// }
/// ```
public protocol HTTPTransport: Sendable {
    /// Sends one request and returns its response.
    func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse

    /// Whether `send` itself fails with `.responseTimeout` (or `.connectTimeout`) once `timeout` has passed,
    /// measured in real time. Default `false`.
    var enforcesTimeout: Bool { get }
}

extension HTTPTransport {
    /// By default the client enforces the attempt timeout itself.
    public var enforcesTimeout: Bool { false }
}
