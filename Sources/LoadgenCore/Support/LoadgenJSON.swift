import EndpointSpec

/// A JSON syntax error with a 1-based line and column (in characters), for scenario files and reports.
struct LoadgenJSONError: Error, Equatable, CustomStringConvertible {
    /// Python json's message, e.g. `Expecting value`, `Unterminated string starting at`.
    var message: String
    var line: Int
    var column: Int
    /// As Python's `JSONDecodeError` reads, without the character offset:
    /// `invalid JSON: Expecting ',' delimiter: line 3 column 7`.
    var description: String { "invalid JSON: \(location)" }
    /// `message: line L column C`.
    var location: String { "\(message): line \(line) column \(column)" }

    /// Locates `error` (from `JSON.parse(bytes)`) as a line and column of `bytes`. A `.syntax` error's position
    /// counts characters (code points) of the decoded text, as Python does; the other kinds count bytes.
    /// Lines and columns assume UTF-8 input; a UTF-8 byte-order mark is skipped, as `JSON.parse` skips it.
    init(_ error: JSONSyntaxError, in bytes: [UInt8]) {
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var column = 1
        var characters = 0
        var index = start
        while index < bytes.count {
            let reached = error.kind == .syntax ? characters >= error.position : index - start >= error.position
            if reached { break }
            let byte = bytes[index]
            index += 1
            guard byte & 0xC0 != 0x80 else { continue }  // a UTF-8 continuation byte
            characters += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        self.init(message: error.message, line: line, column: column)
    }

    init(message: String, line: Int, column: Int) {
        self.message = message
        self.line = line
        self.column = column
    }
}

/// Loadgen's view of EndpointSpec's JSON: parse errors located by line and column, and indented output for
/// reports. Parsing and writing are `JSON.parse` / `JSON.serialize` (Python `json` semantics).
enum LoadgenJSON {
    /// Parses one JSON document with `JSON.parse`; errors carry a line and column.
    static func parse(_ bytes: [UInt8]) throws(LoadgenJSONError) -> JSONValue {
        do {
            return try JSON.parse(bytes)
        } catch {
            throw LoadgenJSONError(error, in: bytes)
        }
    }

    /// Parses a JSON document given as a string.
    static func parse(_ text: String) throws(LoadgenJSONError) -> JSONValue { try parse(Array(text.utf8)) }

    /// `JSON.serialize` as a string (compact, `,` and `:` without spaces) or, with `indent`, one member per line
    /// indented by `indent` spaces per level with `": "` after keys (Python's `json.dumps(indent=…)` layout).
    static func serialize(_ value: JSONValue, indent: Int? = nil) -> String {
        guard let indent else { return String(decoding: JSON.serialize(value), as: UTF8.self) }
        var out: [UInt8] = []
        writeIndented(value, indent: indent, level: 0, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func writeIndented(_ value: JSONValue, indent: Int, level: Int, into out: inout [UInt8]) {
        func newline(_ level: Int) {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
        }
        switch value {
        case .array(let items) where !items.isEmpty:
            out.append(UInt8(ascii: "["))
            for (offset, item) in items.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                writeIndented(item, indent: indent, level: level + 1, into: &out)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let object) where !object.pairs.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (offset, pair) in object.pairs.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                JSON.writeString(pair.key, into: &out)
                out.append(contentsOf: ": ".utf8)
                writeIndented(pair.value, indent: indent, level: level + 1, into: &out)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        default:
            JSON.serialize(value, numbers: .literal, into: &out)
        }
    }
}

extension JSONValue {
    /// A JSON number from an integer.
    static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A JSON number from a double (non-finite values become `null`); integral values print without a fraction.
    static func double(_ value: Double, digits: Int = 3) -> JSONValue {
        guard value.isFinite else { return .null }
        return .number(formatNumber(value, digits: digits))
    }

    /// Whether the value is an object.
    var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// A short English description of the value for error messages: `5`, `"abc"`, `an object`, `null`.
    var errorDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let literal): return literal
        case .string(let string): return "\"\(string)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Formats `value` with at most `digits` fraction digits and no trailing zeros (`1.5`, `200`, `0.001`).
func formatNumber(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    if rounded == rounded.rounded(), abs(rounded) < 9e15 { return String(Int(rounded)) }
    var text = fixed(rounded, digits: digits)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}

/// `value` printed with exactly `digits` fraction digits (no exponent), like `%.*f`.
func fixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return formatNumber(value, digits: 0) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let negative = value < 0
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let integer = UInt64(scaled)
    let divisor = UInt64(scale)
    let whole = integer / divisor
    var text = (negative && integer != 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let fraction = String(integer % divisor)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}
