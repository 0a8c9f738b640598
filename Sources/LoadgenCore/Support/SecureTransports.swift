import ResilientClient

/// The transport for `https://` targets (loadgen's own event loop speaks plain HTTP only): URLSession
/// (libcurl on Linux) trusting the system's certificate authorities, or, with a CA file, libcurl's easy
/// interface trusting exactly that file's authorities (URLSession cannot be told to on Linux; see
/// ``CurlTransport``). Either reads at most `maxResponseBytes` of a response body, as the plain-HTTP path does.
enum SecureTransports {
    /// A transport for `https://` URLs; `caFile` (a PEM file) replaces the system's authorities; a response body
    /// longer than `maxResponseBytes` fails its attempt with `.responseTooLarge`.
    static func make(caFile: String?, maxResponseBytes: Int) throws(TransportError) -> any HTTPTransport {
        guard let caFile else { return URLSessionTransport(maxResponseBytes: maxResponseBytes) }
        return try CurlTransport(caFile: caFile, maxResponseBytes: maxResponseBytes)
    }
}
