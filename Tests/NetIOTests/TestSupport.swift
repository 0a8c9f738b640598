import Glibc
import Synchronization
@testable import NetIO

/// Bounded wait used by every test (5 s is far above any expected latency; hitting it fails the test).
let testTimeout: UInt64 = 5_000_000_000

/// A thread-safe list for recording events from loop threads.
final class Recorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var values: [T] { items.withLock { $0 } }
}

/// A blocking client socket for talking to servers under test byte by byte.
final class RawClient {
    private(set) var fd: Int32

    init(port: Int, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawClientError.failed("socket") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw RawClientError.failed("connect errno \(errno)")
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads until `done(received)` is true, EOF, an error or the 5 s receive timeout.
    func read(until done: ([UInt8]) -> Bool) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done(received) {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        return received
    }

    /// Reads until the peer closes (or 5 s pass).
    func readToEOF() -> [UInt8] { read(until: { _ in false }) }

    /// Reads until `count` occurrences of `marker` were received.
    func read(occurrences count: Int, of marker: String) -> String {
        let bytes = read(until: { occurrences(of: marker, in: $0) >= count })
        return String(decoding: bytes, as: UTF8.self)
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with an RST.
    func reset() {
        var zero = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &zero, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
        fd = -1
    }
}

enum RawClientError: Error { case failed(String) }

/// Occurrences of `marker` in `bytes` (non-overlapping).
func occurrences(of marker: String, in bytes: [UInt8]) -> Int {
    let needle = Array(marker.utf8)
    guard !needle.isEmpty, bytes.count >= needle.count else { return 0 }
    var count = 0
    var index = 0
    while index <= bytes.count - needle.count {
        if bytes[index..<(index + needle.count)].elementsEqual(needle) {
            count += 1
            index += needle.count
        } else {
            index += 1
        }
    }
    return count
}
