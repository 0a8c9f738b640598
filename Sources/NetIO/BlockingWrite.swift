import Glibc

/// Writes to a blocking descriptor (standard output, standard error, a log file).
public enum BlockingWrite {
    /// Writes all of `bytes` to `fd`, retrying on EINTR. Returns false when the descriptor failed before all
    /// was written (EPIPE: the reader went away; EBADF; a full disk); the rest is then dropped.
    @discardableResult
    public static func all(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }
}
