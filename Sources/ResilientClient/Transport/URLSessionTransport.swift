import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An ``HTTPTransport`` on `URLSession` (FoundationNetworking on Linux): the client's transport for
/// `https://` URLs, and for every URL where there is no `LoopTransport` (any platform but Linux).
///
/// A response body is read as it arrives and never past ``maxResponseBytes``: a longer one (announced by
/// its `Content-Length`, or counted as it arrives, as with an endless chunked body) cancels the task and
/// fails the attempt with ``TransportError/Kind/responseTooLarge``. The bytes past the limit are dropped, not
/// kept; but FoundationNetworking on Linux goes on reading a cancelled task's connection in the background
/// until the server ends the body (an endless body is read, and discarded, until the server stops), so use
/// `LoopTransport` where a hostile server must not keep a connection busy.
///
/// URL errors map to ``TransportError`` kinds: "cannot connect" to `.connectionRefused`, "timed out" to
/// `.responseTimeout` (URLSession does not say whether the request was sent, so it is treated as
/// possibly processed), "connection lost" to `.connectionClosed(requestSent: true)`, "cancelled" to
/// `.cancelled`, "cannot find host" and "DNS lookup failed" to `.unresolvedHost`, anything else (TLS, bad
/// URL) to `.other`.
public final class URLSessionTransport: HTTPTransport {
    /// The longest response body read, in bytes.
    public let maxResponseBytes: Int
    private let session: URLSession
    private let receiver: URLSessionResponseReceiver

    /// Creates a transport on a session made from `configuration` (default: ephemeral, no cache, no
    /// cookies) that reads at most `maxResponseBytes` of a response body (default 8 MiB,
    /// ``ResilientClientConfiguration/defaultMaxResponseBytes``; negative values count as 0).
    public init(
        configuration: URLSessionConfiguration = .ephemeral,
        maxResponseBytes: Int = ResilientClientConfiguration.defaultMaxResponseBytes
    ) {
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        self.maxResponseBytes = max(0, maxResponseBytes)
        self.receiver = URLSessionResponseReceiver(maxBodyBytes: self.maxResponseBytes)
        self.session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Sends one request with `URLSession`.
    public func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        for field in request.headers { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        if let timeout {
            urlRequest.timeoutInterval = max(0.001, Double(timeout.clampedNanoseconds) / 1e9)
        }
        let task = session.dataTask(with: urlRequest)
        let receiver = self.receiver
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                receiver.follow(task, continuation: continuation)
                // Cancelled before it was followed: the handler's `cancel()` may have ended the task unseen.
                if Task.isCancelled {
                    receiver.end(task, with: .failure(TransportError(.cancelled, "cancelled")))
                } else {
                    task.resume()
                }
            }
        } onCancel: {
            task.cancel()
        }
        let (http, body) = try outcome.get()
        var headers: [(name: String, value: String)] = []
        for (name, value) in http.allHeaderFields {
            headers.append((name: "\(name)", value: "\(value)"))
        }
        return TransportResponse(status: http.statusCode, headers: headers, body: body)
    }

    static func map(_ error: URLError) -> TransportError {
        let message = error.localizedDescription
        switch error.code {
        case .cannotConnectToHost: return TransportError(.connectionRefused, message)
        case .cannotFindHost, .dnsLookupFailed: return TransportError(.unresolvedHost, message)
        case .timedOut: return TransportError(.responseTimeout, message)
        case .networkConnectionLost: return TransportError(.connectionClosed(requestSent: true), message)
        case .cancelled: return TransportError(.cancelled, message)
        case .badServerResponse: return TransportError(.protocolError, message)
        default: return TransportError(.other, message)
        }
    }
}
