import EndpointSpec

/// A JSON syntax error with a 1-based line and column.
struct LoadgenJSONError: Error, Equatable, CustomStringConvertible {
    var message: String
    var line: Int
    var column: Int
    var description: String { "invalid JSON at line \(line), column \(column): \(message)" }
}

/// A small strict JSON (RFC 8259) reader and writer for scenario files and reports, producing
/// `EndpointSpec.JSONValue` (numbers keep their literal text; object key order is kept; a duplicate key keeps
/// the last value). Kept local so scenario errors can carry line and column.
enum LoadgenJSON {
    /// Parses one JSON document.
    static func parse(_ bytes: [UInt8]) throws(LoadgenJSONError) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        if reader.index < bytes.count { throw reader.error("unexpected data after the JSON value") }
        return value
    }

    /// Parses a JSON document given as a string.
    static func parse(_ text: String) throws(LoadgenJSONError) -> JSONValue { try parse(Array(text.utf8)) }

    /// Serializes compactly (`,` and `:` without spaces) or, with `indent`, pretty-printed.
    static func serialize(_ value: JSONValue, indent: Int? = nil) -> String {
        var out = ""
        write(value, into: &out, indent: indent, level: 0)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String, indent: Int?, level: Int) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let literal): out += literal
        case .string(let string): writeString(string, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (offset, item) in items.enumerated() {
                if offset > 0 { out += "," }
                newline(&out, indent: indent, level: level + 1)
                write(item, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent: indent, level: level)
            out += "]"
        case .object(let object):
            if object.pairs.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            for (offset, pair) in object.pairs.enumerated() {
                if offset > 0 { out += "," }
                newline(&out, indent: indent, level: level + 1)
                writeString(pair.key, into: &out)
                out += indent == nil ? ":" : ": "
                write(pair.value, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent: indent, level: level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, indent: Int?, level: Int) {
        guard let indent else { return }
        out += "\n" + String(repeating: " ", count: indent * level)
    }

    private static func writeString(_ string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ message: String, at position: Int? = nil) -> LoadgenJSONError {
            let end = min(position ?? index, bytes.count)
            var line = 1
            var column = 1
            for byte in bytes[..<end] {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
            }
            return LoadgenJSONError(message: message, line: line, column: column)
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) throws(LoadgenJSONError) -> JSONValue {
            guard depth < 200 else { throw error("nesting deeper than 200 levels") }
            guard index < bytes.count else { throw error("expected a value, got end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("expected a value")
            }
        }

        mutating func literal(_ word: String, _ value: JSONValue) throws(LoadgenJSONError) -> JSONValue {
            let utf8 = Array(word.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else {
                throw error("expected a value")
            }
            index += utf8.count
            return value
        }

        mutating func number() throws(LoadgenJSONError) -> JSONValue {
            let start = index
            func isDigit(_ i: Int) -> Bool {
                i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw error("expected a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard isDigit(index) else { throw error("expected a digit after '.'") }
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard isDigit(index) else { throw error("expected a digit in the exponent") }
                while isDigit(index) { index += 1 }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func string() throws(LoadgenJSONError) -> String {
            let start = index
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ end: Int, into scalars: inout String.UnicodeScalarView) {
                if end > run { scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars) }
            }
            while true {
                guard index < bytes.count else { throw error("unterminated string", at: start) }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    flush(index, into: &scalars)
                    index += 1
                    return String(scalars)
                }
                if byte < 0x20 { throw error("control character in string") }
                if byte == UInt8(ascii: "\\") {
                    flush(index, into: &scalars)
                    index += 1
                    guard index < bytes.count else { throw error("unterminated string", at: start) }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count,
                            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        {
                            let save = index
                            index += 2
                            let low = try hex4()
                            if (0xDC00..<0xE000).contains(low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = save
                            }
                        }
                        scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    default: throw error("invalid escape in string", at: index - 2)
                    }
                    run = index
                } else {
                    index += 1
                }
            }
        }

        mutating func hex4() throws(LoadgenJSONError) -> UInt32 {
            guard index + 4 <= bytes.count,
                let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { throw error("invalid \\u escape") }
            index += 4
            return code
        }

        mutating func array(depth: Int) throws(LoadgenJSONError) -> JSONValue {
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("expected ',' or ']'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                } else {
                    throw error("expected ',' or ']'")
                }
            }
        }

        mutating func object(depth: Int) throws(LoadgenJSONError) -> JSONValue {
            index += 1
            var object = JSONObject()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a property name in double quotes")
                }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                object[key] = try value(depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw error("expected ',' or '}'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(object)
                } else {
                    throw error("expected ',' or '}'")
                }
            }
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
