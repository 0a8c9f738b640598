/// JSON parsing and writing with the semantics of Python's `json` module, which FastAPI uses for request bodies.
///
/// `parse` behaves like `json.loads(body_bytes)` on CPython 3.11:
/// - the input encoding is detected as `json.detect_encoding` does (UTF-8, UTF-8 with BOM, UTF-16/32 by BOM or
///   by the position of NUL bytes) and decoded with the `surrogatepass` error handler;
/// - `NaN`, `Infinity` and `-Infinity` are accepted; numbers keep their literal text;
/// - duplicate object keys: the key keeps its first position and takes the last value (a Python `dict`);
/// - whitespace is `' '`, `\t`, `\n`, `\r` only;
/// - syntax errors carry Python's message and position (a character index, as Python counts code points).
///
/// Lone UTF-16 surrogates (`"\ud800"`, or surrogates encoded in UTF-8/UTF-16/UTF-32 input) are accepted as
/// Python accepts them, but Swift strings cannot hold them: each is replaced by U+FFFD. FastAPI itself cannot
/// echo such strings (its JSON response encoder fails with a 500), so this only changes what a handler sees.
public enum JSON {
    /// Default nesting limit for `parse`. CPython fails (RecursionError) somewhere near depth 960 under FastAPI,
    /// depending on the stack depth at the call; this parser stops earlier and reports `.tooDeep`.
    public static let defaultMaxDepth = 512

    /// Parses one JSON document with Python `json.loads` semantics.
    /// - Parameters:
    ///   - bytes: the raw document (UTF-8, or UTF-16/32 as Python detects them).
    ///   - maxDepth: maximum nesting of arrays and objects.
    /// - Throws: `JSONSyntaxError`; its `kind` says whether Python would raise `JSONDecodeError` (`.syntax`)
    ///   or another exception (`.invalidEncoding`, `.tooDeep`, `.integerTooLong`).
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONSyntaxError)
        -> JSONValue
    {
        let result: Result<JSONValue, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
            parseBuffer(buffer, maxDepth: maxDepth)
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { parseBuffer($0, maxDepth: maxDepth) }.get()
    }

    /// ``parse(_:maxDepth:)`` for an array: the same, without the generic collection's dispatch (a caller in
    /// another module would otherwise run the unspecialized generic code).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { parseBuffer($0, maxDepth: maxDepth) }.get()
    }

    private static func parseBuffer(_ raw: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<
        JSONValue, JSONSyntaxError
    > {
        switch TextEncoding.detect(raw) {
        case .utf8:
            return parseUTF8(raw, maxDepth: maxDepth)
        case .utf8BOM:
            return parseUTF8(UnsafeBufferPointer(rebasing: raw[3...]), maxDepth: maxDepth)
        case let wide:
            guard let transcoded = TextEncoding.transcodeToWTF8(raw, from: wide) else {
                return .failure(
                    JSONSyntaxError(
                        kind: .invalidEncoding, message: "'\(wide.pythonName)' codec can't decode the body",
                        position: 0))
            }
            return transcoded.withUnsafeBufferPointer { parseUTF8($0, maxDepth: maxDepth) }
        }
    }

    private static func parseUTF8(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<
        JSONValue, JSONSyntaxError
    > {
        var parser = JSONByteParser(buffer: buffer, maxDepth: maxDepth)
        do {
            let value = try parser.parseDocument()
            return .success(value)
        } catch {
            // Python decodes the whole body before parsing: an encoding error anywhere wins over everything else.
            if let bad = UTF8Check.firstInvalidOffset(buffer) {
                return .failure(
                    JSONSyntaxError(
                        kind: .invalidEncoding,
                        message: "'utf-8' codec can't decode byte 0x\(hex2(buffer[bad])) in position \(bad)",
                        position: bad))
            }
            var failure = error
            if failure.kind == .syntax {
                failure.position = UTF8Check.codePointIndex(buffer, byteOffset: error.position)
            }
            return .failure(failure)
        }
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// A JSON parse failure, worded as Python's `json` module words it.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of Python exception the same input raises in `json.loads`.
    public enum Kind: Sendable, Equatable {
        /// `json.JSONDecodeError`: FastAPI answers 422 `json_invalid` with `message` and `position`.
        case syntax
        /// `UnicodeDecodeError` (the bytes are not valid in the detected encoding): FastAPI answers 400.
        case invalidEncoding
        /// `RecursionError` (nesting deeper than the limit): FastAPI answers 400.
        case tooDeep
        /// `ValueError` for an integer literal longer than 4300 digits: FastAPI answers 400.
        case integerTooLong
    }

    /// The kind of failure.
    public var kind: Kind
    /// Python's message, e.g. `Expecting value`, `Expecting ',' delimiter`, `Unterminated string starting at`.
    public var message: String
    /// For `.syntax`: Python's `JSONDecodeError.pos`, a character (code point) index into the decoded text.
    /// For the other kinds: a byte offset into the input.
    public var position: Int

    /// Creates an error.
    public init(kind: Kind = .syntax, message: String, position: Int) {
        self.kind = kind
        self.message = message
        self.position = position
    }

    /// `message: position`, as a log line.
    public var description: String { "\(message): position \(position)" }
}

/// Recursive-descent parser over UTF-8 bytes. Positions it reports are byte offsets; `JSON.parse` converts them.
struct JSONByteParser {
    let buffer: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var depth = 0
    var scratch: [UInt8] = []

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    @inline(__always) func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    @inline(__always) func skipWhitespace(_ index: Int) -> Int {
        var i = index
        while i < buffer.count, isWhitespace(buffer[i]) { i += 1 }
        return i
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        var index = skipWhitespace(0)
        let value = try parseValue(&index)
        index = skipWhitespace(index)
        if index != buffer.count { throw JSONSyntaxError(message: "Extra data", position: index) }
        return value
    }

    /// Python's `scan_once`: a value must start at `index` (whitespace already skipped).
    mutating func parseValue(_ index: inout Int) throws(JSONSyntaxError) -> JSONValue {
        guard index < buffer.count else { throw JSONSyntaxError(message: "Expecting value", position: index) }
        switch buffer[index] {
        case UInt8(ascii: "\""):
            return .string(try parseString(&index))
        case UInt8(ascii: "{"):
            return try parseObject(&index)
        case UInt8(ascii: "["):
            return try parseArray(&index)
        case UInt8(ascii: "n") where matches(index, "null"):
            index += 4
            return .null
        case UInt8(ascii: "t") where matches(index, "true"):
            index += 4
            return .bool(true)
        case UInt8(ascii: "f") where matches(index, "false"):
            index += 5
            return .bool(false)
        case UInt8(ascii: "N") where matches(index, "NaN"):
            index += 3
            return .number("NaN")
        case UInt8(ascii: "I") where matches(index, "Infinity"):
            index += 8
            return .number("Infinity")
        case UInt8(ascii: "-") where matches(index, "-Infinity"):
            index += 9
            return .number("-Infinity")
        default:
            return try parseNumber(&index)
        }
    }

    func matches(_ index: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= buffer.count else { return false }
        let base = literal.utf8Start
        for k in 0..<count where buffer[index + k] != base[k] { return false }
        return true
    }

    @inline(__always) func isDigit(_ i: Int) -> Bool {
        i < buffer.count && buffer[i] >= 0x30 && buffer[i] <= 0x39
    }

    /// Python's `_match_number_unicode`, including its backtracking on `1.` and `1e`.
    mutating func parseNumber(_ index: inout Int) throws(JSONSyntaxError) -> JSONValue {
        let start = index
        var i = index
        let last = buffer.count - 1
        if buffer[i] == UInt8(ascii: "-") {
            i += 1
            if i > last { throw JSONSyntaxError(message: "Expecting value", position: start) }
        }
        if buffer[i] >= UInt8(ascii: "1") && buffer[i] <= UInt8(ascii: "9") {
            i += 1
            while isDigit(i) { i += 1 }
        } else if buffer[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            throw JSONSyntaxError(message: "Expecting value", position: start)
        }
        var isFloat = false
        if i < last && buffer[i] == UInt8(ascii: ".") && isDigit(i + 1) {
            isFloat = true
            i += 2
            while isDigit(i) { i += 1 }
        }
        if i < last && (buffer[i] == UInt8(ascii: "e") || buffer[i] == UInt8(ascii: "E")) {
            let eStart = i
            i += 1
            if i < last && (buffer[i] == UInt8(ascii: "-") || buffer[i] == UInt8(ascii: "+")) { i += 1 }
            while isDigit(i) { i += 1 }
            if isDigit(i - 1) { isFloat = true } else { i = eStart }
        }
        if !isFloat {
            let digits = i - start - (buffer[start] == UInt8(ascii: "-") ? 1 : 0)
            if digits > 4300 {
                throw JSONSyntaxError(
                    kind: .integerTooLong,
                    message:
                        "Exceeds the limit (4300 digits) for integer string conversion: value has \(digits) digits",
                    position: start)
            }
        }
        index = i
        return .number(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<i]), as: UTF8.self))
    }

    mutating func enter(_ index: Int, _ what: String) throws(JSONSyntaxError) {
        depth += 1
        if depth > maxDepth {
            throw JSONSyntaxError(
                kind: .tooDeep,
                message: "maximum recursion depth exceeded while decoding a JSON \(what) from a unicode string",
                position: index)
        }
    }

    /// After an array element or object member: `true` at the closing `close` (left at `index`); past the `,`
    /// and the whitespace after it otherwise; "Expecting ',' delimiter" for anything else.
    @inline(__always)
    func atEnd(_ index: inout Int, close: UInt8) throws(JSONSyntaxError) -> Bool {
        index = skipWhitespace(index)
        if index < buffer.count && buffer[index] == close { return true }
        if index >= buffer.count || buffer[index] != UInt8(ascii: ",") {
            throw JSONSyntaxError(message: "Expecting ',' delimiter", position: index)
        }
        index = skipWhitespace(index + 1)
        return false
    }

    mutating func parseArray(_ index: inout Int) throws(JSONSyntaxError) -> JSONValue {
        try enter(index, "array")
        defer { depth -= 1 }
        var i = skipWhitespace(index + 1)
        var elements: [JSONValue] = []
        if i < buffer.count && buffer[i] == UInt8(ascii: "]") {
            index = i + 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(&i))
            if try atEnd(&i, close: UInt8(ascii: "]")) { break }
        }
        index = i + 1
        return .array(elements)
    }

    mutating func parseObject(_ index: inout Int) throws(JSONSyntaxError) -> JSONValue {
        try enter(index, "object")
        defer { depth -= 1 }
        var i = skipWhitespace(index + 1)
        var pairs: [JSONObject.Pair] = []
        var positions: [String: Int]? = nil
        if i < buffer.count && buffer[i] == UInt8(ascii: "}") {
            index = i + 1
            return .object(JSONObject(pairs))
        }
        while true {
            if i >= buffer.count || buffer[i] != UInt8(ascii: "\"") {
                throw JSONSyntaxError(message: "Expecting property name enclosed in double quotes", position: i)
            }
            let key = try parseString(&i)
            i = skipWhitespace(i)
            if i >= buffer.count || buffer[i] != UInt8(ascii: ":") {
                throw JSONSyntaxError(message: "Expecting ':' delimiter", position: i)
            }
            i = skipWhitespace(i + 1)
            let value = try parseValue(&i)
            // Python dict semantics: a repeated key keeps its first position and takes the last value.
            if let existing = positions?[key] {
                pairs[existing].value = value
            } else if positions == nil, let existing = pairs.firstIndex(where: { $0.key == key }) {
                pairs[existing].value = value
            } else {
                pairs.append(JSONObject.Pair(key: key, value: value))
                if positions != nil {
                    positions?[key] = pairs.count - 1
                } else if pairs.count == 12 {
                    var map: [String: Int] = [:]
                    for (k, pair) in pairs.enumerated() { map[pair.key] = k }
                    positions = map
                }
            }
            if try atEnd(&i, close: UInt8(ascii: "}")) { break }
        }
        index = i + 1
        return .object(JSONObject(pairs))
    }

    @inline(__always) func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: return UInt32(byte - 0x30)
        case 0x61...0x66: return UInt32(byte - 0x61 + 10)
        case 0x41...0x46: return UInt32(byte - 0x41 + 10)
        default: return nil
        }
    }

    /// Four hex digits starting at `at`; `nil` if any is not hex (the caller has checked the length).
    func hex4(_ at: Int) -> UInt32? {
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = hexValue(buffer[at + k]) else { return nil }
            value = value << 4 | digit
        }
        return value
    }

    /// Python's `scanstring_unicode` (strict mode). `index` is at the opening quote; on return it is past the
    /// closing quote.
    mutating func parseString(_ index: inout Int) throws(JSONSyntaxError) -> String {
        let begin = index
        let count = buffer.count
        var end = index + 1
        // Fast path: plain ASCII / valid UTF-8 without escapes or surrogates.
        var i = end
        var sawNonASCII = false
        while i < count {
            let byte = buffer[i]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buffer[end..<i])
                if sawNonASCII, try !UTF8Check.validateString(slice, base: end) {
                    break  // contains surrogates: take the slow path
                }
                index = i + 1
                return String(decoding: slice, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw JSONSyntaxError(message: "Invalid control character at", position: i) }
            if byte >= 0x80 { sawNonASCII = true }
            i += 1
        }
        if i >= count { throw JSONSyntaxError(message: "Unterminated string starting at", position: begin) }

        scratch.removeAll(keepingCapacity: true)
        while true {
            // Find the end of the string or the next escape.
            var next = end
            var terminator: UInt8 = 0
            while next < count {
                let byte = buffer[next]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    terminator = byte
                    break
                }
                if byte < 0x20 { throw JSONSyntaxError(message: "Invalid control character at", position: next) }
                next += 1
            }
            if next >= count { throw JSONSyntaxError(message: "Unterminated string starting at", position: begin) }
            if next != end {
                try UTF8Check.appendReplacingSurrogates(
                    UnsafeBufferPointer(rebasing: buffer[end..<next]), base: end, to: &scratch)
            }
            next += 1
            if terminator == UInt8(ascii: "\"") {
                end = next
                break
            }
            if next == count { throw JSONSyntaxError(message: "Unterminated string starting at", position: begin) }
            let escape = buffer[next]
            var scalar: UInt32
            if escape != UInt8(ascii: "u") {
                end = next + 1
                switch escape {
                case UInt8(ascii: "\""): scalar = 0x22
                case UInt8(ascii: "\\"): scalar = 0x5C
                case UInt8(ascii: "/"): scalar = 0x2F
                case UInt8(ascii: "b"): scalar = 0x08
                case UInt8(ascii: "f"): scalar = 0x0C
                case UInt8(ascii: "n"): scalar = 0x0A
                case UInt8(ascii: "r"): scalar = 0x0D
                case UInt8(ascii: "t"): scalar = 0x09
                default: throw JSONSyntaxError(message: "Invalid \\escape", position: end - 2)
                }
            } else {
                next += 1
                end = next + 4
                if end >= count { throw JSONSyntaxError(message: "Invalid \\uXXXX escape", position: next - 1) }
                guard let unit = hex4(next) else {
                    throw JSONSyntaxError(message: "Invalid \\uXXXX escape", position: end - 5)
                }
                scalar = unit
                next = end
                if unit >= 0xD800 && unit <= 0xDBFF && end + 6 < count && buffer[next] == UInt8(ascii: "\\")
                    && buffer[next + 1] == UInt8(ascii: "u")
                {
                    end += 6
                    guard let low = hex4(next + 2) else {
                        throw JSONSyntaxError(message: "Invalid \\uXXXX escape", position: end - 5)
                    }
                    if low >= 0xDC00 && low <= 0xDFFF {
                        scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        end -= 6
                    }
                }
            }
            UTF8Check.appendScalar(scalar, to: &scratch)
        }
        index = end
        return String(decoding: scratch, as: UTF8.self)
    }
}
