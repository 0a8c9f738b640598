/// Pydantic 2.13 (pydantic-core 2.46) lax-mode coercions of the Python objects `json.loads` produces, per type.
/// Each function returns the coerced value as it should be handed to the user's function, or the pydantic error
/// type. Found by experiment with the installed pydantic and by reading pydantic-core's `input_python.rs` and
/// `shared.rs`; the differential test checks them against FastAPI.
enum PydanticCoercion {
    enum Failure: Error, Equatable {
        case intType, intParsing, intFromFloat, intParsingSize, finiteNumber
        case floatType, floatParsing
        case boolType, boolParsing
        case stringType, dictType, listType

        var type: String {
            switch self {
            case .intType: "int_type"
            case .intParsing: "int_parsing"
            case .intFromFloat: "int_from_float"
            case .intParsingSize: "int_parsing_size"
            case .finiteNumber: "finite_number"
            case .floatType: "float_type"
            case .floatParsing: "float_parsing"
            case .boolType: "bool_type"
            case .boolParsing: "bool_parsing"
            case .stringType: "string_type"
            case .dictType: "dict_type"
            case .listType: "list_type"
            }
        }

        var message: String {
            switch self {
            case .intType: "Input should be a valid integer"
            case .intParsing: "Input should be a valid integer, unable to parse string as an integer"
            case .intFromFloat: "Input should be a valid integer, got a number with a fractional part"
            case .intParsingSize: "Unable to parse input string as an integer, exceeded maximum size"
            case .finiteNumber: "Input should be a finite number"
            case .floatType: "Input should be a valid number"
            case .floatParsing: "Input should be a valid number, unable to parse string as a number"
            case .boolType: "Input should be a valid boolean"
            case .boolParsing: "Input should be a valid boolean, unable to interpret input"
            case .stringType: "Input should be a valid string"
            case .dictType: "Input should be a valid dictionary"
            case .listType: "Input should be a valid list"
            }
        }
    }

    static func coerce(_ value: JSONValue, to type: ParamType) -> Result<JSONValue, Failure> {
        switch type {
        case .str:
            if case .string = value { return .success(value) }
            return .failure(.stringType)
        case .dict:
            if case .object = value { return .success(value) }
            return .failure(.dictType)
        case .list:
            if case .array = value { return .success(value) }
            return .failure(.listType)
        case .int:
            return toInt(value).map { .number($0) }
        case .float:
            return toFloat(value).map { .number(PythonNumber.floatJSON($0)) }
        case .bool:
            return toBool(value).map { .bool($0) }
        }
    }

    // MARK: int

    static func toInt(_ value: JSONValue) -> Result<String, Failure> {
        switch value {
        case .bool(let flag):
            return .success(flag ? "1" : "0")
        case .number(let literal):
            if PythonNumber.isInteger(literal) { return .success(PythonNumber.canonicalInteger(literal)) }
            guard let double = PythonNumber.doubleValue(literal) else { return .failure(.intType) }
            return floatAsInt(double)
        case .string(let text):
            return stringAsInt(text)
        default:
            return .failure(.intType)
        }
    }

    /// pydantic-core `float_as_int`.
    static func floatAsInt(_ value: Double) -> Result<String, Failure> {
        if value.isNaN || value.isInfinite { return .failure(.finiteNumber) }
        if value.truncatingRemainder(dividingBy: 1) != 0 { return .failure(.intFromFloat) }
        // (i64::MIN as f64) < value < (i64::MAX as f64), both bounds being ±2^63
        if value > -9_223_372_036_854_775_808.0 && value < 9_223_372_036_854_775_808.0 {
            return .success(String(Int64(value)))
        }
        return .failure(.intParsingSize)
    }

    /// Result of jiter's strict `NumberInt::try_from`: a whole-string JSON integer.
    enum StrictInt { case ok(String), outOfRange, invalid }

    /// jiter `NumberInt::from_bytes`: `-?(0|[1-9][0-9]*)` spanning the whole input; a run of sign and digits
    /// longer than 4300 bytes is out of range even when something invalid follows.
    static func strictInt(_ bytes: [UInt8]) -> StrictInt {
        guard !bytes.isEmpty else { return .invalid }
        var i = 0
        if bytes[0] == UInt8(ascii: "-") { i = 1 }
        guard i < bytes.count else { return .invalid }
        let first = bytes[i]
        if first == UInt8(ascii: "0") {
            return i + 1 == bytes.count ? .ok("0") : .invalid
        }
        guard first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") else { return .invalid }
        var end = i
        while end < bytes.count && bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
        if end - i >= 19 && end > 4300 { return .outOfRange }
        guard end == bytes.count else { return .invalid }
        return .ok(String(decoding: bytes, as: UTF8.self))
    }

    /// pydantic-core `str_as_int`.
    static func stringAsInt(_ text: String) -> Result<String, Failure> {
        let bytes = Array(text.utf8)
        switch strictInt(bytes) {
        case .ok(let literal): return .success(PythonNumber.canonicalInteger(literal))
        case .outOfRange: return .failure(.intParsingSize)
        case .invalid: break
        }
        guard let cleaned = cleanIntString(bytes) else { return .failure(.intParsing) }
        if case .ok(let literal) = strictInt(cleaned) { return .success(PythonNumber.canonicalInteger(literal)) }
        return .failure(.intParsing)
    }

    /// pydantic-core `clean_int_str`: trim, one leading `+`, one leading `-`, leading zeros, a `.0+` fraction,
    /// underscores between digits. `nil` when nothing could be cleaned.
    static func cleanIntString(_ original: [UInt8]) -> [UInt8]? {
        let lengthBefore = original.count
        var s = ArraySlice(RustWhitespace.trim(original))
        if s.first == UInt8(ascii: "+") {
            s = s.dropFirst()
            if s.first == UInt8(ascii: "-") { return nil }
        }
        var negative = false
        if s.first == UInt8(ascii: "-") {
            s = s.dropFirst()
            if s.first == UInt8(ascii: "-") || s.first == UInt8(ascii: "+") { return nil }
            negative = true
        }
        guard let stripped = stripLeadingZeros(s) else { return nil }
        s = stripped
        if let dot = s.firstIndex(of: UInt8(ascii: ".")) {
            let fraction = s[(dot + 1)...]
            if !fraction.isEmpty && fraction.allSatisfy({ $0 == UInt8(ascii: "0") }) { s = s[..<dot] }
        }
        if let noUnderscores = stripUnderscores(s) {
            return negative ? [UInt8(ascii: "-")] + noUnderscores : noUnderscores
        }
        if lengthBefore == s.count { return nil }
        return negative ? [UInt8(ascii: "-")] + s : Array(s)
    }

    /// pydantic-core `strip_leading_zeros`.
    static func stripLeadingZeros(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let first = s.first else { return nil }
        if first != UInt8(ascii: "0") {
            if (first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9")) || first == UInt8(ascii: "-") { return s }
            return nil
        }
        var i = s.startIndex + 1
        while i < s.endIndex {
            let c = s[i]
            switch c {
            case UInt8(ascii: "0"), UInt8(ascii: "_"):
                break
            case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                return s[i...]
            case UInt8(ascii: "."):
                return s[(i - 1)...]
            default:
                return nil
            }
            i += 1
        }
        return s[(s.endIndex - 1)...]
    }

    /// pydantic-core `strip_underscores`: only when underscores exist, not at either end, never doubled.
    static func stripUnderscores(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        let underscore = UInt8(ascii: "_")
        guard s.contains(underscore), s.first != underscore, s.last != underscore else { return nil }
        var previous: UInt8 = 0
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        for c in s {
            if c == underscore {
                if previous == underscore { return nil }
            } else {
                out.append(c)
            }
            previous = c
        }
        return out
    }

    // MARK: float

    static func toFloat(_ value: JSONValue) -> Result<Double, Failure> {
        switch value {
        case .bool(let flag):
            return .success(flag ? 1 : 0)
        case .number(let literal):
            if PythonNumber.isInteger(literal) {
                // float(int): correctly rounded; too large for a double is an error in pydantic.
                guard let double = Double(PythonNumber.canonicalInteger(literal)), double.isFinite else {
                    return .failure(.floatType)
                }
                return .success(double)
            }
            guard let double = PythonNumber.doubleValue(literal) else { return .failure(.floatType) }
            return .success(double)
        case .string(let text):
            return stringAsFloat(text).map { .success($0) } ?? .failure(.floatParsing)
        default:
            return .failure(.floatType)
        }
    }

    /// pydantic-core `str_as_float`: Rust's `f64::from_str` on the trimmed text, then on the untrimmed text with
    /// underscores removed.
    static func stringAsFloat(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        if let value = rustParseFloat(ArraySlice(RustWhitespace.trim(bytes))) { return value }
        if let stripped = stripUnderscores(ArraySlice(bytes)) { return rustParseFloat(ArraySlice(stripped)) }
        return nil
    }

    /// Rust `f64::from_str`: `[+-]? (inf | infinity | nan | digits[.digits][e[+-]digits])`, case-insensitive
    /// words; at least one digit in the mantissa; no surrounding whitespace.
    static func rustParseFloat(_ s: ArraySlice<UInt8>) -> Double? {
        var i = s.startIndex
        var negative = false
        if i < s.endIndex && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) {
            negative = s[i] == UInt8(ascii: "-")
            i += 1
        }
        let rest = s[i...]
        func word(_ w: String) -> Bool {
            rest.count == w.utf8.count && zip(rest, w.utf8).allSatisfy { ($0 | 0x20) == $1 }
        }
        if word("inf") || word("infinity") { return negative ? -.infinity : .infinity }
        if word("nan") { return .nan }
        @inline(__always) func isDigit(_ k: Int) -> Bool { k < s.endIndex && s[k] >= 0x30 && s[k] <= 0x39 }
        var digits = 0
        while isDigit(i) {
            i += 1
            digits += 1
        }
        if i < s.endIndex && s[i] == UInt8(ascii: ".") {
            i += 1
            while isDigit(i) {
                i += 1
                digits += 1
            }
        }
        guard digits > 0 else { return nil }
        if i < s.endIndex && (s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E")) {
            i += 1
            if i < s.endIndex && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
        }
        guard i == s.endIndex else { return nil }
        // The grammar is checked; strtod (correctly rounded, like Rust) does the conversion.
        return Double(String(decoding: s, as: UTF8.self))
    }

    // MARK: bool

    static func toBool(_ value: JSONValue) -> Result<Bool, Failure> {
        switch value {
        case .bool(let flag):
            return .success(flag)
        case .string(let text):
            return stringAsBool(text).map { .success($0) } ?? .failure(.boolParsing)
        case .number(let literal):
            if PythonNumber.isInteger(literal) {
                let canonical = PythonNumber.canonicalInteger(literal)
                if canonical == "0" { return .success(false) }
                if canonical == "1" { return .success(true) }
                // Fits in i64: bool_parsing. Bigger: pydantic falls back to float(), then float_as_int fails.
                return Int64(canonical) != nil ? .failure(.boolParsing) : .failure(.boolType)
            }
            guard let double = PythonNumber.doubleValue(literal), case .success(let int) = floatAsInt(double) else {
                return .failure(.boolType)
            }
            if int == "0" { return .success(false) }
            if int == "1" { return .success(true) }
            return .failure(.boolParsing)
        default:
            return .failure(.boolType)
        }
    }

    /// pydantic-core `str_as_bool`: exact, ASCII case-insensitive, no trimming.
    static func stringAsBool(_ text: String) -> Bool? {
        let utf8 = text.utf8
        guard utf8.count >= 1 && utf8.count <= 5 else { return nil }
        var word: UInt64 = 0
        for byte in utf8 {
            let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            word = word << 8 | UInt64(lower)
        }
        @inline(__always) func packed(_ s: StaticString) -> UInt64 {
            var w: UInt64 = 0
            for k in 0..<s.utf8CodeUnitCount { w = w << 8 | UInt64(s.utf8Start[k]) }
            return w
        }
        switch word {
        case packed("0"), packed("f"), packed("n"), packed("no"), packed("off"), packed("false"): return false
        case packed("1"), packed("t"), packed("y"), packed("on"), packed("yes"), packed("true"): return true
        default: return nil
        }
    }

}

/// Rust's `str::trim`: removes characters with the Unicode `White_Space` property from both ends.
enum RustWhitespace {
    static func trim(_ bytes: [UInt8]) -> [UInt8] {
        var start = 0
        var end = bytes.count
        while start < end, let length = whitespaceLength(bytes, at: start) { start += length }
        while end > start, let length = whitespaceLengthEnding(bytes, at: end) { end -= length }
        if start == 0 && end == bytes.count { return bytes }
        return Array(bytes[start..<end])
    }

    static func isWhiteSpace(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Length of the UTF-8 whitespace character starting at `i`, if it is one.
    static func whitespaceLength(_ b: [UInt8], at i: Int) -> Int? {
        guard let (scalar, length) = decode(b, at: i) else { return nil }
        return isWhiteSpace(scalar) ? length : nil
    }

    /// Length of the UTF-8 whitespace character ending just before `end`, if it is one.
    static func whitespaceLengthEnding(_ b: [UInt8], at end: Int) -> Int? {
        var start = end - 1
        while start > 0 && b[start] & 0xC0 == 0x80 && end - start < 4 { start -= 1 }
        guard let (scalar, length) = decode(b, at: start), start + length == end else { return nil }
        return isWhiteSpace(scalar) ? length : nil
    }

    static func decode(_ b: [UInt8], at i: Int) -> (UInt32, Int)? {
        guard i < b.count else { return nil }
        let b0 = UInt32(b[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 & 0xE0 == 0xC0, i + 1 < b.count { return ((b0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2) }
        if b0 & 0xF0 == 0xE0, i + 2 < b.count {
            return ((b0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
        }
        if b0 & 0xF8 == 0xF0, i + 3 < b.count {
            return (
                (b0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
                    | UInt32(b[i + 3] & 0x3F), 4
            )
        }
        return nil
    }
}
