import CLinux
import Dispatch
import Foundation
import Glibc
import ResilientClient

/// An ``HTTPTransport`` on libcurl's easy interface, reached with `dlopen`/`dlsym` (the libcurl that
/// FoundationNetworking itself runs on, so nothing new is linked), for one thing URLSession cannot do
/// on Linux: trust a given certificate authority. FoundationNetworking sets libcurl's CA bundle to the
/// system's and offers no setting, no environment variable (outside Android) and no server-trust
/// challenge to change it; libcurl reads neither `SSL_CERT_FILE` nor `CURL_CA_BUNDLE`. Here
/// `CURLOPT_CAINFO` is the given PEM file and `CURLOPT_CAPATH` is cleared, so exactly its authorities
/// are trusted.
///
/// Each attempt is one blocking `curl_easy_perform` on a Dispatch worker thread (a fresh handle, so a
/// fresh connection and TLS handshake per attempt): simple and correct, not fast. A response body is not read
/// past `maxResponseBytes`: the write callback refuses the byte that would pass it, libcurl stops the transfer,
/// and the attempt fails with `.responseTooLarge` (loadgen's `too_large`).
final class CurlTransport: HTTPTransport {
    private let caFile: String
    /// The longest response body read, in bytes.
    let maxResponseBytes: Int
    private let library: Library

    /// The libcurl functions used, found once.
    private struct Library: @unchecked Sendable {
        let initialize: @convention(c) () -> UnsafeMutableRawPointer?
        let cleanup: @convention(c) (UnsafeMutableRawPointer?) -> Void
        let perform: @convention(c) (UnsafeMutableRawPointer?) -> Int32
        let setopt: UnsafeMutableRawPointer
        let getinfo: UnsafeMutableRawPointer
        let slistAppend: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> UnsafeMutableRawPointer?
        let slistFree: @convention(c) (UnsafeMutableRawPointer?) -> Void

        static let shared: Result<Library, TransportError> = {
            guard let handle = dlopen("libcurl.so.4", RTLD_NOW) ?? dlopen("libcurl.so", RTLD_NOW) else {
                return .failure(TransportError(.other, "libcurl (libcurl.so.4) cannot be loaded for --ca-file"))
            }
            func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
            guard let initialize = symbol("curl_easy_init"), let cleanup = symbol("curl_easy_cleanup"),
                let perform = symbol("curl_easy_perform"), let setopt = symbol("curl_easy_setopt"),
                let getinfo = symbol("curl_easy_getinfo"), let append = symbol("curl_slist_append"),
                let free = symbol("curl_slist_free_all")
            else { return .failure(TransportError(.other, "libcurl lacks the easy interface")) }
            return .success(
                Library(
                    initialize: unsafeBitCast(initialize, to: (@convention(c) () -> UnsafeMutableRawPointer?).self),
                    cleanup: unsafeBitCast(cleanup, to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self),
                    perform: unsafeBitCast(perform, to: (@convention(c) (UnsafeMutableRawPointer?) -> Int32).self),
                    setopt: setopt, getinfo: getinfo,
                    slistAppend: unsafeBitCast(
                        append,
                        to: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> UnsafeMutableRawPointer?)
                            .self),
                    slistFree: unsafeBitCast(free, to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)))
        }()
    }

    // curl.h's numbers (stable ABI).
    private enum Option {
        static let writeData: Int32 = 10001, url: Int32 = 10002, errorBuffer: Int32 = 10010
        static let httpHeader: Int32 = 10023, headerData: Int32 = 10029, customRequest: Int32 = 10036
        static let caInfo: Int32 = 10065, caPath: Int32 = 10097, copyPostFields: Int32 = 10165
        static let writeFunction: Int32 = 20011, headerFunction: Int32 = 20079
        static let postFieldSize: Int32 = 60, noSignal: Int32 = 99, timeoutMilliseconds: Int32 = 155
    }
    private static let responseCodeInfo: Int32 = 0x20_0002
    private static let requestSizeInfo: Int32 = 0x20_000C

    /// - Parameters:
    ///   - caFile: the PEM file of trusted certificate authorities.
    ///   - maxResponseBytes: the longest response body read (`client.maxResponse`, `--max-response`).
    init(caFile: String, maxResponseBytes: Int) throws(TransportError) {
        self.caFile = caFile
        self.maxResponseBytes = max(0, maxResponseBytes)
        self.library = try Library.shared.get()
    }

    /// libcurl stops the transfer at the timeout itself.
    var enforcesTimeout: Bool { true }

    func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
        let library = self.library
        let caFile = self.caFile
        let limit = maxResponseBytes
        let result: Result<TransportResponse, TransportError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: Self.perform(request, timeout: timeout, caFile: caFile, limit: limit, library: library))
            }
        }
        return try result.get()
    }

    /// Bytes received by the callbacks.
    private final class Sink {
        var body: [UInt8] = []
        var headerLines: [String] = []
        /// The longest body taken.
        let limit: Int
        /// Set when the body passed `limit`: the transfer was stopped there.
        var tooLarge = false

        init(limit: Int) { self.limit = limit }
    }

    private static func perform(
        _ request: TransportRequest, timeout: Duration?, caFile: String, limit: Int, library: Library
    ) -> Result<TransportResponse, TransportError> {
        guard let easy = library.initialize() else { return .failure(TransportError(.other, "curl_easy_init failed")) }
        defer { library.cleanup(easy) }
        let sink = Sink(limit: limit)
        var errorBuffer = [CChar](repeating: 0, count: 256)
        var headers: UnsafeMutableRawPointer?
        defer { library.slistFree(headers) }
        func set(_ option: Int32, _ value: String?) {
            if let value {
                _ = value.withCString { clinux_curl_setopt_pointer(library.setopt, easy, option, $0) }
            } else {
                _ = clinux_curl_setopt_pointer(library.setopt, easy, option, nil)
            }
        }
        func set(_ option: Int32, _ value: Int) { _ = clinux_curl_setopt_long(library.setopt, easy, option, value) }

        set(Option.url, request.url.absoluteString)
        set(Option.customRequest, request.method)
        set(Option.caInfo, caFile)
        set(Option.caPath, nil)
        set(Option.noSignal, 1)
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            set(Option.timeoutMilliseconds, max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)))
        }
        for field in request.headers + [(name: "Expect", value: "")] {
            headers = ("\(field.name): \(field.value)").withCString { library.slistAppend(headers, $0) }
        }
        _ = clinux_curl_setopt_pointer(library.setopt, easy, Option.httpHeader, headers)
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            set(Option.postFieldSize, request.body.count)
            _ = request.body.withUnsafeBufferPointer {
                clinux_curl_setopt_pointer(library.setopt, easy, Option.copyPostFields, $0.baseAddress ?? UnsafePointer(bitPattern: 1))
            }
        }
        let writer: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
            data, size, count, context in
            guard let data, let context else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
            if size * count > sink.limit - sink.body.count {
                // Fewer bytes taken than given: libcurl ends the transfer (CURLE_WRITE_ERROR).
                sink.tooLarge = true
                sink.body = []
                return 0
            }
            data.withMemoryRebound(to: UInt8.self, capacity: size * count) {
                sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size * count))
            }
            return size * count
        }
        let headerWriter: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
            data, size, count, context in
            guard let data, let context else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
            let line = data.withMemoryRebound(to: UInt8.self, capacity: size * count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: size * count), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") { sink.headerLines.removeAll() } else { sink.headerLines.append(line) }
            return size * count
        }
        let context = Unmanaged.passUnretained(sink).toOpaque()
        _ = clinux_curl_setopt_pointer(library.setopt, easy, Option.writeFunction, unsafeBitCast(writer, to: UnsafeRawPointer.self))
        _ = clinux_curl_setopt_pointer(library.setopt, easy, Option.writeData, context)
        _ = clinux_curl_setopt_pointer(
            library.setopt, easy, Option.headerFunction, unsafeBitCast(headerWriter, to: UnsafeRawPointer.self))
        _ = clinux_curl_setopt_pointer(library.setopt, easy, Option.headerData, context)

        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> Int32 in
            _ = clinux_curl_setopt_pointer(library.setopt, easy, Option.errorBuffer, buffer.baseAddress)
            return withExtendedLifetime(sink) { library.perform(easy) }
        }
        if sink.tooLarge { return .failure(.responseTooLarge(limit: limit)) }
        if code != 0 {
            let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress ?? UnsafePointer(bitPattern: 1)!) }
            var sent = 0
            _ = clinux_curl_getinfo_long(library.getinfo, easy, requestSizeInfo, &sent)
            return .failure(map(code: code, detail: detail, requestSent: sent > 0))
        }
        var status = 0
        _ = clinux_curl_getinfo_long(library.getinfo, easy, responseCodeInfo, &status)
        var fields: [(name: String, value: String)] = []
        for line in sink.headerLines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append(
                (name: String(line[..<colon]),
                 value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return .success(TransportResponse(status: status, headers: fields, body: sink.body))
    }

    /// A CURLcode as a ``TransportError`` kind (TLS failures are `.other`: not retried).
    static func map(code: Int32, detail: String, requestSent: Bool) -> TransportError {
        let message = detail.isEmpty ? "libcurl error \(code)" : detail
        switch code {
        case 6, 7: return TransportError(.connectionRefused, message)
        case 28: return TransportError(requestSent ? .responseTimeout : .connectTimeout, message)
        case 8: return TransportError(.protocolError, message)
        case 52, 55, 56: return TransportError(.connectionClosed(requestSent: requestSent), message)
        case 35, 51, 58, 59, 60, 77, 80, 83, 90, 91: return TransportError(.other, "TLS: " + message)
        default: return TransportError(.other, message)
        }
    }
}
