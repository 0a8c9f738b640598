/// zlib streams (RFC 1950) around DEFLATE (RFC 1951), written here so that loadgen needs no system zlib.
///
/// - `compress(_:)` writes one final block: fixed-Huffman codes over a greedy LZ77 parse (32 KiB window),
///   or a stored (uncompressed) block when that is not smaller. The stream is readable by any inflater.
/// - `decompress(_:maxOutputSize:)` is a full inflater (stored, fixed and dynamic Huffman blocks), so it
///   reads what real zlib writes. Corrupt input throws a `ZlibError`; it never reads out of bounds and
///   never produces more than `maxOutputSize` bytes.
public enum Zlib {
    /// Compresses `bytes` into a complete zlib stream (header, DEFLATE data, Adler-32 trailer).
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        // CMF 0x78: deflate with a 32 KiB window; FLG 0x01: no dictionary, "fastest" level, FCHECK so that
        // (CMF * 256 + FLG) is a multiple of 31.
        var output: [UInt8] = [0x78, 0x01]
        let huffman = DeflateWriter.fixedHuffmanBlock(bytes)
        if huffman.count < DeflateWriter.storedSize(bytes.count) {
            output += huffman
        } else {
            DeflateWriter.appendStoredBlocks(bytes, to: &output)
        }
        appendBigEndian(adler32(bytes), to: &output)
        return output
    }

    /// Decompresses one complete zlib stream. Throws when the stream is corrupt, truncated, followed by
    /// extra bytes, uses a preset dictionary, or would inflate to more than `maxOutputSize` bytes.
    public static func decompress(_ bytes: [UInt8], maxOutputSize: Int) throws(ZlibError) -> [UInt8] {
        var inflater = try Inflater(zlibStream: bytes, limit: maxOutputSize, stopAtLimit: false)
        try inflater.run()
        try inflater.finishZlibStream()
        return inflater.output
    }

    /// The first `count` bytes that `bytes` inflates to (fewer when the stream ends first), without
    /// checking the rest of the stream; used to read a header before the full size is known.
    static func decompressPrefix(_ bytes: [UInt8], count: Int) throws(ZlibError) -> [UInt8] {
        var inflater = try Inflater(zlibStream: bytes, limit: count, stopAtLimit: true)
        try inflater.run()
        return inflater.output
    }

    /// The Adler-32 checksum of `bytes` (RFC 1950 section 8.2).
    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        var index = 0
        // 5552 is the largest n with 255 n (n + 1) / 2 + (n + 1) (65520) < 2^32: no overflow before the modulo.
        while index < bytes.count {
            let end = min(index + 5552, bytes.count)
            while index < end {
                a += UInt32(bytes[index])
                b += a
                index += 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }

    static func appendBigEndian(_ value: UInt32, to output: inout [UInt8]) {
        output += [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                   UInt8(truncatingIfNeeded: value)]
    }
}

/// Why a zlib stream could not be decompressed.
public enum ZlibError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 2-byte zlib header is invalid (wrong method, window, check bits) or asks for a preset dictionary.
    case invalidHeader(String)
    /// The DEFLATE data is invalid (bad block type, code lengths, symbols or distances).
    case invalidData(String)
    /// The input ended before the stream did.
    case truncated
    /// The Adler-32 trailer does not match the decompressed bytes.
    case checksumMismatch
    /// Bytes follow the end of the stream.
    case trailingBytes(Int)
    /// The stream inflates to more than the allowed number of bytes.
    case outputTooLarge(limit: Int)

    /// A human-readable message.
    public var description: String {
        switch self {
        case .invalidHeader(let message): return "invalid zlib header: \(message)"
        case .invalidData(let message): return "invalid deflate data: \(message)"
        case .truncated: return "truncated zlib stream"
        case .checksumMismatch: return "zlib Adler-32 checksum mismatch"
        case .trailingBytes(let count): return "\(count) bytes after the end of the zlib stream"
        case .outputTooLarge(let limit): return "zlib stream inflates to more than \(limit) bytes"
        }
    }
}

// MARK: - Tables shared by the writer and the reader (RFC 1951 section 3.2.5)

enum DeflateTables {
    /// Base match length of length symbols 257...285.
    static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ]
    /// Extra bits of length symbols 257...285.
    static let lengthExtra: [Int] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    /// Base distance of distance symbols 0...29.
    static let distanceBase: [Int] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ]
    /// Extra bits of distance symbols 0...29.
    static let distanceExtra: [Int] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]
    /// Code lengths of the fixed literal/length code (symbols 0...287).
    static let fixedLiteralLengths: [Int] =
        [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112) + [Int](repeating: 7, count: 24)
        + [Int](repeating: 8, count: 8)
    /// Code lengths of the fixed distance code (symbols 0...29, plus the two unused 30 and 31).
    static let fixedDistanceLengths: [Int] = [Int](repeating: 5, count: 32)
    /// Order in which a dynamic block lists the code-length code's lengths.
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
}
