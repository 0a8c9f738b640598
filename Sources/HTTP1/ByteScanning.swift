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

/// Whether p[start..<end] equals `lowercase` ignoring ASCII case. `lowercase` must be at least 4 bytes of
/// lowercase letters, digits and "-", and p[start..<end] validated field bytes (token or value bytes). Setting
/// bit 0x20 of every byte lowercases the letters and turns nothing else into such a byte but a control
/// character (CR into "-"), which validated bytes never are; so the bytes are compared 8 (or 4) at a time, the
/// last load overlapping the one before.
@inline(__always)
func bytesEqualLowercased(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ lowercase: StaticString)
    -> Bool
{
    let n = lowercase.utf8CodeUnitCount
    assert(n >= 4, "bytesEqualLowercased compares at least 4 bytes")
    guard end - start == n, let base = p.baseAddress else { return false }
    let a = UnsafeRawPointer(base + start)
    let l = UnsafeRawPointer(lowercase.utf8Start)
    if n < 8 {
        let fold: UInt32 = 0x2020_2020
        return (a.loadUnaligned(as: UInt32.self) | fold) == l.loadUnaligned(as: UInt32.self)
            && (a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) | fold)
                == l.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
    }
    let fold: UInt64 = 0x2020_2020_2020_2020
    var i = 0
    while i < n - 8 {
        if (a.loadUnaligned(fromByteOffset: i, as: UInt64.self) | fold)
            != l.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        {
            return false
        }
        i += 8
    }
    return (a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) | fold)
        == l.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
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
    /// The first expectation other than `100-continue` (RFC 9110 §10.1.1: answered with 417).
    var unsupportedExpectation: String? = nil
}

/// Parses field lines from `start` up to (excluding) the empty line that ends `p`.
/// With `interpret` the framing fields go to `summary`. The fields are not stored: `HTTPHeaders` finds them in the
/// validated section when one is read.
///
/// Line endings must be CRLF (RFC 9112 §2.2, as llhttp's strict mode): a bare LF or a lone CR is a 400.
/// `p` must end with LF (the end of the empty line), which lets every loop run without end checks: an LF is
/// neither a token byte nor a value byte, so each scan stops at the latest on it.
func parseFieldLines(
    _ p: UnsafeBufferPointer<UInt8>, from start: Int, maxCount: Int, interpret: Bool, summary: inout FieldSummary
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
                if stop == cr && p[colon + 1] == lf { return }  // the empty line
                if stop == lf { throw .badRequest("bare LF (without CR) ending the header section") }
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
        // Every byte but the controls and DEL may be in a value; of those, HTAB may be too, and CR LF ends it.
        while true {
            i = firstControlOrDEL(p, from: i)
            let b = p[i]
            if b == htab {
                i += 1
            } else if b == cr && p[i + 1] == lf {
                break
            } else if b == lf {
                throw .badRequest("bare LF (without CR) ending header field \(quoted(p, lineStart, colon))")
            } else if b == cr {
                throw .badRequest("CR not followed by LF in value of header field \(quoted(p, lineStart, colon))")
            } else {
                throw .badRequest("invalid character in value of header field \(quoted(p, lineStart, colon))")
            }
        }
        var valueEnd = i  // at the CR; the value ends before its trailing whitespace
        while valueEnd > valueStart && isOWS(p[valueEnd - 1]) { valueEnd -= 1 }
        i += 1
        count += 1
        if count > maxCount {
            throw HTTPParseError(status: 431, reason: "too many header fields (more than \(maxCount))")
        }
        if interpret {
            try interpretField(p, lineStart, colon, valueStart, valueEnd, &summary)
        }
        lineStart = i + 1
    }
}

/// The index of the first byte at or after `start` that is a control character (below 0x20) or DEL, which `p`
/// has: a header section ends with LF. Eight bytes at a time while eight remain (the lowest byte below 0x20 sets
/// the lowest flagged 0x80 bit of `below`, the lowest DEL that of `del`; bytes from 0x80 up are never flagged):
/// field values are most of a header section's bytes.
@inline(__always)
func firstControlOrDEL(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
    var i = start
    if let base = p.baseAddress {
        while i + 8 <= p.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            let below = (word &- 0x2020_2020_2020_2020) & ~word & 0x8080_8080_8080_8080
            let x = word ^ 0x7F7F_7F7F_7F7F_7F7F
            let del = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            let hit = below | del
            if hit != 0 { return i + hit.trailingZeroBitCount >> 3 }
            i += 8
        }
    }
    while p[i] >= sp && p[i] != 0x7F { i += 1 }
    return i
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
            // RFC 9110 §10.1.1: a server that does not support an expectation may answer 417; we do, so that a
            // client never believes an expectation was honoured. Empty list elements are skipped.
            forEachListElementNonThrowing(p, valueStart, valueEnd) { s, e in
                if bytesEqualLowercased(p, s, e, "100-continue") {
                    summary.expectContinue = true
                } else if summary.unsupportedExpectation == nil {
                    summary.unsupportedExpectation = makeString(p, s, e)
                }
            }
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

/// Content-Length = 1*DIGIT, at most once. RFC 9112 §6.3 item 5 lets a recipient either reject or collapse a
/// list of identical values ("5, 5") and repeated identical fields; like llhttp we reject both, since two
/// parsers that collapse differently are how request smuggling starts. A value above `Int.max` is a 400
/// (it cannot be represented), a large representable one is checked against the body limit later (413).
func interpretContentLength(
    _ p: UnsafeBufferPointer<UInt8>, _ valueStart: Int, _ valueEnd: Int, _ summary: inout FieldSummary
) throws(HTTPParseError) {
    var value = 0
    var i = valueStart
    while i < valueEnd {
        let digit = p[i] &- UInt8(ascii: "0")
        guard digit < 10 else {
            if p[i] == UInt8(ascii: ",") {
                throw .badRequest("Content-Length must be a single number, not the list \(quoted(p, valueStart, valueEnd))")
            }
            throw .badRequest("invalid Content-Length value \(quoted(p, valueStart, valueEnd))")
        }
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(Int(digit))
        if o1 || o2 { throw .badRequest("Content-Length value \(quoted(p, valueStart, valueEnd)) overflows") }
        value = sum
        i += 1
    }
    guard valueEnd > valueStart else { throw .badRequest("invalid Content-Length value \"\"") }
    if let previous = summary.contentLength {
        if previous != value {
            throw .badRequest("conflicting Content-Length values \(previous) and \(quoted(p, valueStart, valueEnd))")
        }
        throw .badRequest("repeated Content-Length header field")
    }
    summary.contentLength = value
    summary.contentLengthSeen = true
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
        // transfer-coding = token *( OWS ";" OWS transfer-parameter ); chunked takes no parameters.
        if nameEnd < e && p[nameEnd] != UInt8(ascii: ";") && !isOWS(p[nameEnd]) {
            throw .badRequest("invalid Transfer-Encoding value \(quoted(p, valueStart, valueEnd))")
        }
        summary.codingCount += 1
        if bytesEqualLowercased(p, s, nameEnd, "chunked") {
            if nameEnd < e {
                throw .badRequest("parameters on the chunked transfer coding in \(quoted(p, valueStart, valueEnd))")
            }
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
    ///
    /// Strict line endings (RFC 9112 §2.2): every LF must follow a CR, checked once per line, so a bare LF is a
    /// 400 as soon as it arrives. A CR is only allowed right before LF; the per-byte check for a lone CR runs
    /// only over bytes of an incomplete section (a complete one is checked by the field parser), so a client
    /// ending lines with CR alone is answered at once instead of at the header timeout.
    mutating func findSectionEnd() throws(HTTPParseError) -> Int? {
        let base = readIndex
        let end = storage.count
        let resumeAt = base + scanned
        var i = resumeAt
        var ls = base + lineStart
        var bareLF = -1
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
                if i == ls || p[i - 1] != cr {
                    bareLF = ls
                    return nil
                }
                if i == ls + 1 { return i + 1 - base }
                i += 1
                ls = i
            }
        }
        if bareLF >= 0 {
            let lineEnd = i
            throw storage.withUnsafeBufferPointer { p in
                HTTPParseError.badRequest("bare LF (without CR) ending the line \(quoted(p, bareLF, lineEnd))")
            }
        }
        if found == nil {
            try checkNoLoneCR(from: max(base, resumeAt - 1))
        }
        scanned = i - base
        lineStart = ls - base
        return found
    }

    /// Throws when a CR in storage[from...] is followed by a byte other than LF.
    private func checkNoLoneCR(from: Int) throws(HTTPParseError) {
        let end = storage.count
        let lone: Int? = storage.withUnsafeBufferPointer { p in
            var j = from
            while j + 1 < end {
                if p[j] == cr && p[j + 1] != lf { return j }
                j += 1
            }
            return nil
        }
        if let lone {
            throw storage.withUnsafeBufferPointer { p in
                HTTPParseError.badRequest("CR not followed by LF in \(quoted(p, max(readIndex, lone - 32), lone + 2))")
            }
        }
    }

    /// Searches, from where the previous call stopped, for the CRLF ending the line at `readIndex`.
    /// Returns the line length through the LF, or nil. A bare LF or a CR not followed by LF is a 400.
    mutating func findLineEnd() throws(HTTPParseError) -> Int? {
        let base = readIndex
        let end = storage.count
        var i = base + scanned
        var bad = false
        let found: Int? = storage.withUnsafeBufferPointer { p in
            while i < end {
                let b = p[i]
                if b == lf {
                    if i == base || p[i - 1] != cr {
                        bad = true
                        return nil
                    }
                    return i + 1 - base
                }
                if b == cr && i + 1 < end && p[i + 1] != lf {
                    bad = true
                    return nil
                }
                i += 1
            }
            return nil
        }
        if bad {
            let stop = i
            throw storage.withUnsafeBufferPointer { p in
                HTTPParseError.badRequest(
                    "chunk size line \(quoted(p, base, stop + 1)) not ended by CRLF (bare LF or lone CR)")
            }
        }
        // A CR as the last byte received is looked at again with the byte after it.
        if found == nil && i > base && storage[i - 1] == cr { i -= 1 }
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
                guard let length = try findLineEnd() else {
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
                if b == cr {
                    guard readable > 1 else { return false }
                    guard storage[readIndex + 1] == lf else { throw .badRequest("missing CRLF after chunk data") }
                    consume(2)
                } else if b == lf {
                    throw .badRequest("bare LF (without CR) after chunk data")
                } else {
                    throw .badRequest("missing CRLF after chunk data")
                }
                state = .chunkSize
            case .trailers:
                guard let length = try findSectionEnd() else {
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
                    var ignoredSummary = FieldSummary()
                    try parseFieldLines(
                        UnsafeBufferPointer(rebasing: p[readIndex..<(readIndex + length)]), from: 0,
                        maxCount: limits.maxHeaderCount, interpret: false, summary: &ignoredSummary)
                }
                consume(length)
                state = .done
                return true
            }
        }
    }
}

@inline(__always)
private func hexDigit(_ b: UInt8) -> Int {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A")) + 10
    default: return -1
    }
}

/// RFC 9110 `qdtext`: HTAB, SP, "!", "#"-"[", "]"-"~", obs-text.
@inline(__always)
private func isQdtext(_ b: UInt8) -> Bool {
    b == htab || b == sp || b == 0x21 || (b >= 0x23 && b <= 0x5B) || (b >= 0x5D && b <= 0x7E) || b >= 0x80
}

/// Parses a chunk size line (RFC 9112 §7.1.1), `p[start..<lfEnd]` ending with CRLF (checked by `findLineEnd`):
///
///     chunk-size [ chunk-ext ] CRLF
///     chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
///     chunk-ext-name = token
///     chunk-ext-val  = token / quoted-string
///
/// So whitespace is allowed before ";" and around "=", but not between the size (or an extension) and CRLF.
/// Extensions are validated and ignored. A size that does not fit in `Int` is a 400 (it cannot be represented);
/// a large one that fits is checked against the body limit by the caller (413).
func parseChunkSizeLine(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ lfEnd: Int) throws(HTTPParseError) -> Int {
    let end = lfEnd - 2  // at the CR
    var size = 0
    var i = start
    while i < end {
        let digit = hexDigit(p[i])
        if digit < 0 { break }
        if size > (Int.max >> 4) { throw .badRequest("chunk size \(quoted(p, start, end)) overflows") }
        size = size << 4 | digit
        i += 1
    }
    if i == start { throw .badRequest("invalid chunk size line \(quoted(p, start, end)): no hex digits") }
    func invalid(_ what: String) -> HTTPParseError {
        .badRequest("invalid chunk size line \(quoted(p, start, end)): \(what)")
    }
    var afterSize = true
    while i < end {
        var j = i
        while j < end && isOWS(p[j]) { j += 1 }
        if j == end { throw invalid("whitespace before CRLF") }
        guard p[j] == UInt8(ascii: ";") else {
            throw invalid(
                i == j && afterSize ? "non-hex character in chunk size" : "expected \";\" before a chunk extension")
        }
        j += 1
        while j < end && isOWS(p[j]) { j += 1 }
        let nameStart = j
        while j < end && isTokenByte(p[j]) { j += 1 }
        if j == nameStart { throw invalid("chunk extension without a name") }
        var k = j
        while k < end && isOWS(p[k]) { k += 1 }
        if k < end && p[k] == UInt8(ascii: "=") {
            k += 1
            while k < end && isOWS(p[k]) { k += 1 }
            if k < end && p[k] == UInt8(ascii: "\"") {
                k += 1
                while true {
                    guard k < end else { throw invalid("unterminated quoted string in chunk extension") }
                    let b = p[k]
                    if b == UInt8(ascii: "\"") {
                        k += 1
                        break
                    }
                    if b == UInt8(ascii: "\\") {
                        guard k + 1 < end, isFieldValueByte(p[k + 1]) else {
                            throw invalid("invalid quoted-pair in chunk extension")
                        }
                        k += 2
                    } else {
                        guard isQdtext(b) else { throw invalid("invalid character in quoted chunk extension value") }
                        k += 1
                    }
                }
            } else {
                let valueStart = k
                while k < end && isTokenByte(p[k]) { k += 1 }
                if k == valueStart { throw invalid("chunk extension without a value after \"=\"") }
            }
            j = k
        }
        i = j
        afterSize = false
    }
    return size
}
