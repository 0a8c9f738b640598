// NetIO's HTTP client exists on Linux only (see Package.swift).
#if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
import NetIO

extension TransportError {
    /// The library's reading of a failure of NetIO's HTTP client, the one mapping the client's `LoopTransport`
    /// and loadgen's engine share: nothing sent (refused, connect timeout, a timeout or reset before the request
    /// was written) is always safe to retry; after sending, only for idempotent routes. A body over the decoder's
    /// limit (a 413 from the response decoder) is `.responseTooLarge`. Package-internal: an application never
    /// sees NetIO's errors.
    package init(_ error: HTTPClientError) {
        let message = error.description
        switch error {
        case .connectRefused, .unreachable: self.init(.connectionRefused, message)
        case .connectTimedOut: self.init(.connectTimeout, message)
        case .connectFailed(.addressResolution(let host)):
            self.init(.unresolvedHost, "cannot resolve host name '\(host)' (DNS)")
        case .connectFailed: self.init(.other, message)
        case .timedOut(let sent): self.init(sent ? .responseTimeout : .connectTimeout, message)
        case .resetBeforeSend: self.init(.connectionClosed(requestSent: false), message)
        case .resetAfterSend: self.init(.connectionClosed(requestSent: true), message)
        case .closedByPeer(let sent), .closed(let sent): self.init(.connectionClosed(requestSent: sent), message)
        case .invalidResponse(let parseError) where parseError.status == 413:
            // Longer than the decoder's body limit: a well-formed answer that was not read to its end.
            self.init(.responseTooLarge, "response too large: \(parseError.reason)")
        case .invalidResponse: self.init(.protocolError, message)
        }
    }
}
#endif
