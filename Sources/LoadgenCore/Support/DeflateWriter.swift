/// The DEFLATE (RFC 1951) block writers behind `Zlib.compress(_:)`.
///
/// The compressed form is a single final block with the fixed Huffman codes (section 3.2.6) over a greedy
/// LZ77 parse: a hash of the next three bytes finds earlier occurrences within the 32 KiB window, the
/// longest of at most `maxChainLength` candidates is taken. Stored blocks are the fallback for data that
/// does not compress.
enum DeflateWriter {
    static let windowSize = 32_768
    static let maxMatchLength = 258
    static let minMatchLength = 3
    static let maxChainLength = 64
    static let hashBits = 15

    /// The size of `count` bytes written as stored blocks (at most 65535 bytes each, 5 header bytes each).
    static func storedSize(_ count: Int) -> Int {
        let blocks = max(1, (count + 65_534) / 65_535)
        return count + 5 * blocks
    }

    /// Appends `bytes` as stored blocks, the last one final (one empty final block for empty input).
    static func appendStoredBlocks(_ bytes: [UInt8], to output: inout [UInt8]) {
        var start = 0
        repeat {
            let end = min(start + 65_535, bytes.count)
            // BFINAL in bit 0, BTYPE 00, then padding to the byte boundary.
            output.append(end == bytes.count ? 1 : 0)
            let length = UInt16(end - start)
            let complement = ~length
            output += [
                UInt8(truncatingIfNeeded: length), UInt8(length >> 8),
                UInt8(truncatingIfNeeded: complement), UInt8(complement >> 8),
            ]
            output += bytes[start..<end]
            start = end
        } while start < bytes.count
    }

    /// `bytes` as one final fixed-Huffman block (the DEFLATE data only, no zlib header or trailer).
    static func fixedHuffmanBlock(_ bytes: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.write(1, count: 1)  // BFINAL
        writer.write(1, count: 2)  // BTYPE 01: fixed Huffman codes
        let literalCodes = FixedCodes.literal
        let distanceCodes = FixedCodes.distance

        func writeLiteral(_ symbol: Int) {
            writer.write(literalCodes.codes[symbol], count: literalCodes.lengths[symbol])
        }

        let count = bytes.count
        let windowMask = windowSize - 1
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var previous = [Int32](repeating: -1, count: windowSize)

        func hash(_ position: Int) -> Int {
            let key = Int(bytes[position]) << 16 | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
            return (key &* 2_654_435_761) >> (32 - hashBits) & ((1 << hashBits) - 1)
        }
        func insert(_ position: Int) {
            guard position + minMatchLength <= count else { return }
            let slot = hash(position)
            previous[position & windowMask] = head[slot]
            head[slot] = Int32(position)
        }

        var position = 0
        while position < count {
            var bestLength = 0
            var bestDistance = 0
            if position + minMatchLength <= count {
                let limit = min(maxMatchLength, count - position)
                var candidate = Int(head[hash(position)])
                var chain = 0
                while candidate >= 0 && position - candidate <= windowSize && chain < maxChainLength {
                    var length = 0
                    while length < limit && bytes[candidate + length] == bytes[position + length] { length += 1 }
                    if length > bestLength {
                        bestLength = length
                        bestDistance = position - candidate
                        if length == limit { break }
                    }
                    let next = Int(previous[candidate & windowMask])
                    // Older entries only; a slot reused by a newer position ends the chain.
                    guard next < candidate else { break }
                    candidate = next
                    chain += 1
                }
            }
            if bestLength >= minMatchLength {
                let lengthIndex = lengthSymbolIndex(bestLength)
                writeLiteral(257 + lengthIndex)
                writer.write(
                    UInt32(bestLength - DeflateTables.lengthBase[lengthIndex]),
                    count: DeflateTables.lengthExtra[lengthIndex])
                let distanceSymbol = distanceSymbolIndex(bestDistance)
                writer.write(distanceCodes.codes[distanceSymbol], count: distanceCodes.lengths[distanceSymbol])
                writer.write(
                    UInt32(bestDistance - DeflateTables.distanceBase[distanceSymbol]),
                    count: DeflateTables.distanceExtra[distanceSymbol])
                for covered in position..<(position + bestLength) { insert(covered) }
                position += bestLength
            } else {
                writeLiteral(Int(bytes[position]))
                insert(position)
                position += 1
            }
        }
        writeLiteral(256)  // end of block
        return writer.finish()
    }

    /// The index (symbol - 257) of the length symbol for a match of `length` (3...258).
    static func lengthSymbolIndex(_ length: Int) -> Int {
        var index = DeflateTables.lengthBase.count - 1
        while DeflateTables.lengthBase[index] > length { index -= 1 }
        return index
    }

    /// The distance symbol for `distance` (1...32768).
    static func distanceSymbolIndex(_ distance: Int) -> Int {
        var index = DeflateTables.distanceBase.count - 1
        while DeflateTables.distanceBase[index] > distance { index -= 1 }
        return index
    }

    /// Canonical Huffman codes (RFC 1951 section 3.2.2) for `lengths`, bit-reversed because DEFLATE sends
    /// Huffman codes most significant bit first into an LSB-first bit stream.
    static func canonicalCodes(_ lengths: [Int]) -> (codes: [UInt32], lengths: [Int]) {
        var lengthCounts = [Int](repeating: 0, count: 16)
        for length in lengths where length > 0 { lengthCounts[length] += 1 }
        var nextCode = [UInt32](repeating: 0, count: 16)
        var code: UInt32 = 0
        for bits in 1..<16 {
            code = (code + UInt32(lengthCounts[bits - 1])) << 1
            nextCode[bits] = code
        }
        var codes = [UInt32](repeating: 0, count: lengths.count)
        for (symbol, length) in lengths.enumerated() where length > 0 {
            let value = nextCode[length]
            nextCode[length] += 1
            var reversed: UInt32 = 0
            for bit in 0..<length where value & (1 << UInt32(bit)) != 0 { reversed |= 1 << UInt32(length - 1 - bit) }
            codes[symbol] = reversed
        }
        return (codes, lengths)
    }

    enum FixedCodes {
        static let literal = canonicalCodes(DeflateTables.fixedLiteralLengths)
        static let distance = canonicalCodes(DeflateTables.fixedDistanceLengths)
    }

    /// Packs bit fields least significant bit first, as DEFLATE does.
    struct BitWriter {
        private(set) var bytes: [UInt8] = []
        private var buffer: UInt64 = 0
        private var bufferedBits = 0

        mutating func write(_ value: UInt32, count: Int) {
            guard count > 0 else { return }
            let mask = (UInt64(1) << UInt64(count)) - 1
            buffer |= (UInt64(value) & mask) << UInt64(bufferedBits)
            bufferedBits += count
            while bufferedBits >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                bufferedBits -= 8
            }
        }

        /// The bytes written, the last one padded with zero bits.
        mutating func finish() -> [UInt8] {
            if bufferedBits > 0 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer = 0
                bufferedBits = 0
            }
            return bytes
        }
    }
}
