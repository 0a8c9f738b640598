import Foundation
import Glibc
import Synchronization

/// A deliberately broken HTTP server on 127.0.0.1 for client tests, on blocking raw sockets (one thread per
/// connection; tests open few). For each request it reads (a head, and a `Content-Length` body), it asks
/// `behaviour` with the request's 0-based number what to do.
public final class HostileServer: @unchecked Sendable {
    /// What the server does with one request.
    public enum Behaviour: Sendable, CaseIterable, CustomStringConvertible {
        /// Answers `200 {}`, keep-alive.
        case ok
        /// Closes the connection with an RST (SO_LINGER 0) instead of answering.
        case reset
        /// Sends the head and part of the body, then sends nothing more (until `stop()`).
        case stallMidResponse
        /// Sends bytes that are not HTTP, then closes.
        case garbage
        /// Sends the head and half the declared body, then closes (FIN).
        case halfResponse
        /// Streams a chunked body that never ends, until the client closes (or 1 GiB, or `stop()`).
        case endlessBody

        public var description: String {
            switch self {
            case .ok: return "ok"
            case .reset: return "reset"
            case .stallMidResponse: return "stall mid-response"
            case .garbage: return "garbage"
            case .halfResponse: return "half response"
            case .endlessBody: return "endless body"
            }
        }
    }

    /// The bound port.
    public let port: Int
    private let listener: Int32
    private let behaviour: @Sendable (Int) -> Behaviour
    private let stopped = Atomic<Bool>(false)
    private let requestCount = Atomic<Int>(0)
    private let largestBodySent = Atomic<Int>(0)
    private let open = Mutex<Set<Int32>>([])
    private let threads = DispatchGroup()

    /// Starts listening; `behaviour` is called with each request's number (from 0, across connections).
    public init(behaviour: @escaping @Sendable (Int) -> Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostileServerError("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw HostileServerError("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        threads.enter()
        Thread { [self] in
            acceptLoop()
            threads.leave()
        }.start()
    }

    /// Requests read so far.
    public var requests: Int { requestCount.load(ordering: .acquiring) }

    /// The most body bytes an endless response got into the kernel before its client stopped reading.
    public var largestEndlessBodySent: Int { largestBodySent.load(ordering: .acquiring) }

    /// Stops accepting, wakes and closes every connection, and waits for the threads to end.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
        threads.wait()
        close(listener)
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            if stopped.load(ordering: .acquiring) {
                close(client)
                return
            }
            open.withLock { _ = $0.insert(client) }
            threads.enter()
            Thread { [self] in
                serve(client)
                open.withLock { _ = $0.remove(client) }
                threads.leave()
            }.start()
        }
    }

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        defer { close(fd) }
        while !stopped.load(ordering: .acquiring) {
            guard readRequest(fd, &buffer) else { return }
            let number = requestCount.add(1, ordering: .acquiringAndReleasing).oldValue
            switch behaviour(number) {
            case .ok:
                guard send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}") else {
                    return
                }
            case .reset:
                var zero = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &zero, socklen_t(MemoryLayout<linger>.size))
                return
            case .stallMidResponse:
                _ = send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sta")
                // Hold the connection, sending nothing, until the client closes it or the server stops.
                var byte: UInt8 = 0
                while !stopped.load(ordering: .acquiring), recv(fd, &byte, 1, 0) > 0 {}
                return
            case .garbage:
                _ = send(fd, "\u{0}\u{7}SSH-2.0-not-http \u{1b}[31m\r\n\r\n")
                return
            case .halfResponse:
                _ = send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"half\": ")
                shutdown(fd, Int32(SHUT_WR))
                return
            case .endlessBody:
                guard send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n") else {
                    return
                }
                let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x20, count: 0x10000) + Array("\r\n".utf8)
                var sent = 0
                while !stopped.load(ordering: .acquiring), sent < 1 << 30, send(fd, chunk) { sent += 0x10000 }
                _ = largestBodySent.max(sent, ordering: .acquiringAndReleasing)
                return
            }
        }
    }

    /// Reads one request head (and its Content-Length body) from `fd`, keeping what follows in `buffer`.
    /// False at EOF, on an error, or when the server stops.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        let end = Array("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            if let headEnd = firstRange(of: end, in: buffer) {
                let head = String(decoding: buffer[..<headEnd], as: UTF8.self).lowercased()
                var bodyLength = 0
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    bodyLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
                let total = headEnd + end.count + bodyLength
                if buffer.count >= total {
                    buffer.removeSubrange(0..<total)
                    return true
                }
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || stopped.load(ordering: .acquiring) { return false }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    private func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }

    private func send(_ fd: Int32, _ text: String) -> Bool { send(fd, Array(text.utf8)) }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

/// Why a `HostileServer` could not start.
public struct HostileServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
