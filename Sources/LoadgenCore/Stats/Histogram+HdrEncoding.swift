import Foundation

/// HdrHistogram's standard binary encodings (the "V2" forms that Java's `AbstractHistogram`,
/// Python's `hdrhistogram`, HdrHistogram_c and the Rust crate write and read), so that loadgen's
/// histograms can go into interval logs and be read by the usual HdrHistogram tools, and back.
///
/// Uncompressed V2 (`encodedV2()`), all integers big-endian, a 40-byte header then the payload:
///
///     Int32  cookie 0x1c849313 (base 0x1c849303; bits 4...7 are a word-size nibble, ignored for V2)
///     Int32  payload length in bytes
///     Int32  normalizingIndexOffset (0; only Java's shifted histograms use it, and the payload is in
///            logical index order either way)
///     Int32  numberOfSignificantValueDigits
///     Int64  lowestDiscernibleValue
///     Int64  highestTrackableValue
///     Double integerToDoubleValueConversionRatio (1.0)
///     payload: the counts from index 0 through the index of the largest recorded value, each a ZigZag
///            LEB128 varint of at most 9 bytes (the 9th byte carries 8 bits); a run of two or more zero
///            counts is written as one negative number, minus the run length; a single zero is 0.
///
/// Compressed V2 (`encodedV2Compressed()`): cookie 0x1c849314 (base 0x1c849304), the length of the
/// compressed contents (Int32), then a zlib stream of the whole uncompressed V2 encoding. Its base64 is the
/// `HISTF...` text of interval logs (`hdrBase64`).
///
/// The counts array has the same length and index order as HdrHistogram's `countsArrayLength` for the same
/// (lowest, highest, digits), so counts are copied index for index.
///
/// What survives a round trip: the layout, every count, `totalCount`, and so every percentile below the
/// bucket of the largest value and the mean and standard deviation. The encodings do not carry the exact
/// minimum and maximum, nor `clampedCount`: decoding sets `minValue` to the lowest value equivalent to the
/// first non-zero count (the same `value(atPercentile: 0)` as the original), `maxValue` to the highest value
/// equivalent to the last non-zero count (capped at `highestTrackableValue`), which is what HdrHistogram's
/// `getMaxValue()` reports, and `clampedCount` to 0. So a decoded histogram equals the original exactly
/// when its maximum is the top of its bucket (for example every value below 2048 with the latency layout,
/// where buckets are 1 µs wide) and nothing was clamped; otherwise percentiles that fall in the maximum's
/// bucket are that bucket's highest equivalent value, as HdrHistogram reports them. `HdrIntervalLog` keeps
/// the exact maximum in its max column.
extension Histogram {
    /// The cookie of the uncompressed V2 encoding, as HdrHistogram writes it (`0x1c849303 | 0x10`).
    public static let hdrV2Cookie: UInt32 = 0x1c84_9313
    /// The cookie of the compressed V2 encoding, as HdrHistogram writes it (`0x1c849304 | 0x10`).
    public static let hdrV2CompressedCookie: UInt32 = 0x1c84_9314

    static let hdrV2CookieBase: UInt32 = 0x1c84_9303
    static let hdrV2CompressedCookieBase: UInt32 = 0x1c84_9304
    static let hdrHeaderSize = 40
    /// The longest ZigZag LEB128-64b9B varint.
    static let hdrMaxVarintSize = 9

    /// The uncompressed V2 encoding (header and varint payload).
    public func encodedV2() -> [UInt8] {
        // As HdrHistogram: counts through the index of the largest value (index 0 only when empty).
        let countsLimit = countsIndex(of: maxValue ?? 0) + 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.hdrHeaderSize + 16)
        Self.append(Self.hdrV2Cookie, to: &bytes)
        Self.append(UInt32(0), to: &bytes)  // payload length, set below
        Self.append(UInt32(0), to: &bytes)  // normalizingIndexOffset
        Self.append(UInt32(significantDigits), to: &bytes)
        Self.append(UInt64(bitPattern: lowestDiscernibleValue), to: &bytes)
        Self.append(UInt64(bitPattern: highestTrackableValue), to: &bytes)
        Self.append((1.0 as Double).bitPattern, to: &bytes)

        var index = 0
        while index < countsLimit {
            let count = counts[index]
            index += 1
            if count != 0 {
                Self.appendVarint(count, to: &bytes)
                continue
            }
            var zeros: Int64 = 1
            while index < countsLimit && counts[index] == 0 {
                zeros += 1
                index += 1
            }
            Self.appendVarint(zeros > 1 ? -zeros : 0, to: &bytes)
        }
        let payloadLength = UInt32(bytes.count - Self.hdrHeaderSize)
        for offset in 0..<4 { bytes[4 + offset] = UInt8(truncatingIfNeeded: payloadLength >> UInt32(24 - 8 * offset)) }
        return bytes
    }

    /// The compressed V2 encoding: cookie, compressed length, zlib stream of `encodedV2()`.
    public func encodedV2Compressed() -> [UInt8] {
        let compressed = Zlib.compress(encodedV2())
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + compressed.count)
        Self.append(Self.hdrV2CompressedCookie, to: &bytes)
        Self.append(UInt32(compressed.count), to: &bytes)
        return bytes + compressed
    }

    /// The base64 of `encodedV2Compressed()`, as in HdrHistogram interval logs (it starts with "HISTF").
    public var hdrBase64: String { Data(encodedV2Compressed()).base64EncodedString() }

    /// Decodes the base64 text of a V2 encoding, compressed (`HISTF...`) or not; surrounding whitespace is
    /// ignored. See `init(hdrEncoded:)`.
    public init(hdrBase64 text: String) throws(HistogramError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed) else { throw .invalidHdrEncoding(.invalidBase64) }
        try self.init(hdrEncoded: [UInt8](data))
    }

    /// Decodes HdrHistogram's V2 encoding, compressed or not, as written by `encodedV2()` /
    /// `encodedV2Compressed()` or by HdrHistogram's own libraries. The layout is the encoded one; see the
    /// extension's documentation for what is restored exactly. Throws `.invalidHdrEncoding` with the reason.
    public init(hdrEncoded bytes: [UInt8]) throws(HistogramError) {
        do {
            self = try Self.decodeHdr(bytes)
        } catch {
            throw .invalidHdrEncoding(error)
        }
    }

    // MARK: Decoding

    private struct HdrHeader {
        var payloadLength: Int
        var significantDigits: Int
        var lowest: Int64
        var highest: Int64
    }

    private static func decodeHdr(_ bytes: [UInt8]) throws(HdrDecodingError) -> Histogram {
        guard bytes.count >= 4 else { throw .truncated("\(bytes.count) bytes, no cookie") }
        let cookie = readUInt32(bytes, at: 0)
        switch cookieBase(cookie) {
        case hdrV2CookieBase:
            let header = try parseHeader(bytes)
            let histogram = try emptyHistogram(header)
            let available = bytes.count - hdrHeaderSize
            guard available >= header.payloadLength else {
                throw .truncated("payload of \(header.payloadLength) bytes, \(available) present")
            }
            guard available == header.payloadLength else { throw .trailingBytes(available - header.payloadLength) }
            return try decodePayload(bytes[hdrHeaderSize...], into: histogram)
        case hdrV2CompressedCookieBase:
            guard bytes.count >= 8 else { throw .truncated("no compressed length") }
            let declared = Int(Int32(bitPattern: readUInt32(bytes, at: 4)))
            guard declared >= 0 else { throw .invalidPayload("negative compressed length \(declared)") }
            let available = bytes.count - 8
            guard available >= declared else {
                throw .truncated("compressed contents of \(declared) bytes, \(available) present")
            }
            guard available == declared else { throw .trailingBytes(available - declared) }
            let stream = Array(bytes[8...])
            let encoded: [UInt8]
            let histogram: Histogram
            let payloadLength: Int
            do {
                // The header first, so that the payload can be bounded by what the layout can need.
                let prefix = try Zlib.decompressPrefix(stream, count: hdrHeaderSize)
                guard prefix.count >= 4 else {
                    throw HdrDecodingError.truncated("compressed contents without a cookie")
                }
                let prefixCookie = readUInt32(prefix, at: 0)
                guard cookieBase(prefixCookie) == hdrV2CookieBase else {
                    throw HdrDecodingError.badCookie(prefixCookie)
                }
                guard prefix.count == hdrHeaderSize else { throw HdrDecodingError.truncated("compressed header") }
                let header = try parseHeader(prefix)
                // Bounded by the payload length, itself bounded by the layout (`emptyHistogram`).
                histogram = try emptyHistogram(header)
                payloadLength = header.payloadLength
                encoded = try Zlib.decompress(stream, maxOutputSize: hdrHeaderSize + payloadLength)
            } catch let error as ZlibError {
                throw .compression(error)
            } catch let error as HdrDecodingError {
                throw error
            } catch {
                throw .invalidPayload("\(error)")
            }
            let inflated = encoded.count - hdrHeaderSize
            guard inflated == payloadLength else {
                throw .truncated("payload of \(payloadLength) bytes, \(inflated) inflated")
            }
            return try decodePayload(encoded[hdrHeaderSize...], into: histogram)
        case 0x1c84_9301, 0x1c84_9302: throw .unsupportedEncoding("HdrHistogram V1 encoding")
        case 0x1c84_9308, 0x1c84_9309: throw .unsupportedEncoding("HdrHistogram V0 encoding")
        default: throw .badCookie(cookie)
        }
    }

    /// The cookie without its word-size nibble.
    private static func cookieBase(_ cookie: UInt32) -> UInt32 { cookie & ~0xf0 }

    private static func parseHeader(_ bytes: [UInt8]) throws(HdrDecodingError) -> HdrHeader {
        guard bytes.count >= hdrHeaderSize else { throw .truncated("header of \(bytes.count) of 40 bytes") }
        let payloadLength = Int(Int32(bitPattern: readUInt32(bytes, at: 4)))
        let digits = Int(Int32(bitPattern: readUInt32(bytes, at: 12)))
        let lowest = Int64(bitPattern: readUInt64(bytes, at: 16))
        let highest = Int64(bitPattern: readUInt64(bytes, at: 24))
        let ratio = Double(bitPattern: readUInt64(bytes, at: 32))
        guard payloadLength >= 0 else { throw .invalidPayload("negative payload length \(payloadLength)") }
        guard (1...5).contains(digits) else {
            throw .unsupportedLayout("numberOfSignificantValueDigits \(digits) (1...5 supported)")
        }
        guard lowest >= 1 else { throw .unsupportedLayout("lowestDiscernibleValue \(lowest)") }
        guard highest / 2 >= lowest else {
            throw .unsupportedLayout("highestTrackableValue \(highest) below 2 * lowestDiscernibleValue \(lowest)")
        }
        guard ratio == 1.0 else {
            throw .unsupportedLayout("integerToDoubleValueConversionRatio \(ratio) (only integer histograms)")
        }
        return HdrHeader(payloadLength: payloadLength, significantDigits: digits, lowest: lowest, highest: highest)
    }

    /// The empty histogram of the header's layout; throws when the declared payload is longer than its
    /// counts can need (9 bytes each), which also bounds what a compressed payload may inflate to.
    private static func emptyHistogram(_ header: HdrHeader) throws(HdrDecodingError) -> Histogram {
        let histogram: Histogram
        do {
            histogram = try Histogram(
                lowestDiscernibleValue: header.lowest, highestTrackableValue: header.highest,
                significantDigits: header.significantDigits)
        } catch {
            throw .unsupportedLayout("\(error)")
        }
        let countsLength = histogram.counts.count
        guard header.payloadLength <= countsLength * hdrMaxVarintSize else {
            throw .invalidPayload("\(header.payloadLength) bytes, more than \(countsLength) counts can take")
        }
        return histogram
    }

    private static func decodePayload(_ payload: ArraySlice<UInt8>, into empty: Histogram) throws(HdrDecodingError)
        -> Histogram
    {
        var histogram = empty
        let countsLength = histogram.counts.count
        var position = payload.startIndex
        var index = 0
        var total: Int64 = 0
        var firstIndex: Int?
        var lastIndex: Int?
        while position < payload.endIndex {
            let value = try readVarint(payload, at: &position)
            if value < 0 {
                // A run of zero counts. The magnitude is bounded as in HdrHistogram (at most Int32.max).
                guard value >= -Int64(Int32.max) else { throw .invalidPayload("zero run of \(value.magnitude)") }
                index += Int(-value)
                continue
            }
            if value > 0 {
                guard index < countsLength else { throw .countsBeyondLayout(index: index, countsLength: countsLength) }
                histogram.counts[index] = value
                let (sum, overflow) = total.addingReportingOverflow(value)
                guard !overflow else { throw .invalidPayload("the total count overflows") }
                total = sum
                if firstIndex == nil { firstIndex = index }
                lastIndex = index
            }
            index += 1
        }
        histogram.totalCount = total
        if let firstIndex, let lastIndex {
            histogram.minValue = histogram.value(atIndex: firstIndex)
            histogram.maxValue = min(
                histogram.highestEquivalentValue(histogram.value(atIndex: lastIndex)), histogram.highestTrackableValue)
        }
        return histogram
    }

    // MARK: Bytes

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in offset..<(offset + 4) { value = value << 8 | UInt32(bytes[index]) }
        return value
    }

    private static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + 8) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    /// ZigZag then LEB128 with at most 9 bytes: eight 7-bit groups, then a 9th byte with the last 8 bits.
    static func appendVarint(_ value: Int64, to bytes: inout [UInt8]) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        for _ in 0..<8 {
            if zigzag < 0x80 {
                bytes.append(UInt8(zigzag))
                return
            }
            bytes.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: zigzag))
    }

    static func readVarint(_ bytes: ArraySlice<UInt8>, at position: inout Int) throws(HdrDecodingError) -> Int64 {
        var zigzag: UInt64 = 0
        var shift: UInt64 = 0
        var complete = false
        while shift < 56 {
            guard position < bytes.endIndex else { throw .truncated("a count ends early") }
            let byte = bytes[position]
            position += 1
            zigzag |= UInt64(byte & 0x7f) << shift
            shift += 7
            if byte & 0x80 == 0 {
                complete = true
                break
            }
        }
        if !complete {
            guard position < bytes.endIndex else { throw .truncated("a count ends early") }
            zigzag |= UInt64(bytes[position]) << 56
            position += 1
        }
        return Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
    }
}
