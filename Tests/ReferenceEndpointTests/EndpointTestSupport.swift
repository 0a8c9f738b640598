import EndpointSpec
import Foundation
import Glibc
import HTTP1
import Synchronization
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Shared pieces of the end-to-end tests: example folders, a log captured in a file, a running endpoint and a
/// blocking raw-socket HTTP client (so that the tests control every byte sent).
enum E2E {
    /// Seconds any single socket read or write may block (far above any expected latency; hitting it fails).
    static let ioTimeoutSeconds = 30

    static let echoRoutes = [
        RouteSpec(path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "text", type: .str)])
    ]

    static let trivialRoutes = [
        RouteSpec(
            path: "/predict", file: "predict", function: "predict", positional: true,
            body: [BodyParam(name: "x", type: .int)])
    ]

    /// A test configuration: port 0, one worker, one loop thread, a generous start.
    static func configuration(
        _ example: String, _ routes: [RouteSpec], _ adjust: (inout EndpointConfiguration) -> Void = { _ in }
    ) -> EndpointConfiguration {
        var config = EndpointConfiguration(modelDirectory: Repository.example(example), routes: routes)
        config.port = 0
        config.workers = 1
        config.eventLoopThreads = 1
        adjust(&config)
        return config
    }
}

/// The end-to-end tests' name for the shared captured log.
typealias EndpointLogFile = CapturedLog

/// A started `ReferenceEndpointServer` with its log captured; `stop()` (or deinit) shuts it down.
final class RunningEndpoint: Sendable {
    let server: ReferenceEndpointServer
    let logFile: EndpointLogFile

    init(_ configuration: EndpointConfiguration) throws {
        logFile = EndpointLogFile()
        server = ReferenceEndpointServer(configuration: configuration, log: logFile.log)
        try server.start()
    }

    var port: Int { server.port }
    var stats: EndpointStats { server.stats }

    func connect() throws -> WireClient { try WireClient(port: port) }

    /// One request on a fresh connection.
    func send(
        _ method: String, _ target: String, json: String? = nil, headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        let client = try connect()
        return try client.exchange(method, target, json: json, headers: headers)
    }

    func stop() { server.shutdown() }

    deinit { server.shutdown() }
}

/// Why a raw-socket exchange failed.
struct WireError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A blocking HTTP/1.1 client socket on 127.0.0.1. Requests are bytes the test writes; responses are decoded
/// with `HTTPResponseDecoder`. Every read and write is bounded by `E2E.ioTimeoutSeconds`.
final class WireClient {
    private(set) var fd: Int32
    let port: Int
    private var decoder = HTTPResponseDecoder()
    private(set) var sawEOF = false

    init(port: Int) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WireError("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: E2E.ioTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let socketFD = fd
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            fd = -1
            throw WireError("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    var host: String { "127.0.0.1:\(port)" }

    /// The bytes of one request: `Host`, then `headers`, then `Content-Type: application/json` and
    /// `Content-Length` when `json` is given.
    func request(
        _ method: String, _ target: String, json: String? = nil, headers: [(String, String)] = []
    ) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var body: [UInt8] = []
        if let json {
            body = Array(json.utf8)
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Writes all of `bytes`; throws if the socket refuses them.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw WireError("send failed after \(offset) of \(bytes.count) bytes: errno \(errno)") }
            offset += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads the next response to a `method` request (throws on EOF, timeout or a parse error).
    func readResponse(method: String = "POST") throws -> HTTPResponse {
        guard let response = try readResponseOrEOF(method: method) else {
            throw WireError("connection closed before a response to \(method)")
        }
        return response
    }

    /// The next response, or nil if the server closed the connection first.
    func readResponseOrEOF(method: String = "POST") throws -> HTTPResponse? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for _ in 0..<100_000 {
            if let response = try decoder.next(requestMethod: method) { return response }
            if sawEOF { return try decoder.finishOnEOF() }
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw WireError("recv failed (errno \(errno)); a timeout means no response came") }
            if n == 0 {
                sawEOF = true
                continue
            }
            decoder.append(Array(buffer[0..<n]))
        }
        throw WireError("no complete response after 100000 reads")
    }

    /// Sends one request and reads its response.
    func exchange(
        _ method: String, _ target: String, json: String? = nil, headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        try send(request(method, target, json: json, headers: headers))
        return try readResponse(method: method)
    }

    /// True when the server closed the connection (reads until EOF; bounded by the receive timeout).
    func waitForEOF() -> Bool {
        if sawEOF { return true }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        for _ in 0..<10_000 {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n == 0 {
                sawEOF = true
                return true
            }
            if n < 0 { return false }
        }
        return false
    }

    /// Reads byte by byte up to and including the first empty line (an interim response's head), bypassing the
    /// response decoder. Only call it when no decoded response is pending.
    func readRawHead() throws -> String {
        var received: [UInt8] = []
        var byte: UInt8 = 0
        for _ in 0..<65_536 {
            let n = recv(fd, &byte, 1, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw WireError("connection closed or timed out after \(received.count) bytes") }
            received.append(byte)
            if received.count >= 4 && received.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Half-closes the sending side.
    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }
}

extension HTTPResponse {
    /// The body as UTF-8 text.
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The value of a header (case-insensitive).
    func header(_ name: String) -> String? { head.headers[name] }

    /// The status.
    var status: Int { head.status }

    /// The body parsed as JSON (throws if it is not JSON).
    func json() throws -> JSONValue { try JSON.parse(body) }
}

/// Parses JSON text written in a test (throws on a typo).
func jsonValue(_ text: String) throws -> JSONValue { try JSON.parse(Array(text.utf8)) }

/// A thread-safe list for recording events from other threads.
final class E2ERecorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var values: [T] { items.withLock { $0 } }
}
