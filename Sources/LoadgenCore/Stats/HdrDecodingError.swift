/// Why bytes are not a histogram in HdrHistogram's V2 encoding that `Histogram(hdrEncoded:)` can read.
public enum HdrDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The first four bytes are not a V2 cookie (uncompressed `0x1c849303`, compressed `0x1c849304`,
    /// either with any word-size nibble in bits 4...7, written as `0x1c849313` / `0x1c849314`).
    case badCookie(UInt32)
    /// A known but unsupported encoding (HdrHistogram's V0 and V1 forms).
    case unsupportedEncoding(String)
    /// The bytes end before the header, payload or compressed contents do.
    case truncated(String)
    /// Bytes follow the declared payload or compressed contents.
    case trailingBytes(Int)
    /// The header describes a layout this histogram cannot have (digits outside 1...5, lowest < 1,
    /// highest < 2 * lowest, or a value conversion ratio other than 1.0).
    case unsupportedLayout(String)
    /// A non-zero count at an index past the end of the layout's counts array.
    case countsBeyondLayout(index: Int, countsLength: Int)
    /// The payload is malformed (negative or overflowing counts, a payload too long for the layout).
    case invalidPayload(String)
    /// The compressed contents are not a valid zlib stream.
    case compression(ZlibError)
    /// The text is not base64.
    case invalidBase64

    /// A human-readable message.
    public var description: String {
        switch self {
        case .badCookie(let cookie):
            return "not an HdrHistogram V2 encoding (cookie 0x\(String(cookie, radix: 16)))"
        case .unsupportedEncoding(let message): return "unsupported encoding: \(message)"
        case .truncated(let message): return "truncated: \(message)"
        case .trailingBytes(let count): return "\(count) unexpected bytes after the encoded histogram"
        case .unsupportedLayout(let message): return "unsupported layout: \(message)"
        case .countsBeyondLayout(let index, let countsLength):
            return "a count at index \(index) is beyond the layout's \(countsLength) counts"
        case .invalidPayload(let message): return "invalid payload: \(message)"
        case .compression(let error): return "\(error)"
        case .invalidBase64: return "not base64"
        }
    }
}
