import ResilientClient

/// The transport for `https://` targets (loadgen's own event loop speaks plain HTTP only): URLSession
/// (libcurl on Linux) trusting the system's certificate authorities, or, with a CA file, libcurl's easy
/// interface trusting exactly that file's authorities (URLSession cannot be told to on Linux; see
/// ``CurlTransport``).
enum SecureTransports {
    /// A transport for `https://` URLs; `caFile` (a PEM file) replaces the system's authorities.
    static func make(caFile: String?) throws(TransportError) -> any HTTPTransport {
        guard let caFile else { return URLSessionTransport() }
        return try CurlTransport(caFile: caFile)
    }
}
