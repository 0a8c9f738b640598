import Foundation
import Synchronization

/// Where the endpoint's log lines go: the request log, worker lifecycle and the model's own output.
///
/// Each line gets an ISO 8601 UTC timestamp. Lines are written whole with one `write(2)`, so lines from
/// several threads never interleave.
public final class EndpointLog: Sendable {
    private let fd: Int32
    private let enabled: Bool

    /// A log writing to a file descriptor (standard error by default). `enabled: false` drops every line.
    public init(fileDescriptor: Int32 = 2, enabled: Bool = true) {
        self.fd = fileDescriptor
        self.enabled = enabled
    }

    /// Writes one line, prefixed with a timestamp.
    public func log(_ message: String) {
        guard enabled else { return }
        var line = Self.timestamp()
        line += " "
        line += message
        if !line.hasSuffix("\n") { line += "\n" }
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    /// `2026-11-25T22:40:01.123Z`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        let millis = Int(ts.tv_nsec / 1_000_000)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
