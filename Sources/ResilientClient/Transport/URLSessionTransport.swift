import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An ``HTTPTransport`` on `URLSession` (FoundationNetworking on Linux): the client's transport for
/// `https://` URLs, and for every URL where there is no `LoopTransport` (any platform but Linux).
///
/// URL errors map to ``TransportError`` kinds: "cannot connect" to `.connectionRefused`, "timed out" to
/// `.responseTimeout` (URLSession does not say whether the request was sent, so it is treated as
/// possibly processed), "connection lost" to `.connectionClosed(requestSent: true)`, "cancelled" to
/// `.cancelled`, "cannot find host" and "DNS lookup failed" to `.unresolvedHost`, anything else (TLS, bad
/// URL) to `.other`.
public final class URLSessionTransport: HTTPTransport {
    private let session: URLSession

    /// Creates a transport on a session made from `configuration` (default: ephemeral, no cache, no
    /// cookies).
    public init(configuration: URLSessionConfiguration = .ephemeral) {
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        self.session = URLSession(configuration: configuration)
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
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: urlRequest)
        } catch let error as URLError {
            throw Self.map(error)
        } catch is CancellationError {
            throw TransportError(.cancelled, "cancelled")
        } catch {
            throw TransportError(.other, "\(error)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw TransportError(.protocolError, "not an HTTP response")
        }
        var headers: [(name: String, value: String)] = []
        for (name, value) in http.allHeaderFields {
            headers.append((name: "\(name)", value: "\(value)"))
        }
        return TransportResponse(status: http.statusCode, headers: headers, body: Array(data))
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
