import Foundation
import Testing

@testable import LoadgenCore

/// zlib (our writer and inflater), HdrHistogram's V2 encodings and interval logs, checked against streams
/// and histograms written by real zlib and Python's `hdrhistogram` package (vectors generated with Python
/// 3.11 zlib and hdrhistogram 0.10.8), and against that package at run time.
@Suite struct HdrEncodingTests {
    static func bytes(base64 text: String) -> [UInt8] { [UInt8](Data(base64Encoded: text) ?? Data()) }
    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return result
    }
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
    static func varints(_ payload: ArraySlice<UInt8>) throws -> [Int64] {
        var position = payload.startIndex
        var values: [Int64] = []
        while position < payload.endIndex { values.append(try Histogram.readVarint(payload, at: &position)) }
        return values
    }
    static func randomBytes(_ count: Int, seed: UInt64, alphabet: Int = 256) -> [UInt8] {
        var rng = TestRNG(state: seed)
        return (0..<count).map { _ in UInt8(rng.next() % UInt64(alphabet)) }
    }

    // MARK: zlib: our writer, our inflater

    @Test func zlibRoundTripsEmptySmallLargeAndRandom() throws {
        let text = Array("latency histograms, latency histograms, log-linear buckets ".utf8)
        var large: [UInt8] = []
        // Over 32 KiB (matches across the whole window) and over 64 KiB (several stored blocks) where it matters.
        for index in 0..<4_000 { large += Array("line \(index % 97): \(index * 7 % 1000) µs\n".utf8) }
        let inputs: [[UInt8]] = [
            [], [0], [1, 2, 3], text, [UInt8](repeating: 7, count: 100_000), large,
            Self.randomBytes(70_000, seed: 1), Self.randomBytes(5_000, seed: 2, alphabet: 4),
            Self.randomBytes(80_000, seed: 3, alphabet: 16),
        ]
        for input in inputs {
            let compressed = Zlib.compress(input)
            #expect((Int(compressed[0]) << 8 | Int(compressed[1])) % 31 == 0)
            let output = try Zlib.decompress(compressed, maxOutputSize: input.count)
            #expect(output == input, "round trip of \(input.count) bytes")
        }
        // Repetitive data really is compressed (fixed Huffman + LZ77); random data falls back to stored blocks.
        #expect(Zlib.compress([UInt8](repeating: 7, count: 100_000)).count < 1_000)
        #expect(Zlib.compress(large).count < large.count / 2)
        #expect(Zlib.compress(Self.randomBytes(70_000, seed: 1)).count == 70_000 + 2 * 5 + 6)
    }

    @Test func adler32MatchesZlib() {
        #expect(Zlib.adler32([]) == 1)
        #expect(Zlib.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        // python3 -c 'import zlib; print(zlib.adler32(bytes(range(256)) * 300))'
        #expect(Zlib.adler32([UInt8]((0..<76_800).map { UInt8($0 % 256) })) == 167_277_244)
    }

    /// Streams written by real zlib (Python 3.11): fixed Huffman, dynamic Huffman, stored, and two blocks
    /// separated by a full flush (an empty stored block).
    @Test func inflatesStreamsWrittenByRealZlib() throws {
        let fixed = Self.bytes(base64: "eNrLSM3JyVfIQCd1FDxSijwyi0vy04sScxUBEcsN6g==")
        #expect((fixed[2] >> 1) & 3 == 1)
        #expect(try Zlib.decompress(fixed, maxOutputSize: 1 << 20) == Array("hello hello hello hello, HdrHistogram!".utf8))

        let dynamicData = Self.bytes(base64: Self.dynamicPlain)
        let dynamic = Self.bytes(base64: Self.dynamicCompressed)
        #expect(dynamicData.count == 600)
        #expect((dynamic[2] >> 1) & 3 == 2)
        #expect(try Zlib.decompress(dynamic, maxOutputSize: 600) == dynamicData)

        let stored = Self.bytes(base64: "eAEBEgDt/3N0b3JlZCBibG9jayBieXRlc0MVBwQ=")
        #expect(try Zlib.decompress(stored, maxOutputSize: 100) == Array("stored block bytes".utf8))

        let twoBlocks = Self.bytes(
            base64: "eJxKyywqLlEoSCwqUUijPRMAAAD//zWLwREAQQjC/nZJoP8aDt25B4oBkSVRyeusf+DHLxuTcJYhbIfSnjBZWgWjDefe7O6YD1CETP8=")
        let expected = Array(String(repeating: "first part ", count: 10).utf8) + dynamicData[0..<100]
        #expect(try Zlib.decompress(twoBlocks, maxOutputSize: 1 << 20) == expected)
    }

    @Test func inflateRejectsBadStreamsWithTheReason() {
        let good = Zlib.compress(Array("some text some text some text".utf8))
        #expect(throws: ZlibError.truncated) { try Zlib.decompress([], maxOutputSize: 100) }
        #expect(throws: ZlibError.truncated) { try Zlib.decompress([0x78], maxOutputSize: 100) }
        #expect(throws: ZlibError.self) { try Zlib.decompress([0x79, 0x9c, 0x03, 0x00], maxOutputSize: 100) }
        #expect(throws: ZlibError.invalidHeader("header check bits do not match")) {
            try Zlib.decompress([0x78, 0x9d] + good.dropFirst(2), maxOutputSize: 100)
        }
        #expect(throws: ZlibError.invalidHeader("a preset dictionary is not supported")) {
            try Zlib.decompress([0x78, 0xbb, 0, 0, 0, 0], maxOutputSize: 100)
        }
        var badChecksum = good
        badChecksum[badChecksum.count - 1] ^= 1
        #expect(throws: ZlibError.checksumMismatch) { try Zlib.decompress(badChecksum, maxOutputSize: 100) }
        #expect(throws: ZlibError.trailingBytes(1)) { try Zlib.decompress(good + [0], maxOutputSize: 100) }
        #expect(throws: ZlibError.truncated) { try Zlib.decompress(Array(good.dropLast()), maxOutputSize: 100) }
        // Block type 3 is reserved: first byte after the header 0b111 = final, type 3.
        #expect(throws: ZlibError.invalidData("reserved block type 3")) {
            try Zlib.decompress([0x78, 0x01, 0x07, 0, 0, 0, 0], maxOutputSize: 100)
        }
        // The output bound: exactly enough is fine, one byte less throws.
        let input = [UInt8](repeating: 42, count: 10_000)
        let compressed = Zlib.compress(input)
        #expect((try? Zlib.decompress(compressed, maxOutputSize: 10_000)) == input)
        #expect(throws: ZlibError.outputTooLarge(limit: 9_999)) { try Zlib.decompress(compressed, maxOutputSize: 9_999) }
        #expect(throws: ZlibError.outputTooLarge(limit: 0)) {
            try Zlib.decompress(Zlib.compress(Self.randomBytes(100, seed: 9)), maxOutputSize: 0)
        }
        // A distance reaching before the output (fixed block: length 3 at distance 1 with nothing written).
        var writer = DeflateWriter.BitWriter()
        writer.write(1, count: 1)
        writer.write(1, count: 2)
        let lengthCode = DeflateWriter.FixedCodes.literal
        writer.write(lengthCode.codes[257], count: lengthCode.lengths[257])
        writer.write(0, count: 5)
        #expect(throws: ZlibError.invalidData("distance 1 reaches before the start of the output")) {
            try Zlib.decompress([0x78, 0x01] + writer.finish() + [0, 0, 0, 1], maxOutputSize: 100)
        }
    }

    /// Random byte changes, bit flips and truncations of valid streams (ours and real zlib's, all block
    /// types) either throw a `ZlibError` or inflate to the original bytes (a change in the padding bits
    /// after the last block is harmless), within the bound: they never trap.
    @Test func corruptStreamsThrowOrDecodeButNeverCrash() throws {
        var sample = Histogram.latency()
        for value in HistogramTests.randomValues(seed: 11, count: 2_000) { sample.record(value) }
        let streams: [[UInt8]] = [
            Self.bytes(base64: Self.dynamicCompressed),
            Self.bytes(base64: "eNrLSM3JyVfIQCd1FDxSijwyi0vy04sScxUBEcsN6g=="),
            Self.bytes(base64: "eAEBEgDt/3N0b3JlZCBibG9jayBieXRlc0MVBwQ="),
            Zlib.compress(Self.randomBytes(3_000, seed: 5, alphabet: 8)),
            Array(Histogram.latency().encodedV2Compressed().dropFirst(8)),
            Array(sample.encodedV2Compressed().dropFirst(8)),
        ]
        var rng = TestRNG(state: 99)
        // Every truncation point, and per stream 400 random corruptions (1 to 4 changes, bit flips and byte changes).
        let rounds = 400
        var threw = 0
        for stream in streams {
            let original = try Zlib.decompress(stream, maxOutputSize: 1 << 20)
            for cut in 0..<stream.count {
                #expect(throws: ZlibError.self) { try Zlib.decompress(Array(stream[0..<cut]), maxOutputSize: 1 << 20) }
            }
            for round in 0..<rounds {
                var corrupt = stream
                for _ in 0..<(1 + round % 4) {
                    let at = Int(rng.next() % UInt64(corrupt.count))
                    if round % 2 == 0 {
                        corrupt[at] ^= UInt8(1 << (rng.next() % 8))
                    } else {
                        corrupt[at] ^= UInt8(1 + rng.next() % 255)
                    }
                }
                do {
                    let output = try Zlib.decompress(corrupt, maxOutputSize: 1 << 16)
                    #expect(output == original)
                } catch {
                    threw += 1
                }
            }
        }
        #expect(threw > streams.count * rounds * 14 / 15)  // as 1,400 of 1,500
    }

    // MARK: Histogram V2

    @Test func countsArrayMatchesHdrHistogramLength() {
        // countsArrayLength from Python hdrhistogram 0.10.8: HdrHistogram(1, 3600000000, 3).counts_len, and
        // HdrHistogram(1000, 10**12, 2).counts_len.
        #expect(Histogram.latency().counts.count == 23_552)
        #expect((try? Histogram(lowestDiscernibleValue: 1000, highestTrackableValue: 1_000_000_000_000, significantDigits: 2))?
            .counts.count == 3_200)
    }

    /// The histogram Python's hdrhistogram built from these values (`HdrHistogram(1, 3600000000, 3)`).
    static let pythonValues: [(Int64, Int64)] = [
        (1, 1), (2, 3), (1000, 5), (2047, 1), (2048, 2), (2049, 1), (123_456, 10), (10_000_000, 4),
        (3_600_000_000, 2),
    ]
    static let pythonBase64 = "HISTFAAAADN4nJNpmSzMwMAgwgABzFCaEURcm7yEwf4DVICJ7SQ/12oBJrb+OJHPKRx32xlZAOFLChI="
    static let pythonUncompressedHex =
        "1c849313000000140000000000000003000000000000000100000000d693a4003ff0000000000000010206c90f0aab1002068f5e14f36408dd870104"

    @Test func decodesAHistogramEncodedByPython() throws {
        var ours = Histogram.latency()
        for (value, count) in Self.pythonValues { ours.record(value, count: count) }
        let decoded = try Histogram(hdrBase64: Self.pythonBase64)
        #expect(decoded.counts == ours.counts)
        #expect(decoded.totalCount == 29)
        #expect(decoded.sameLayout(as: ours))
        // Python: p50 123519, p99 3600809983 (the top bucket's highest equivalent value, above
        // highestTrackableValue); ours caps the maximum at highestTrackableValue.
        #expect(decoded.value(atPercentile: 50) == 123_519)
        #expect(decoded.maxValue == 3_600_000_000)
        #expect(decoded.highestEquivalentValue(decoded.value(atPercentile: 99)) == 3_600_809_983)
        #expect(decoded.minValue == 1)
        // Our uncompressed encoding is Python's (zlib-decompressed) one, header and counts, except that a
        // lone zero count is written 0 as Java does, where Python's encoder writes a zero run of 1 (-1).
        let pythonV2 = Self.bytes(hex: Self.pythonUncompressedHex)
        let ourV2 = ours.encodedV2()
        #expect(ourV2[0..<4] == pythonV2[0..<4] && ourV2[8..<40] == pythonV2[8..<40])
        #expect(try Self.varints(ourV2[40...]) == Self.varints(pythonV2[40...]).map { $0 == -1 ? 0 : $0 })
        #expect(try Self.varints(ourV2[40...]) == [0, 1, 3, -997, 5, -1046, 1, 3, -6024, 10, -6458, 4, -8687, 2])
        #expect(try Histogram(hdrEncoded: Self.bytes(hex: Self.pythonUncompressedHex)).counts == ours.counts)

        // Another layout, from Python: HdrHistogram(1000, 10**12, 2) with 1000, 5000, 123456789, 10**12.
        let other = try Histogram(
            hdrBase64: "HISTFAAAACx4nJNpmSzMwMDAxQABTBCK+QWQeHFlqQCD/QeICCMTL9NBcabvkkwAq54H3A==")
        #expect(other.lowestDiscernibleValue == 1000 && other.highestTrackableValue == 1_000_000_000_000)
        #expect(other.significantDigits == 2 && other.totalCount == 4)
        // Python: [h.get_value_from_index(i) for i in range(h.counts_len) if h.get_count_at_index(i)] (the unit
        // is 512, the power of two at or below 1000).
        #expect(other.nonZeroCounts().map(\.value) == [512, 4608, 123_207_680, 996_432_412_672])
    }

    static func sample(_ values: [Int64], layout: Histogram = .latency()) -> Histogram {
        var histogram = layout
        for value in values { histogram.record(value) }
        return histogram
    }

    static let percentiles: [Double] = [0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]

    /// What round-trips: layout, counts, totalCount, percentiles below the maximum's bucket; the decoded
    /// maximum is its bucket's highest equivalent value (capped at highestTrackableValue), the minimum its
    /// bucket's lowest, clampedCount 0.
    func expectRoundTrip(_ original: Histogram, _ label: String) throws {
        // The original's figures, computed once for the three forms (a wide layout has millions of counts).
        let expectedPercentiles = Self.percentiles.map { original.value(atPercentile: $0) }
        let (mean, standardDeviation) = (original.mean, original.standardDeviation)
        for (form, decoded) in [
            ("V2", try Histogram(hdrEncoded: original.encodedV2())),
            ("compressed", try Histogram(hdrEncoded: original.encodedV2Compressed())),
            ("base64", try Histogram(hdrBase64: original.hdrBase64)),
        ] {
            #expect(decoded.sameLayout(as: original), "\(label) \(form)")
            #expect(decoded.counts == original.counts, "\(label) \(form)")
            #expect(decoded.totalCount == original.totalCount, "\(label) \(form)")
            #expect(decoded.clampedCount == 0)
            #expect(decoded.minValue == original.minValue.map { original.lowestEquivalentValue($0) }, "\(label)")
            #expect(
                decoded.maxValue
                    == original.maxValue.map { min(original.highestEquivalentValue($0), original.highestTrackableValue) },
                "\(label) \(form)")
            #expect(decoded.mean == mean && decoded.standardDeviation == standardDeviation)
            for (percentile, expected) in zip(Self.percentiles, expectedPercentiles) {
                let actual = decoded.value(atPercentile: percentile)
                if let max = original.maxValue, original.valuesAreEquivalent(expected, max), percentile > 0 {
                    #expect(actual == decoded.maxValue, "\(label) \(form) p\(percentile)")
                } else {
                    #expect(actual == expected, "\(label) \(form) p\(percentile)")
                }
            }
            if let max = original.maxValue, original.clampedCount == 0,
                max == min(original.highestEquivalentValue(max), original.highestTrackableValue),
                original.minValue.map({ original.lowestEquivalentValue($0) == $0 }) ?? true
            {
                #expect(decoded == original, "\(label) \(form): exact round trip")
            }
        }
    }

    @Test func histogramsRoundTripThroughV2() throws {
        try expectRoundTrip(Histogram.latency(), "empty")
        try expectRoundTrip(Self.sample([1234]), "single value")
        try expectRoundTrip(Self.sample([0]), "zero")
        try expectRoundTrip(Self.sample([5, 5, 5, 17, 2047, 1999, 1]), "small values (exact)")
        try expectRoundTrip(Self.sample(HistogramTests.randomValues(seed: 7, count: 10_000)), "wide spread")
        try expectRoundTrip(Self.sample([1, 3_599_999_999, 3_600_000_000, 9_000_000_000]), "top of the range")
        try expectRoundTrip(Self.sample([1, 1_000, 1_000_000, 1_000_000_000, 3_600_000_000]), "decades")
        let coarse = try Histogram(lowestDiscernibleValue: 1000, highestTrackableValue: 1 << 40, significantDigits: 2)
        try expectRoundTrip(Self.sample([0, 999, 1000, 1_000_000, 1 << 40], layout: coarse), "coarse layout")
        let fine = try Histogram(lowestDiscernibleValue: 1, highestTrackableValue: Int64.max, significantDigits: 5)
        try expectRoundTrip(Self.sample([1, Int64.max / 3, Int64.max], layout: fine), "full range, 5 digits")
        // Exact equality where every recorded value is its bucket's only value.
        let exact = Self.sample([0, 1, 2, 3, 100, 2047])
        #expect(try Histogram(hdrBase64: exact.hdrBase64) == exact)
        // Big counts use all nine varint bytes.
        var big = Histogram.latency()
        big.record(10, count: Int64.max / 2)
        big.record(20, count: 1 << 60)
        try expectRoundTrip(big, "big counts")
        // The compressed form is the "HISTF" text of interval logs.
        #expect(Self.sample([1, 2, 3]).hdrBase64.hasPrefix("HISTF"))
    }

    @Test func varintsMatchHdrHistogramLEB128Of9Bytes() throws {
        let values: [Int64] = [0, 1, -1, 63, -64, 64, 1 << 20, -(1 << 40), Int64.max, Int64.min, Int64.max / 2]
        for value in values {
            var bytes: [UInt8] = []
            Histogram.appendVarint(value, to: &bytes)
            #expect(bytes.count <= 9)
            var position = 0
            #expect(try Histogram.readVarint(bytes[...], at: &position) == value)
            #expect(position == bytes.count)
        }
        var bytes: [UInt8] = []
        Histogram.appendVarint(Int64.min, to: &bytes)
        #expect(bytes == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        bytes = []
        Histogram.appendVarint(-2, to: &bytes)
        #expect(bytes == [3])
    }

    @Test func decodingRejectsBadInputWithClearErrors() throws {
        func failure(_ bytes: [UInt8]) -> HdrDecodingError? {
            do {
                _ = try Histogram(hdrEncoded: bytes)
                return nil
            } catch {
                if case .invalidHdrEncoding(let reason) = error { return reason }
                return nil
            }
        }
        let sample = Self.sample([1, 100, 10_000, 1_000_000])
        let v2 = sample.encodedV2()
        let compressed = sample.encodedV2Compressed()
        #expect(failure([1, 2, 3, 4, 5, 6, 7, 8]) == .badCookie(0x0102_0304))
        #expect(failure([0x1c, 0x84]) == .truncated("2 bytes, no cookie"))
        #expect(failure(Array(v2[0..<20])) == .truncated("header of 20 of 40 bytes"))
        #expect(failure(Array(v2.dropLast())) == .truncated("payload of \(v2.count - 40) bytes, \(v2.count - 41) present"))
        #expect(failure(v2 + [0]) == .trailingBytes(1))
        #expect(failure(compressed + [0]) == .trailingBytes(1))
        if case .truncated = failure(Array(compressed.dropLast())) {} else { Issue.record("truncated compressed") }
        #expect(failure([0x1c, 0x84, 0x93, 0x12] + v2.dropFirst(4)) == .unsupportedEncoding("HdrHistogram V1 encoding"))

        func patched(_ offset: Int, _ replacement: [UInt8]) -> [UInt8] {
            var bytes = v2
            bytes.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
            return bytes
        }
        #expect(failure(patched(12, [0, 0, 0, 0])) == .unsupportedLayout("numberOfSignificantValueDigits 0 (1...5 supported)"))
        #expect(failure(patched(12, [0, 0, 0, 6])) == .unsupportedLayout("numberOfSignificantValueDigits 6 (1...5 supported)"))
        #expect(failure(patched(16, [0, 0, 0, 0, 0, 0, 0, 0])) == .unsupportedLayout("lowestDiscernibleValue 0"))
        #expect(failure(patched(32, Array((2.0 as Double).bitPattern.bigEndianBytes))) == .unsupportedLayout(
            "integerToDoubleValueConversionRatio 2.0 (only integer histograms)"))
        // A count past the layout: a zero run to the end of the counts array, then a count.
        var beyond = Array(v2[0..<40])
        var payload: [UInt8] = []
        Histogram.appendVarint(-23_552, to: &payload)
        Histogram.appendVarint(5, to: &payload)
        beyond.replaceSubrange(4..<8, with: UInt32(payload.count).bigEndianBytes)
        #expect(failure(beyond + payload) == .countsBeyondLayout(index: 23_552, countsLength: 23_552))
        // A declared payload longer than the layout's counts can need (9 bytes each), compressed or not: the
        // compressed one is refused before it is inflated.
        let tooLong = Array(patched(4, UInt32(23_552 * 9 + 1).bigEndianBytes)[0..<40])
        #expect(failure(tooLong) == .invalidPayload("211969 bytes, more than 23552 counts can take"))
        let bomb = Zlib.compress(tooLong + [UInt8](repeating: 0, count: 300_000))
        #expect(failure([0x1c, 0x84, 0x93, 0x14] + UInt32(bomb.count).bigEndianBytes + bomb)
            == .invalidPayload("211969 bytes, more than 23552 counts can take"))
        // A count that ends early.
        var cut = Array(v2[0..<40])
        cut.replaceSubrange(4..<8, with: [0, 0, 0, 1])
        #expect(failure(cut + [0x80]) == .truncated("a count ends early"))
        // The compressed contents must be a zlib stream of a V2 encoding.
        var notZlib = compressed
        notZlib[8] = 0x79
        #expect(failure(notZlib) == .compression(.invalidHeader("compression method 9 is not deflate (8)")))
        let wrapped = [0x1c, 0x84, 0x93, 0x14] + UInt32(Zlib.compress(compressed).count).bigEndianBytes
            + Zlib.compress(compressed)
        #expect(failure(wrapped) == .badCookie(Histogram.hdrV2CompressedCookie))
        #expect(throws: HistogramError.invalidHdrEncoding(.invalidBase64)) { try Histogram(hdrBase64: "HISTF!!") }
    }

    @Test func corruptEncodingsThrowOrDecodeButNeverCrash() {
        let sample = Self.sample(HistogramTests.randomValues(seed: 3, count: 3_000))
        var rng = TestRNG(state: 5)
        for encoded in [sample.encodedV2(), sample.encodedV2Compressed(), Self.bytes(base64: Self.pythonBase64)] {
            for cut in 0..<encoded.count { _ = try? Histogram(hdrEncoded: Array(encoded[0..<cut])) }
            // Every truncation point, and 500 random byte changes.
            for _ in 0..<500 {
                var corrupt = encoded
                let at = Int(rng.next() % UInt64(corrupt.count))
                corrupt[at] = UInt8(truncatingIfNeeded: rng.next())
                if let decoded = try? Histogram(hdrEncoded: corrupt) {
                    #expect(decoded.totalCount == decoded.counts.reduce(0, +))
                }
            }
        }
    }

    // MARK: Interval log

    @Test func intervalLogHasTheStandardFormAndReadsBack() throws {
        var log = HdrIntervalLog(startTime: 1_700_000_000.25, comments: ["[Logged with loadgen]"])
        let first = Self.sample([1_000, 2_000, 123_456, 7_654_321])
        let second = Self.sample(HistogramTests.randomValues(seed: 4, count: 1_000))
        log.append(start: 0, length: 1, histogram: first)
        log.append(start: 1.0005, length: 0.9995, histogram: second, tag: "get items")
        log.append(start: 2, length: 1, histogram: Histogram.latency())
        let lines = log.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "#[Logged with loadgen]")
        #expect(lines[1] == "#[Histogram log format version 1.3]")
        #expect(lines[2] == "#[StartTime: 1700000000.250 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]")
        #expect(lines[3] == "#[BaseTime: 1700000000.250 (seconds since epoch)]")
        #expect(lines[4] == "#[MaxValueDivisor: 1000.000]")
        #expect(lines[5] == #""StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram""#)
        #expect(lines[6] == "0.000,1.000,7654.321,\(first.hdrBase64)")
        #expect(lines[7].hasPrefix("Tag=get_items,1.001,1.000,\(HdrIntervalLog.fixed3(Double(second.maxValue ?? 0) / 1000)),HISTF"))
        #expect(lines[8] == "2.000,1.000,0.000,\(Histogram.latency().hdrBase64)")
        #expect(lines[9] == "")

        let contents = try HdrIntervalLog.read(log.text)
        #expect(contents.startTime == 1_700_000_000.25 && contents.baseTime == 1_700_000_000.25)
        #expect(contents.maxValueDivisor == 1000)
        #expect(contents.intervals.count == 3)
        // With the max column, our histograms come back equal (exact maximum included).
        #expect(contents.intervals[0].histogram == first)
        #expect(contents.intervals[1].histogram == second)
        #expect(contents.intervals[1].tag == "get_items")
        #expect(contents.intervals[2].histogram == Histogram.latency())
        #expect(contents.intervals[1].start == 1.001)
        #expect(contents.absoluteStart(of: contents.intervals[1]) == 1.001 + 1_700_000_000.25)
    }

    @Test func intervalLogReaderToleratesHdrHistogramLogsAndReportsBadLines() throws {
        // The start of HdrHistogram_py's test/jHiccup-2.0.7S.logV2.hlog (written by Java's jHiccup).
        let java = """
            #[Logged with jHiccup version 2.0.7-SNAPSHOT]
            #[Histogram log format version 1.2]
            #[StartTime: 1441812279.474 (seconds since epoch), Wed Sep 09 08:24:39 PDT 2015]
            "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
            0.127,1.007,2.769,HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMaxhvMekILGZkKmcCAEf2CsI=
            1.134,0.999,0.442,HISTFAAAAEJ42pNpmSzMwMAgxwABTBDKT4GBgdnNYMcCBvsPEBEWLj45FTExAT4pBSEBKa6UkAgBi1uM7xjfMMlwMDABAC0CCjM=\r

            """
        let contents = try HdrIntervalLog.read(java)
        #expect(contents.startTime == 1_441_812_279.474 && contents.baseTime == nil && contents.maxValueDivisor == nil)
        #expect(contents.intervals.count == 2)
        #expect(contents.intervals[0].start == 0.127 && contents.intervals[0].length == 1.007)
        // jHiccup records nanoseconds; the max column is getMaxValue() / 1e6 (ms).
        let javaMax = try #require(contents.intervals[0].histogram.maxValue)
        #expect(HdrIntervalLog.fixed3(Double(javaMax) / 1e6) == "2.769")
        #expect(contents.absoluteStart(of: contents.intervals[0]) == 0.127 + 1_441_812_279.474)

        #expect(throws: HdrIntervalLogError(line: 2, reason: "expected start,length,max,histogram; found 2 fields")) {
            try HdrIntervalLog.read("#comment\n1.0,HISTF\n")
        }
        #expect(throws: HdrIntervalLogError(line: 1, reason: "start, length and max must be numbers")) {
            try HdrIntervalLog.read("a,b,c,HISTF\n")
        }
        #expect(throws: HdrIntervalLogError(line: 1, reason: "invalid HdrHistogram encoding: not base64")) {
            try HdrIntervalLog.read("1,1,1,HISTF!\n")
        }
    }

    @Test func fixedDecimalsAndDates() {
        #expect(HdrIntervalLog.fixed3(0) == "0.000")
        #expect(HdrIntervalLog.fixed3(1.0005) == "1.001")
        #expect(HdrIntervalLog.fixed3(-2.5) == "-2.500")
        #expect(HdrIntervalLog.fixed3(3_600_000) == "3600000.000")
        #expect(HdrIntervalLog.humanDate(epochSeconds: 0) == "Thu Jan 01 00:00:00 UTC 1970")
        #expect(HdrIntervalLog.humanDate(epochSeconds: 951_782_400) == "Tue Feb 29 00:00:00 UTC 2000")
        #expect(HdrIntervalLog.humanDate(epochSeconds: -1) == "Wed Dec 31 23:59:59 UTC 1969")
    }

    // MARK: Python's hdrhistogram reads what we write

    static let pythonScript = #"""
        import base64, json, sys, zlib
        from hdrh.histogram import HdrHistogram
        from hdrh.log import HistogramLogReader
        path = sys.argv[1]
        reader = HistogramLogReader(path, HdrHistogram(1, 3600000000, 3))
        intervals = []
        while True:
            h = reader.get_next_interval_histogram()
            if h is None:
                break
            intervals.append({
                "total": h.get_total_count(), "p99": h.get_value_at_percentile(99),
                "p50": h.get_value_at_percentile(50), "max": h.get_max_value(),
                "countsLength": h.counts_len, "startMs": h.get_start_time_stamp(),
                "endMs": h.get_end_time_stamp()})
        uncompressed = []
        reencoded = []
        for line in open(path):
            if line.startswith('#') or line.startswith('"'):
                continue
            payload = line.strip().split(',')[-1]
            raw = base64.b64decode(payload)
            uncompressed.append(zlib.decompress(raw[8:]).hex())
            reencoded.append(HdrHistogram.decode(payload).encode().decode())
        print(json.dumps({"intervals": intervals, "uncompressed": uncompressed, "reencoded": reencoded}))
        """#

    struct PythonIntervals: Decodable {
        struct Interval: Decodable {
            var total: Int64
            var p99: Int64
            var p50: Int64
            var max: Int64
            var countsLength: Int
            var startMs: Double
            var endMs: Double
        }
        var intervals: [Interval]
        var uncompressed: [String]
        var reencoded: [String]
    }

    static func runPython(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("hdr-py-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        process.standardOutput = out
        process.standardError = errorHandle
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errorHandle.close()
        let stderr = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, stdout, stderr)
    }

    /// The rank Python's hdrhistogram uses for a percentile: `int(p * count / 100 + 0.5)`, at least 1
    /// (Java and ours use the ceiling; both agree when `p * count / 100` is an integer).
    static func pythonRank(percentile: Double, count: Int64) -> Int64 {
        max(1, Int64(percentile * Double(count) / 100 + 0.5))
    }

    static func value(atRank rank: Int64, in histogram: Histogram) -> Int64 {
        var running: Int64 = 0
        for (value, count) in histogram.nonZeroCounts() {
            running += count
            if running >= rank { return value }
        }
        return 0
    }

    @Test func pythonHdrHistogramReadsOurIntervalLog() throws {
        let probe = try Self.runPython(["-c", "import hdrh"])
        guard probe.status == 0 else {
            Issue.record(
                "python3 cannot import hdrh: pip install -r requirements-dev.txt (hdrhistogram). \(probe.stderr)")
            return
        }
        var histograms: [Histogram] = [
            Self.sample(HistogramTests.randomValues(seed: 21, count: 10_000)),
            Self.sample([1, 2, 3, 2047, 2048, 2049, 1_000_000, 3_600_000_000, 3_600_000_000, 9_999_999_999]),
            Self.sample((0..<1_000).map { Int64($0) * 997 }),
            Histogram.latency(),
            Self.sample([1_000, 5_000, 123_456_789, 1_000_000_000_000], layout: try Histogram(
                lowestDiscernibleValue: 1000, highestTrackableValue: 1_000_000_000_000, significantDigits: 2)),
            Self.sample([1, 77, 1 << 33], layout: try Histogram(highestTrackableValue: 1 << 40, significantDigits: 5)),
        ]
        var odd = Self.sample(HistogramTests.randomValues(seed: 22, count: 333))
        odd.record(40_000_000, count: 3)
        histograms.append(odd)
        let startTime = 1_700_000_000.5
        var log = HdrIntervalLog(startTime: startTime, comments: ["[Logged with loadgen tests]"])
        for (index, histogram) in histograms.enumerated() {
            log.append(start: Double(index) * 1.5, length: 1.5, histogram: histogram)
        }
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try directory.write("intervals.hlog", log.text)
        let run = try Self.runPython(["-c", Self.pythonScript, path])
        guard run.status == 0 else {
            Issue.record("python exited \(run.status): \(run.stderr)")
            return
        }
        let python = try JSONDecoder().decode(PythonIntervals.self, from: run.stdout)
        try #require(python.intervals.count == histograms.count)
        for (index, (ours, theirs)) in zip(histograms, python.intervals).enumerated() {
            let label = "interval \(index)"
            #expect(theirs.total == ours.totalCount, "\(label)")
            #expect(theirs.countsLength == ours.counts.count, "\(label)")
            // Python reports a percentile as the highest value equivalent to the value at its rank; our
            // value(atPercentile:) is that same value capped at the exact maximum. With a total count that
            // is a multiple of 100 both ranks agree, so p99 agrees up to equivalence, exactly.
            if ours.totalCount > 0 {
                for (percentile, reported) in [(99.0, theirs.p99), (50.0, theirs.p50)] {
                    let rank = Self.pythonRank(percentile: percentile, count: ours.totalCount)
                    #expect(reported == ours.highestEquivalentValue(Self.value(atRank: rank, in: ours)), "\(label)")
                    if ours.totalCount % 100 == 0 {
                        #expect(reported == ours.highestEquivalentValue(ours.value(atPercentile: percentile)), "\(label)")
                    }
                }
                #expect(theirs.max == ours.highestEquivalentValue(ours.maxValue ?? 0), "\(label)")
            } else {
                #expect(theirs.p99 == 0 && theirs.max == 0, "\(label)")
            }
            // StartTime/BaseTime: Python's reader stamps absolute times in milliseconds.
            #expect(abs(theirs.startMs - (startTime + Double(index) * 1.5) * 1000) < 1, "\(label)")
            #expect(abs(theirs.endMs - theirs.startMs - 1500) < 1, "\(label)")
            // Real zlib inflates our stream to exactly our uncompressed encoding.
            #expect(python.uncompressed[index] == Self.hex(ours.encodedV2()), "\(label)")
            // And we read what Python's encoder (real zlib) writes back.
            let back = try Histogram(hdrBase64: python.reencoded[index])
            #expect(back.counts == ours.counts && back.totalCount == ours.totalCount, "\(label)")
        }
    }

    static let dynamicPlain =
        "YmFjYWFhYmFhYWFjY2FhYWNhYWFhY2FhYWFiY2FhYmFhYWJhYWFhCmNiZGRiYmFhYWFiCmJkYmFhY2FiYQpjYWFiYmIKZGFhYgphYWJkYmNiYWRiYWEKYWFiYWFjYwphYWRjYmFjYmNiY2FhYWFhYWFhCmFiYmFhY2JiYWFkY2NjY2EKY2FhYWFkYWFiYWFhYWFiYWFhY2FiYmIKYWEKZAoKYmFhYWJiCmFhYWJhYWJhYmJhYmFiYWFhY2FhCmJhYWIKYmFiZGJiYWFhYQphYmEKYQpiYWFjYQphY2JhY2RjYWFhYWFhZGEKYmFhYWFhYWNhYWFiYWJhYmJjYWFiZGNhYWFkYWFhYWEKYWFiCmFhYWFiYWFkYWFkYmFiZAphYmFkYWNhY2RiYWFjYWFiYWFiYWJhZGFhYwphYWFjY2JjYWJiYWJhYmRkYWNiYmFhYWFhYmJhYWJhY2JjYQpiYWJhYWNhYmFhYmFhYWJhZGFiY2JhYWFhYWJhYWFiYmFiZGFiYmFiYWFhYQphZGFjCmNiYWFiYWFjYmFhYWFiY2FhYWNiYWJhZGFhYmRhYmJiYmFhYmFiYWFiY2EKYmFhYWFiYWFjYWNhYmJhYWFjYgphYmFhY2FhYWFhYWFiYWNkYWFhCmJhZGFhYQpiYWJhYWFkCmNhCmJhYWFhYmJiYWEKYQpiYWEKYmJkZGRhYWJhCmFiZGFkYmNhYWFhYWJiYWJhYmEKCmNhYWEKZGNiYWNiY2JhYmFiYmNhYWFiYmJhY2NhYmNiYWJhYWJhYWJjYmFiY2FjYWFh"
    static let dynamicCompressed =
        "eNo9UdsRwDAI+ndLgf1nqKBp75LGF4Ki2d2Y0/SL/S5w/YkVISFPFATnYLxjAiV75whEO1gpI+evcXH8wQxUG4e+xPmCMu/rlJuBnVxVhYMNR+BiXE47NnTcGAc9p8Ku2o11bRXv0xaI6Etcxysi0mY8MqwBNSVcxcfAYUsbgeARklZSyDrLoQpTblmn0BN6Kl2prU//gShu7mZlaLyOScUx6EVfIGZeSa21+3rQ0irlR6ZVfyWyKRuFEZANlPvotnWzrmyo3ibf8AIw+1vXkoKJOfYBxN7W8A=="
}

extension FixedWidthInteger {
    /// The big-endian bytes of the value.
    var bigEndianBytes: [UInt8] {
        (0..<(Self.bitWidth / 8)).map { UInt8(truncatingIfNeeded: self >> ((Self.bitWidth / 8 - 1 - $0) * 8)) }
    }
}
