import Foundation
import ResilientClient

/// How an `https://` run sends its attempts: through an ``HTTPTransport`` (URLSession, or libcurl with a CA
/// file; see ``SecureTransports``), not on the event loop's own connections, which speak plain HTTP only.
/// Each attempt is one `send` on a task; the answer goes back to the loop that started it, which handles it
/// exactly like an answer from its own connections (retries, gate, accounting, latency from the intended
/// start). Both transports open a connection (and a TLS handshake) per attempt in the worst case: slower
/// than the plain-HTTP path, and the figures include that cost.
struct SecureSender: Sendable {
    /// The transport every attempt, probe and health check goes through.
    let transport: any HTTPTransport
    /// `https://host:port`, before a request's target.
    let origin: String

    /// A sender for `target` trusting `caFile` (`nil`: the system's authorities) that reads at most
    /// `maxResponseBytes` of a response body (`client.maxResponse`).
    init(target: TargetURL, caFile: String?, maxResponseBytes: Int) throws(TransportError) {
        transport = try SecureTransports.make(caFile: caFile, maxResponseBytes: maxResponseBytes)
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        origin = "https://\(host):\(target.port)"
    }

    /// The transport request for a prepared request: its encoded HTTP/1.1 bytes read back (method, target,
    /// headers, body), without the framing headers the transport writes itself (`Host`, `Content-Length`,
    /// `Connection`, `Transfer-Encoding`). `nil` when the bytes are not a request (never, for the engine's own).
    func request(_ prepared: PreparedRequest) -> TransportRequest? {
        let bytes = prepared.encoded
        guard let end = Self.headEnd(bytes) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2, let url = URL(string: origin + requestLine[1]) else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            switch name.lowercased() {
            case "host", "content-length", "connection", "transfer-encoding": continue
            default: break
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name: name, value: value))
        }
        return TransportRequest(
            method: String(requestLine[0]), url: url, headers: headers, body: Array(bytes[(end + 4)...]))
    }

    /// `GET origin + path` (health checks and probes).
    func get(_ path: String) -> TransportRequest? {
        URL(string: origin + path).map { TransportRequest(method: "GET", url: $0) }
    }

    /// The offset of the `\r\n\r\n` that ends the head.
    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// The stderr notice `loadgen run` and `capacity` print once for an `https://` target.
    static func notice(for target: TargetURL, caFile: String?) -> String {
        let transport =
            caFile == nil
            ? "URLSession (which may open a connection and TLS handshake per attempt)"
            : "libcurl (client.tls.caFile), a new connection and TLS handshake per attempt"
        return "note: \(target) is https: calls go through \(transport), not the event loop's own keep-alive "
            + "connections; expect a lower ceiling than plain http\n"
    }
}

extension TransportFailure {
    /// A TLS failure (handshake, untrusted certificate).
    static let tlsKind = ErrorKind(rawValue: "tls")

    /// Maps a transport's error. `expired`: the run's drain period ended while the attempt was in flight (its
    /// cancellation is then reported as a timeout).
    init(_ error: TransportError, expired: Bool) {
        switch error.kind {
        case .connectionRefused:
            self.init(kind: .refused, outcome: .transport(.connectionRefused))
        case .connectTimeout:
            self.init(kind: .timeout, outcome: .transport(.connectTimeout))
        case .unresolvedHost:
            self.init(kind: .other, outcome: .transport(.unresolvedHost))
        case .shutdown:
            self.init(kind: .other, outcome: .transport(.shutdown))
        case .responseTimeout:
            self.init(kind: .timeout, outcome: .transport(.responseTimeout))
        case .connectionClosed(let sent):
            self.init(kind: .reset, outcome: .transport(.connectionClosed(requestSent: sent)))
        case .protocolError:
            self.init(kind: .protocolError, outcome: .transport(.protocolError))
        case .responseTooLarge:
            // Longer than `client.maxResponse`, as on the plain-HTTP path.
            self.init(kind: .tooLarge, outcome: .transport(.responseTooLarge))
        case .cancelled:
            self.init(kind: expired ? .timeout : .other, outcome: .transport(expired ? .responseTimeout : .cancelled))
        case .other:
            self.init(kind: Self.isTLS(error) ? Self.tlsKind : .other, outcome: .transport(.other))
        }
    }

    /// Whether the error comes from TLS (libcurl's are marked `TLS:`; URLSession says SSL or certificate).
    static func isTLS(_ error: TransportError) -> Bool {
        let message = error.message
        return message.hasPrefix("TLS:") || message.contains("SSL") || message.contains("certificate")
    }
}
