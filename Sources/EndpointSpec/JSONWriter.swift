extension JSON {
    /// How `serialize` writes `.number` values (package-internal: the endpoint's 422 bodies echo numbers as
    /// Python would; an application's JSON keeps its literals).
    package enum NumberStyle: Sendable {
        /// The literal text as stored (what the client sent).
        case literal
        /// As Python re-serializes the number after `json.loads`: integers in canonical form (`-0` → `0`),
        /// floats as `repr(float)` (`1e3` → `1000.0`, `1.50` → `1.5`), overflow as `Infinity`.
        case python
    }

    /// Writes `value` compactly, as Python's `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`:
    /// non-ASCII text stays UTF-8; `"`, `\`, and control characters are escaped (`\n`, `\u001f`, ...).
    /// Non-finite floats are written `NaN`/`Infinity`/`-Infinity` (Python's `allow_nan=True` spelling).
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)  // one allocation for a typical small body
        serialize(value, numbers: .literal, into: &out)
        return out
    }

    /// Writes `value` with the given number style.
    package static func serialize(_ value: JSONValue, numbers: NumberStyle) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        serialize(value, numbers: numbers, into: &out)
        return out
    }

    /// Appends the serialization of `value` to `out`.
    package static func serialize(_ value: JSONValue, numbers: NumberStyle, into out: inout [UInt8]) {
        switch value {
        case .null:
            appendASCII("null", to: &out)
        case .bool(let flag):
            appendASCII(flag ? "true" : "false", to: &out)
        case .number(let text):
            switch numbers {
            case .literal:
                var text = text
                text.withUTF8 { out.append(contentsOf: $0) }
            case .python: out.append(contentsOf: PythonNumber.reserialized(text).utf8)
            }
        case .string(let text):
            writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (k, element) in elements.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                serialize(element, numbers: numbers, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (k, pair) in object.pairs.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                writeString(pair.key, into: &out)
                out.append(UInt8(ascii: ":"))
                serialize(pair.value, numbers: numbers, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `text` as a JSON string literal, escaped as Python's `json.dumps(..., ensure_ascii=False)`.
    package static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for k in 0..<bytes.count {
                let byte = bytes[k]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if runStart < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<k])) }
                runStart = k + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    appendASCII("u00", to: &out)
                    out.append(contentsOf: hex2(byte).utf8)
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always) static func appendASCII(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The text Python's `json.dumps` writes for the number `json.loads` makes of `literal`
    /// (`"1e3"` → `"1000.0"`, `"-0"` → `"0"`, `"1E400"` → `"Infinity"`).
    package static func pythonNumberText(_ literal: String) -> String { PythonNumber.reserialized(literal) }
}

/// Python's view of JSON number literals and of the numeric strings pydantic accepts (package-internal: the
/// validator's and the workers' business, not an application's).
package enum PythonNumber {
    /// Whether a JSON number literal is an integer for Python (no fraction, no exponent, not NaN/Infinity).
    public static func isInteger(_ literal: String) -> Bool {
        // Through the contiguous bytes (a small string's too): the view's iterator costs more than the scan.
        if let answer = literal.utf8.withContiguousStorageIfAvailable(isInteger) { return answer }
        return isInteger(Array(literal.utf8))
    }

    private static func isInteger<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        var any = false
        for byte in bytes {
            if byte >= 0x30 && byte <= 0x39 {
                any = true
            } else if byte != UInt8(ascii: "-") {
                return false
            }
        }
        return any
    }

    /// Canonical integer text: no sign on zero, no leading zeros (`"-0"` → `"0"`, `"007"` → `"7"`).
    public static func canonicalInteger(_ literal: String) -> String {
        let utf8 = literal.utf8
        if let first = utf8.first, first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") { return literal }
        if literal == "0" { return literal }
        if utf8.count >= 2, utf8.first == UInt8(ascii: "-"),
            let second = utf8.dropFirst().first, second >= UInt8(ascii: "1") && second <= UInt8(ascii: "9")
        {
            return literal
        }
        var negative = false
        var digits = Substring(literal)
        if digits.first == "-" {
            negative = true
            digits = digits.dropFirst()
        } else if digits.first == "+" {
            digits = digits.dropFirst()
        }
        let trimmed = digits.drop(while: { $0 == "0" })
        if trimmed.isEmpty { return "0" }
        return negative ? "-" + trimmed : String(trimmed)
    }

    /// The float Python's `float(literal)` gives for a JSON float literal (or an int converted with `float()`).
    public static func doubleValue(_ literal: String) -> Double? {
        switch literal {
        case "NaN": return Double.nan
        case "Infinity": return Double.infinity
        case "-Infinity": return -Double.infinity
        default: return Double(literal)
        }
    }

    /// What `json.dumps(json.loads(literal))` writes.
    public static func reserialized(_ literal: String) -> String {
        if isInteger(literal) { return canonicalInteger(literal) }
        guard let value = doubleValue(literal) else { return literal }
        return floatJSON(value)
    }

    /// A float as `json.dumps` writes it: `repr(x)`, or `NaN`/`Infinity`/`-Infinity`.
    public static func floatJSON(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return repr(value)
    }

    /// Python's `repr(float)` for a finite value: shortest round-trip digits, fixed notation when the decimal
    /// exponent is in [-4, 16), otherwise `d.ddde+XX`.
    public static func repr(_ value: Double) -> String {
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description gives the same shortest round-trip digits as Python; only the layout differs.
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        var negative = false
        var exponent = 0
        var pointAt = -1  // number of mantissa digits before the '.'
        var inExponent = false
        var exponentNegative = false
        for byte in value.description.utf8 {
            switch byte {
            case UInt8(ascii: "-"):
                if inExponent { exponentNegative = true } else { negative = true }
            case UInt8(ascii: "+"):
                break
            case UInt8(ascii: "."):
                pointAt = digits.count
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                inExponent = true
            default:
                if inExponent { exponent = exponent * 10 + Int(byte &- 0x30) } else { digits.append(byte) }
            }
        }
        if exponentNegative { exponent = -exponent }
        if pointAt < 0 { pointAt = digits.count }
        // value = 0.DIGITS × 10^decpt
        var decpt = pointAt + exponent
        var first = 0
        while first < digits.count - 1 && digits[first] == UInt8(ascii: "0") {
            first += 1
            decpt -= 1
        }
        var last = digits.count
        while last > first + 1 && digits[last - 1] == UInt8(ascii: "0") { last -= 1 }
        let significant = digits[first..<last]
        var out: [UInt8] = []
        out.reserveCapacity(32)
        if negative { out.append(UInt8(ascii: "-")) }
        let exp10 = decpt - 1
        if exp10 < -4 || exp10 >= 16 {
            out.append(significant[significant.startIndex])
            if significant.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: significant.dropFirst())
            }
            out.append(UInt8(ascii: "e"))
            out.append(exp10 < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let magnitude = abs(exp10)
            if magnitude < 10 { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: String(magnitude).utf8)
        } else if decpt <= 0 {
            out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -decpt))
            out.append(contentsOf: significant)
        } else if decpt >= significant.count {
            out.append(contentsOf: significant)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: decpt - significant.count))
            out.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")])
        } else {
            out.append(contentsOf: significant.prefix(decpt))
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: significant.dropFirst(decpt))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
