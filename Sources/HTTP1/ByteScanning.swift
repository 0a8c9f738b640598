// Byte-level helpers shared by the request and response decoders. Everything here works on
// UnsafeBufferPointer<UInt8> so that scanning never allocates; header Strings are created only on access.

let cr: UInt8 = 13
let lf: UInt8 = 10
let sp: UInt8 = 32
let htab: UInt8 = 9

/// RFC 9110 `tchar` membership for every byte value (character "1" = token byte), 32 bytes per row of 8.
private let tokenTable: StaticString = """
00000000000000000000000000000000\
01011111001101101111111111000000\
01111111111111111111111111100011\
11111111111111111111111111101010\
00000000000000000000000000000000\
00000000000000000000000000000000\
00000000000000000000000000000000\
00000000000000000000000000000000
"""

/// RFC 9110 `tchar`.
@inline(__always)
func isTokenByte(_ b: UInt8) -> Bool {
    tokenTable.utf8Start[Int(b)] == UInt8(ascii: "1")
}

/// RFC 9110 field-value bytes: HTAB, SP, VCHAR and obs-text (no other controls, no DEL).
@inline(__always)
func isFieldValueByte(_ b: UInt8) -> Bool {
    b == htab || (b >= 0x20 && b != 0x7F)
}

@inline(__always)
func isOWS(_ b: UInt8) -> Bool { b == sp || b == htab }

/// Trims SP/HTAB at both ends of p[start..<end].
@inline(__always)
func trimOWS(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (Int, Int) {
    var s = start
    var e = end
    while s < e && isOWS(p[s]) { s += 1 }
    while e > s && isOWS(p[e - 1]) { e -= 1 }
    return (s, e)
}

/// Whether p[start..<end] equals `lowercase` ignoring ASCII case (`lowercase` must be lowercase ASCII).
@inline(__always)
func bytesEqualLowercased(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ lowercase: StaticString)
    -> Bool
{
    let n = lowercase.utf8CodeUnitCount
    guard end - start == n else { return false }
    let l = lowercase.utf8Start
    var i = 0
    while i < n {
        if asciiLower(p[start + i]) != l[i] { return false }
        i += 1
    }
    return true
}

@inline(__always)
func makeString(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
    String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
}

/// A bounded, printable rendering of bytes for error messages.
func quoted(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
    let limit = 64
    var scalars = String.UnicodeScalarView()
    var i = start
    while i < end && i - start < limit {
        let b = p[i]
        if b >= 0x20 && b < 0x7F { scalars.append(Unicode.Scalar(b)) } else { scalars.append(contentsOf: "\\x".unicodeScalars)
            let hex = String(b, radix: 16)
            if hex.count < 2 { scalars.append("0") }
            scalars.append(contentsOf: hex.unicodeScalars)
        }
        i += 1
    }
    var s = "\"" + String(scalars) + "\""
    if end - start > limit { s += "…" }
    return s
}

/// What the framing-relevant header fields said.
struct FieldSummary {
    var contentLength: Int? = nil
    var contentLengthSeen = false
    var transferEncodingSeen = false
    var codingCount = 0
    var chunkedCount = 0
    var lastCodingIsChunked = false
    var unknownCoding: String? = nil
    var connectionClose = false
    var connectionKeepAlive = false
    var hostCount = 0
    var expectContinue = false
}

/// Parses field lines from `start` up to (excluding) the empty line that ends `p`.
/// With `store` the fields are appended to `headers`; with `interpret` the framing fields go to `summary`.
///
/// `p` must end with LF (the end of the empty line), which lets every loop run without end checks: an LF is
/// neither a token byte nor a value byte, so each scan stops at the latest on it.
func parseFieldLines(
    _ p: UnsafeBufferPointer<UInt8>, from start: Int, maxCount: Int, store: Bool, interpret: Bool,
    headers: inout HTTPHeaders, summary: inout FieldSummary
) throws(HTTPParseError) {
    let total = p.count
    guard total > start, p[total - 1] == lf else { throw .badRequest("internal error: unterminated section") }
    var lineStart = start
    var count = 0
    while lineStart < total {
        var i = lineStart
        while isTokenByte(p[i]) { i += 1 }
        let colon = i
        let stop = p[colon]
        if stop != UInt8(ascii: ":") || colon == lineStart {
            if colon == lineStart {
                if stop == lf || (stop == cr && p[colon + 1] == lf) { return }  // the empty line
                if isOWS(stop) {
                    throw .badRequest(
                        lineStart == start ? "whitespace before the first header field" : "obsolete line folding in header field")
                }
                if stop == UInt8(ascii: ":") { throw .badRequest("empty header field name") }
            }
            let lineEnd = endOfLine(p, lineStart)
            if isOWS(stop) {
                throw .badRequest("whitespace between header field name and colon in \(quoted(p, lineStart, lineEnd))")
            }
            if stop == lf || stop == cr {
                throw .badRequest("header line without a colon: \(quoted(p, lineStart, lineEnd))")
            }
            throw .badRequest("invalid character in header field name \(quoted(p, lineStart, lineEnd))")
        }
        i = colon + 1
        while isOWS(p[i]) { i += 1 }
        let valueStart = i
        var valueEnd = i
        while true {
            let b = p[i]
            if b > sp && b != 0x7F {
                i += 1
                valueEnd = i
            } else if b == sp || b == htab {
                i += 1
            } else if b == lf {
                break
            } else if b == cr && p[i + 1] == lf {
                i += 1
                break
            } else {
                throw .badRequest("invalid character in value of header field \(quoted(p, lineStart, colon))")
            }
        }
        count += 1
        if count > maxCount {
            throw HTTPParseError(status: 431, reason: "too many header fields (more than \(maxCount))")
        }
        if interpret {
            try interpretField(p, lineStart, colon, valueStart, valueEnd, &summary)
        }
        if store {
            headers.appendRaw(nameStart: lineStart, nameEnd: colon, valueStart: valueStart, valueEnd: valueEnd)
        }
        lineStart = i + 1
    }
}

/// The end of the line starting at `start` (excluding CR LF or LF); used for error messages only.
func endOfLine(_ p: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
    var i = start
    while i < p.count && p[i] != lf { i += 1 }
    if i > start && p[i - 1] == cr { i -= 1 }
    return i
}

/// Calls `body` for each element of the comma-separated list in p[start..<end], OWS-trimmed, empty ones skipped.
@inline(__always)
func forEachListElement(
    _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
    _ body: (Int, Int) throws(HTTPParseError) -> Void
) throws(HTTPParseError) {
    var s = start
    while s < end {
        var e = s
        while e < end && p[e] != UInt8(ascii: ",") { e += 1 }
        let (ts, te) = trimOWS(p, s, e)
        if te > ts { try body(ts, te) }
        s = e + 1
    }
}

func interpretField(
    _ p: UnsafeBufferPointer<UInt8>, _ nameStart: Int, _ nameEnd: Int, _ valueStart: Int, _ valueEnd: Int,
    _ summary: inout FieldSummary
) throws(HTTPParseError) {
    switch nameEnd - nameStart {
    case 4:
        if bytesEqualLowercased(p, nameStart, nameEnd, "host") { summary.hostCount += 1 }
    case 6:
        if bytesEqualLowercased(p, nameStart, nameEnd, "expect") {
            // Other expectations are ignored (RFC 9110 §10.1.1 allows answering 417, but does not require it).
            if bytesEqualLowercased(p, valueStart, valueEnd, "100-continue") { summary.expectContinue = true }
        }
    case 10:
        if bytesEqualLowercased(p, nameStart, nameEnd, "connection") {
            try forEachListElement(p, valueStart, valueEnd) { s, e in
                if bytesEqualLowercased(p, s, e, "close") {
                    summary.connectionClose = true
                } else if bytesEqualLowercased(p, s, e, "keep-alive") {
                    summary.connectionKeepAlive = true
                }
            }
        }
    case 14:
        if bytesEqualLowercased(p, nameStart, nameEnd, "content-length") {
            try interpretContentLength(p, valueStart, valueEnd, &summary)
        }
    case 17:
        if bytesEqualLowercased(p, nameStart, nameEnd, "transfer-encoding") {
            try interpretTransferEncoding(p, valueStart, valueEnd, &summary)
        }
    default:
        break
    }
}

/// Content-Length = 1*DIGIT; a list of identical values ("5, 5") and repeated identical fields are accepted
/// (RFC 9112 §6.3 item 5), anything else is an error.
func interpretContentLength(
    _ p: UnsafeBufferPointer<UInt8>, _ valueStart: Int, _ valueEnd: Int, _ summary: inout FieldSummary
) throws(HTTPParseError) {
    func invalid() -> HTTPParseError {
        .badRequest("invalid Content-Length value \(quoted(p, valueStart, valueEnd))")
    }
    var sawElement = false
    var s = valueStart
    while s <= valueEnd {
        var e = s
        while e < valueEnd && p[e] != UInt8(ascii: ",") { e += 1 }
        let (ts, te) = trimOWS(p, s, e)
        guard te > ts else { throw invalid() }
        var value = 0
        var i = ts
        while i < te {
            let digit = p[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw invalid() }
            // Saturate: anything above 10^17 is far over any body limit; keep it as Int.max.
            if value < 100_000_000_000_000_000 { value = value * 10 + Int(digit) } else { value = Int.max }
            i += 1
        }
        if let previous = summary.contentLength, previous != value {
            throw .badRequest("conflicting Content-Length values \(previous) and \(quoted(p, ts, te))")
        }
        summary.contentLength = value
        summary.contentLengthSeen = true
        sawElement = true
        s = e + 1
    }
    if !sawElement { throw invalid() }
}

func interpretTransferEncoding(
    _ p: UnsafeBufferPointer<UInt8>, _ valueStart: Int, _ valueEnd: Int, _ summary: inout FieldSummary
) throws(HTTPParseError) {
    summary.transferEncodingSeen = true
    var any = false
    try forEachListElement(p, valueStart, valueEnd) { (s: Int, e: Int) throws(HTTPParseError) in
        any = true
        var nameEnd = s
        while nameEnd < e && isTokenByte(p[nameEnd]) { nameEnd += 1 }
        guard nameEnd > s else {
            throw .badRequest("invalid Transfer-Encoding value \(quoted(p, valueStart, valueEnd))")
        }
        summary.codingCount += 1
        if bytesEqualLowercased(p, s, nameEnd, "chunked") {
            summary.chunkedCount += 1
            summary.lastCodingIsChunked = true
        } else {
            summary.lastCodingIsChunked = false
            if summary.unknownCoding == nil { summary.unknownCoding = makeString(p, s, nameEnd) }
        }
    }
    if !any { throw .badRequest("empty Transfer-Encoding header field") }
}

/// How the body of a message is delimited, and where the reader is inside it.
enum BodyState: Equatable {
    case fixed(remaining: Int)
    case chunkSize
    case chunkData(remaining: Int)
    case chunkDataEnd
    case trailers
    case untilClose
    case done
}

/// Received bytes with a read index; consumed bytes are dropped lazily (when everything was read, or when
/// the consumed prefix is large) so that pipelined input is never shifted byte by byte.
struct ByteQueue {
    var storage: [UInt8] = []
    var readIndex = 0
    /// Bytes after `readIndex` already searched for a line end / empty line (relative to `readIndex`).
    var scanned = 0
    /// Start of the line being scanned (relative to `readIndex`).
    var lineStart = 0

    var readable: Int { storage.count - readIndex }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        storage.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        compact()
        storage.append(contentsOf: bytes)
    }

    mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex == storage.count {
            storage.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= storage.count {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    mutating func consume(_ count: Int) {
        readIndex += count
        scanned = 0
        lineStart = 0
    }

    mutating func removeAll() {
        storage = []
        readIndex = 0
        scanned = 0
        lineStart = 0
    }

    /// Searches, from where the previous call stopped, for the empty line that ends a header (or trailer)
    /// section starting at `readIndex`. Returns the section length through that line's LF, or nil.
    mutating func findSectionEnd() -> Int? {
        let base = readIndex
        let end = storage.count
        var i = base + scanned
        var ls = base + lineStart
        let found: Int? = storage.withUnsafeBufferPointer { p in
            guard let raw = p.baseAddress else { return nil }
            while true {
                // Eight bytes at a time: the lowest byte equal to LF sets the lowest 0x80 bit of `hit`.
                while i + 8 <= end {
                    let word = UInt64(littleEndian: UnsafeRawPointer(raw + i).loadUnaligned(as: UInt64.self))
                    let x = word ^ 0x0A0A_0A0A_0A0A_0A0A
                    let hit = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
                    if hit != 0 {
                        i += hit.trailingZeroBitCount >> 3
                        break
                    }
                    i += 8
                }
                while i < end && p[i] != lf { i += 1 }
                if i == end { return nil }
                // p[i] is an LF ending the line that started at ls.
                if i == ls || (i == ls + 1 && p[ls] == cr) { return i + 1 - base }
                i += 1
                ls = i
            }
        }
        scanned = i - base
        lineStart = ls - base
        return found
    }

    /// Searches, from where the previous call stopped, for the LF ending the line at `readIndex`.
    /// Returns the line length through the LF, or nil.
    mutating func findLineEnd() -> Int? {
        let base = readIndex
        let end = storage.count
        var i = base + scanned
        let found: Int? = storage.withUnsafeBufferPointer { p in
            while i < end {
                if p[i] == lf { return i + 1 - base }
                i += 1
            }
            return nil
        }
        scanned = i - base
        return found
    }

    /// Copies up to `count` readable bytes into `body`, returning how many were copied.
    @inline(__always)
    mutating func move(upTo count: Int, into body: inout [UInt8]) -> Int {
        let n = min(count, readable)
        if n > 0 {
            body.append(contentsOf: storage[readIndex..<(readIndex + n)])
            readIndex += n
        }
        return n
    }

    /// Advances through the body. Returns true when it is complete (state becomes `.done`), false when more
    /// bytes are needed.
    mutating func readBody(state: inout BodyState, body: inout [UInt8], limits: HTTPLimits)
        throws(HTTPParseError) -> Bool
    {
        while true {
            switch state {
            case .done:
                return true
            case .fixed(let remaining):
                let left = remaining - move(upTo: remaining, into: &body)
                if left == 0 {
                    state = .done
                    return true
                }
                state = .fixed(remaining: left)
                return false
            case .untilClose:
                _ = move(upTo: readable, into: &body)
                if body.count > limits.maxBodyBytes {
                    throw HTTPParseError(
                        status: 413, reason: "body larger than the limit of \(limits.maxBodyBytes) bytes")
                }
                return false
            case .chunkSize:
                guard let length = findLineEnd() else {
                    if scanned > limits.maxHeaderBytes { throw .badRequest("chunk size line too long") }
                    return false
                }
                let size = try storage.withUnsafeBufferPointer { (p) throws(HTTPParseError) -> Int in
                    try parseChunkSizeLine(p, readIndex, readIndex + length)
                }
                consume(length)
                if size == 0 {
                    state = .trailers
                } else {
                    if size > limits.maxBodyBytes - body.count {
                        throw HTTPParseError(
                            status: 413, reason: "chunked body larger than the limit of \(limits.maxBodyBytes) bytes")
                    }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let left = remaining - move(upTo: remaining, into: &body)
                if left > 0 {
                    state = .chunkData(remaining: left)
                    return false
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard readable > 0 else { return false }
                let b = storage[readIndex]
                if b == lf {
                    consume(1)
                } else if b == cr {
                    guard readable > 1 else { return false }
                    guard storage[readIndex + 1] == lf else { throw .badRequest("missing CRLF after chunk data") }
                    consume(2)
                } else {
                    throw .badRequest("missing CRLF after chunk data")
                }
                state = .chunkSize
            case .trailers:
                guard let length = findSectionEnd() else {
                    if scanned > limits.maxHeaderBytes {
                        throw HTTPParseError(
                            status: 431, reason: "trailer section larger than \(limits.maxHeaderBytes) bytes")
                    }
                    return false
                }
                if length > limits.maxHeaderBytes {
                    throw HTTPParseError(
                        status: 431, reason: "trailer section larger than \(limits.maxHeaderBytes) bytes")
                }
                try storage.withUnsafeBufferPointer { (p) throws(HTTPParseError) -> Void in
                    var ignoredHeaders = HTTPHeaders()
                    var ignoredSummary = FieldSummary()
                    try parseFieldLines(
                        UnsafeBufferPointer(rebasing: p[readIndex..<(readIndex + length)]), from: 0,
                        maxCount: limits.maxHeaderCount, store: false, interpret: false,
                        headers: &ignoredHeaders, summary: &ignoredSummary)
                }
                consume(length)
                state = .done
                return true
            }
        }
    }
}

/// chunk-size [ BWS ";" chunk-ext ] CRLF. Extensions are checked for control characters and ignored.
func parseChunkSizeLine(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ lfEnd: Int) throws(HTTPParseError) -> Int {
    var end = lfEnd - 1  // at the LF
    if end > start && p[end - 1] == cr { end -= 1 }
    var size = 0
    var i = start
    while i < end {
        let b = p[i]
        let digit: Int
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(b - UInt8(ascii: "A")) + 10
        default: digit = -1
        }
        if digit < 0 { break }
        if size > (Int.max >> 5) {
            throw HTTPParseError(status: 413, reason: "chunk size \(quoted(p, start, end)) too large")
        }
        size = size << 4 | digit
        i += 1
    }
    if i == start { throw .badRequest("invalid chunk size line \(quoted(p, start, end))") }
    while i < end && isOWS(p[i]) { i += 1 }
    if i < end {
        guard p[i] == UInt8(ascii: ";") else { throw .badRequest("invalid chunk size line \(quoted(p, start, end))") }
        while i < end {
            guard isFieldValueByte(p[i]) else {
                throw .badRequest("invalid character in chunk extension \(quoted(p, start, end))")
            }
            i += 1
        }
    }
    return size
}
