import ResilientClient
import Synchronization

/// The transport under `loadgen call`'s `ResilientClient`: it sends the user's body bytes exactly as
/// given (the client's JSON calls re-serialize a `JSONValue`, and a curl-like tool must not rewrite
/// what it was told to send, nor send a body it was not given), and keeps the last response of the
/// call so that its raw body can be printed whatever the outcome (a 422 or a 503 body included).
///
/// Requests other than the call itself (the health gate's and `--wait-healthy`'s `GET /ping`) pass
/// through untouched.
final class CallTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let method: String
    private let path: String
    private let body: [UInt8]?
    private let last = Mutex<TransportResponse?>(nil)
    private let sent = Atomic<Int>(0)

    /// - Parameters:
    ///   - inner: the real transport.
    ///   - method, path: identify the call's own requests.
    ///   - body: the bytes to send (`nil`: no body and no `Content-Type`).
    init(_ inner: any HTTPTransport, method: String, path: String, body: [UInt8]?) {
        self.inner = inner
        self.method = method
        self.path = path
        self.body = body
    }

    /// The last response to the call's own request, if any arrived.
    var lastResponse: TransportResponse? { last.withLock { $0 } }

    /// The inner transport's: when it enforces the attempt timeout itself it can tell a timeout before
    /// any byte was sent (a connect timeout, always safe to retry) from one after; the client's own
    /// timer cannot, and would report every timeout as a response timeout.
    var enforcesTimeout: Bool { inner.enforcesTimeout }

    /// How many attempts of the call itself were handed to the transport.
    var attempts: Int { sent.load(ordering: .relaxed) }

    func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
        guard request.method == method, Self.target(of: request) == path else {
            return try await inner.send(request, timeout: timeout)
        }
        var exact = request
        exact.body = body ?? []
        // The first Content-Type wins: the user's `--header`, else the client's JSON default.
        var seenContentType = false
        exact.headers = request.headers.filter { header in
            guard header.name.lowercased() == "content-type" else { return true }
            defer { seenContentType = true }
            return !seenContentType && body != nil
        }
        sent.add(1, ordering: .relaxed)
        let response = try await inner.send(exact, timeout: timeout)
        last.withLock { $0 = response }
        return response
    }

    /// The request's path and query, as the call's `path` is written.
    static func target(of request: TransportRequest) -> String {
        let path = request.url.path(percentEncoded: true).isEmpty ? "/" : request.url.path(percentEncoded: true)
        return request.url.query(percentEncoded: true).map { path + "?" + $0 } ?? path
    }
}
