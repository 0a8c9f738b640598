/// Python's `json.detect_encoding` and the `surrogatepass` decoders it is paired with in `json.loads(bytes)`.
enum TextEncoding: Equatable {
    case utf8, utf8BOM, utf16, utf16BE, utf16LE, utf32, utf32BE, utf32LE

    var pythonName: String {
        switch self {
        case .utf8: "utf-8"
        case .utf8BOM: "utf-8-sig"
        case .utf16: "utf-16"
        case .utf16BE: "utf-16-be"
        case .utf16LE: "utf-16-le"
        case .utf32: "utf-32"
        case .utf32BE: "utf-32-be"
        case .utf32LE: "utf-32-le"
        }
    }

    /// Same decision as CPython's `json.detect_encoding`.
    static func detect(_ b: UnsafeBufferPointer<UInt8>) -> TextEncoding {
        let n = b.count
        // Fast path: almost every body starts with an ASCII character other than NUL.
        if n >= 2 && b[0] != 0 && b[0] < 0x80 && b[1] != 0 { return .utf8 }
        if n >= 4 && ((b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF)
            || (b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0))
        {
            return .utf32
        }
        if n >= 2 && ((b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0xFF && b[1] == 0xFE)) { return .utf16 }
        if n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { return .utf8BOM }
        if b.count >= 4 {
            if b[0] == 0 { return b[1] != 0 ? .utf16BE : .utf32BE }
            if b[1] == 0 { return (b[2] != 0 || b[3] != 0) ? .utf16LE : .utf32LE }
        } else if b.count == 2 {
            if b[0] == 0 { return .utf16BE }
            if b[1] == 0 { return .utf16LE }
        }
        return .utf8
    }

    /// Decodes UTF-16/32 (with `surrogatepass`) into UTF-8 where lone surrogates are kept as 3-byte sequences
    /// (`ED A0 80`...), so that the parser sees them as Python would. `nil` if the input cannot be decoded.
    static func transcodeToWTF8(_ b: UnsafeBufferPointer<UInt8>, from encoding: TextEncoding) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        switch encoding {
        case .utf16, .utf16BE, .utf16LE:
            var bigEndian = encoding == .utf16BE
            var start = 0
            if encoding == .utf16 {
                bigEndian = b[0] == 0xFE
                start = 2
            }
            guard (b.count - start) % 2 == 0 else { return nil }
            var i = start
            while i < b.count {
                let unit = bigEndian ? UInt32(b[i]) << 8 | UInt32(b[i + 1]) : UInt32(b[i + 1]) << 8 | UInt32(b[i])
                i += 2
                if unit >= 0xD800 && unit <= 0xDBFF && i + 1 < b.count {
                    let low = bigEndian ? UInt32(b[i]) << 8 | UInt32(b[i + 1]) : UInt32(b[i + 1]) << 8 | UInt32(b[i])
                    if low >= 0xDC00 && low <= 0xDFFF {
                        i += 2
                        UTF8Check.appendScalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), to: &out)
                        continue
                    }
                }
                UTF8Check.appendCodePoint(unit, to: &out)
            }
        case .utf32, .utf32BE, .utf32LE:
            var bigEndian = encoding == .utf32BE
            var start = 0
            if encoding == .utf32 {
                bigEndian = b[0] == 0x00
                start = 4
            }
            guard (b.count - start) % 4 == 0 else { return nil }
            var i = start
            while i < b.count {
                let value: UInt32 =
                    bigEndian
                    ? UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
                    : UInt32(b[i + 3]) << 24 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i])
                guard value <= 0x10FFFF else { return nil }
                UTF8Check.appendCodePoint(value, to: &out)
                i += 4
            }
        case .utf8, .utf8BOM:
            out.append(contentsOf: b)
        }
        return out
    }
}

/// UTF-8 validation as Python's `utf-8` codec with `surrogatepass` (surrogates `ED A0..BF xx` allowed).
enum UTF8Check {
    /// Length of the valid sequence at `i`, and whether it encodes a surrogate; `nil` if invalid.
    @inline(__always)
    static func sequence(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (length: Int, surrogate: Bool)? {
        let b0 = b[i]
        if b0 < 0x80 { return (1, false) }
        @inline(__always) func cont(_ k: Int) -> Bool { k < b.count && b[k] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(i + 1) ? (2, false) : nil
        case 0xE0...0xEF:
            guard cont(i + 1), cont(i + 2) else { return nil }
            let b1 = b[i + 1]
            if b0 == 0xE0 && b1 < 0xA0 { return nil }
            return (3, b0 == 0xED && b1 >= 0xA0)
        case 0xF0...0xF4:
            guard cont(i + 1), cont(i + 2), cont(i + 3) else { return nil }
            let b1 = b[i + 1]
            if b0 == 0xF0 && b1 < 0x90 { return nil }
            if b0 == 0xF4 && b1 >= 0x90 { return nil }
            return (4, false)
        default:
            return nil
        }
    }

    /// Offset of the first byte that Python's decoder rejects, or `nil` when all is valid.
    static func firstInvalidOffset(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < b.count {
            if b[i] < 0x80 {
                i += 1
                continue
            }
            guard let (length, _) = sequence(b, i) else { return i }
            i += length
        }
        return nil
    }

    /// Number of code points before `byteOffset` in valid (surrogatepass) UTF-8.
    static func codePointIndex(_ b: UnsafeBufferPointer<UInt8>, byteOffset: Int) -> Int {
        var n = 0
        for k in 0..<min(byteOffset, b.count) where b[k] & 0xC0 != 0x80 { n += 1 }
        return n
    }

    static func encodingError(at offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(kind: .invalidEncoding, message: "'utf-8' codec can't decode the body", position: offset)
    }

    /// `true`: valid UTF-8 without surrogates; `false`: valid but contains surrogates. Throws if invalid.
    static func validateString(_ b: UnsafeBufferPointer<UInt8>, base: Int) throws(JSONSyntaxError) -> Bool {
        var i = 0
        var clean = true
        while i < b.count {
            if b[i] < 0x80 {
                i += 1
                continue
            }
            guard let (length, surrogate) = sequence(b, i) else { throw encodingError(at: base + i) }
            if surrogate { clean = false }
            i += length
        }
        return clean
    }

    /// Appends `b` to `out`, replacing encoded surrogates by U+FFFD. Throws if invalid.
    static func appendReplacingSurrogates(_ b: UnsafeBufferPointer<UInt8>, base: Int, to out: inout [UInt8])
        throws(JSONSyntaxError)
    {
        var i = 0
        while i < b.count {
            if b[i] < 0x80 {
                out.append(b[i])
                i += 1
                continue
            }
            guard let (length, surrogate) = sequence(b, i) else { throw encodingError(at: base + i) }
            if surrogate {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            } else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<(i + length)]))
            }
            i += length
        }
    }

    /// Appends a Unicode scalar as UTF-8; surrogate code points become U+FFFD.
    static func appendScalar(_ value: UInt32, to out: inout [UInt8]) {
        if value >= 0xD800 && value <= 0xDFFF {
            out.append(contentsOf: [0xEF, 0xBF, 0xBD])
        } else {
            appendCodePoint(value, to: &out)
        }
    }

    /// Appends any code point up to U+10FFFF as (generalized) UTF-8, surrogates included.
    static func appendCodePoint(_ value: UInt32, to out: inout [UInt8]) {
        switch value {
        case 0..<0x80:
            out.append(UInt8(value))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | value >> 6))
            out.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | value >> 12))
            out.append(UInt8(0x80 | (value >> 6) & 0x3F))
            out.append(UInt8(0x80 | value & 0x3F))
        default:
            out.append(UInt8(0xF0 | value >> 18))
            out.append(UInt8(0x80 | (value >> 12) & 0x3F))
            out.append(UInt8(0x80 | (value >> 6) & 0x3F))
            out.append(UInt8(0x80 | value & 0x3F))
        }
    }
}
