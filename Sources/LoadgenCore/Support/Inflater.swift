/// A DEFLATE (RFC 1951) decoder inside a zlib (RFC 1950) stream, behind `Zlib.decompress(_:maxOutputSize:)`.
///
/// Every read is bounds-checked (running out of input throws `.truncated`), every code table is validated
/// before use (over-subscribed or, except for a single one-bit code, incomplete codes are rejected, as
/// zlib does), distances may not reach before the start of the output (no preset dictionary), and the
/// output never grows past `limit`.
struct Inflater {
    private let input: [UInt8]
    private var position: Int
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0
    private let limit: Int
    private let stopAtLimit: Bool
    private var reachedLimit = false
    /// The bytes inflated so far.
    private(set) var output: [UInt8] = []

    /// Reads the zlib header. With `stopAtLimit`, inflating stops quietly once `limit` bytes are out;
    /// otherwise going past `limit` throws `.outputTooLarge`.
    init(zlibStream input: [UInt8], limit: Int, stopAtLimit: Bool) throws(ZlibError) {
        self.input = input
        self.limit = max(0, limit)
        self.stopAtLimit = stopAtLimit
        guard input.count >= 2 else { throw .truncated }
        let cmf = Int(input[0])
        let flg = Int(input[1])
        guard cmf & 0x0f == 8 else { throw .invalidHeader("compression method \(cmf & 0x0f) is not deflate (8)") }
        guard cmf >> 4 <= 7 else { throw .invalidHeader("window size exponent \(cmf >> 4) is above 7") }
        guard (cmf << 8 | flg) % 31 == 0 else { throw .invalidHeader("header check bits do not match") }
        guard flg & 0x20 == 0 else { throw .invalidHeader("a preset dictionary is not supported") }
        position = 2
    }

    /// Inflates blocks up to and including the final one (or until the limit, with `stopAtLimit`).
    mutating func run() throws(ZlibError) {
        var isFinal = false
        while !isFinal && !reachedLimit {
            isFinal = try bits(1) == 1
            switch try bits(2) {
            case 0: try storedBlock()
            case 1: try huffmanBlock(literals: Self.fixedLiteral, distances: Self.fixedDistance)
            case 2:
                let (literals, distances) = try dynamicCodes()
                try huffmanBlock(literals: literals, distances: distances)
            default: throw .invalidData("reserved block type 3")
            }
        }
    }

    /// Checks the Adler-32 trailer and that nothing follows it.
    mutating func finishZlibStream() throws(ZlibError) {
        dropToByteBoundary()
        guard input.count - position >= 4 else { throw .truncated }
        var expected: UInt32 = 0
        for offset in 0..<4 { expected = expected << 8 | UInt32(input[position + offset]) }
        position += 4
        guard expected == Zlib.adler32(output) else { throw .checksumMismatch }
        guard position == input.count else { throw .trailingBytes(input.count - position) }
    }

    // MARK: Bits

    /// The next `count` (0...16) bits, least significant first.
    private mutating func bits(_ count: Int) throws(ZlibError) -> Int {
        while bitCount < count {
            guard position < input.count else { throw .truncated }
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
        let value = Int(bitBuffer & ((1 << UInt64(count)) - 1))
        bitBuffer >>= UInt64(count)
        bitCount -= count
        return value
    }

    /// Moves to the next byte boundary. Decoding a Huffman code may have loaded whole bytes ahead of the
    /// bits it used (at most 15 bits of look-ahead); those bytes are given back to the input.
    private mutating func dropToByteBoundary() {
        position -= bitCount / 8
        bitBuffer = 0
        bitCount = 0
    }

    // MARK: Output

    /// Whether `count` more bytes fit; at the limit either stops (`stopAtLimit`) or throws.
    private mutating func reserve(_ count: Int) throws(ZlibError) -> Int {
        let room = limit - output.count
        if count <= room { return count }
        guard stopAtLimit else { throw .outputTooLarge(limit: limit) }
        reachedLimit = true
        return room
    }

    // MARK: Blocks

    private mutating func storedBlock() throws(ZlibError) {
        dropToByteBoundary()
        guard input.count - position >= 4 else { throw .truncated }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
        position += 4
        guard length == complement ^ 0xffff else { throw .invalidData("stored block length check failed") }
        guard input.count - position >= length else { throw .truncated }
        let accepted = try reserve(length)
        output += input[position..<(position + accepted)]
        position += length
    }

    private mutating func huffmanBlock(literals: HuffmanCode, distances: HuffmanCode) throws(ZlibError) {
        while true {
            let symbol = try decode(literals)
            if symbol < 256 {
                guard try reserve(1) == 1 else { return }
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < DeflateTables.lengthBase.count else {
                throw .invalidData("invalid length symbol \(symbol)")
            }
            let length = DeflateTables.lengthBase[lengthIndex] + (try bits(DeflateTables.lengthExtra[lengthIndex]))
            let distanceSymbol = try decode(distances)
            guard distanceSymbol < DeflateTables.distanceBase.count else {
                throw .invalidData("invalid distance symbol \(distanceSymbol)")
            }
            let distance =
                DeflateTables.distanceBase[distanceSymbol] + (try bits(DeflateTables.distanceExtra[distanceSymbol]))
            guard distance <= output.count else {
                throw .invalidData("distance \(distance) reaches before the start of the output")
            }
            let accepted = try reserve(length)
            // Byte by byte: the source may overlap the bytes being written (distance < length).
            var from = output.count - distance
            for _ in 0..<accepted {
                output.append(output[from])
                from += 1
            }
            if accepted < length { return }
        }
    }

    private mutating func dynamicCodes() throws(ZlibError) -> (HuffmanCode, HuffmanCode) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        guard literalCount <= 286 else { throw .invalidData("\(literalCount) literal/length codes (at most 286)") }
        guard distanceCount <= 30 else { throw .invalidData("\(distanceCount) distance codes (at most 30)") }
        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeLengthCount { codeLengthLengths[DeflateTables.codeLengthOrder[index]] = try bits(3) }
        let codeLengthCode = try HuffmanCode(lengths: codeLengthLengths, mustBeComplete: true)

        let total = literalCount + distanceCount
        var lengths: [Int] = []
        lengths.reserveCapacity(total)
        while lengths.count < total {
            let symbol = try decode(codeLengthCode)
            if symbol < 16 {
                lengths.append(symbol)
                continue
            }
            let repeated: Int
            let count: Int
            switch symbol {
            case 16:
                guard let last = lengths.last else { throw .invalidData("length repeat with no previous length") }
                repeated = last
                count = 3 + (try bits(2))
            case 17:
                repeated = 0
                count = 3 + (try bits(3))
            default:
                repeated = 0
                count = 11 + (try bits(7))
            }
            guard lengths.count + count <= total else { throw .invalidData("code lengths repeat past the end") }
            lengths += [Int](repeating: repeated, count: count)
        }
        guard lengths[256] != 0 else { throw .invalidData("no code for the end-of-block symbol") }
        let literals = try HuffmanCode(lengths: Array(lengths[0..<literalCount]), mustBeComplete: false)
        let distances = try HuffmanCode(lengths: Array(lengths[literalCount...]), mustBeComplete: false)
        return (literals, distances)
    }

    // MARK: Huffman codes

    /// A canonical Huffman code as a lookup table: the next `longest` bits of the input (least significant
    /// first, as they arrive) index `table`, whose entry is the symbol and the length of its code, so a
    /// symbol is decoded with one lookup rather than bit by bit.
    struct HuffmanCode {
        /// The longest code length (0 for a code without symbols).
        private(set) var longest = 0
        /// `symbol << 4 | length` for every `longest`-bit pattern that starts with that symbol's code
        /// (bit-reversed, as DEFLATE sends codes most significant bit first); 0 where no code matches (an
        /// incomplete code).
        private(set) var table: [UInt16] = [0]

        init(lengths: [Int], mustBeComplete: Bool) throws(ZlibError) {
            // `counts[n]`: how many symbols have an `n`-bit code (index 0 unused).
            var counts = [Int](repeating: 0, count: 16)
            for length in lengths {
                guard (0...15).contains(length) else { throw .invalidData("code length \(length)") }
                counts[length] += 1
            }
            counts[0] = 0
            var left = 1
            for length in 1..<16 {
                left <<= 1
                left -= counts[length]
                guard left >= 0 else { throw .invalidData("over-subscribed Huffman code") }
                if counts[length] > 0 { longest = length }
            }
            // As zlib: an incomplete code is only accepted when it is a single one-bit code (or empty, which
            // fails on first use); the code-length code must be complete.
            if left > 0 && longest != 0 && (mustBeComplete || longest != 1) {
                throw .invalidData("incomplete Huffman code")
            }
            if mustBeComplete && longest == 0 { throw .invalidData("empty code-length code") }
            // Canonical codes (RFC 1951 section 3.2.2): by length, then by symbol.
            var nextCode = [Int](repeating: 0, count: 16)
            var code = 0
            for length in 1..<16 {
                code = (code + counts[length - 1]) << 1
                nextCode[length] = code
            }
            table = [UInt16](repeating: 0, count: 1 << longest)
            for (symbol, length) in lengths.enumerated() where length > 0 {
                let value = nextCode[length]
                nextCode[length] += 1
                var reversed = 0
                for bit in 0..<length where value & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
                // Every pattern whose low `length` bits are the code, whatever the bits above them.
                let entry = UInt16(symbol << 4 | length)
                var index = reversed
                while index < table.count {
                    table[index] = entry
                    index += 1 << length
                }
            }
        }
    }

    private mutating func decode(_ code: HuffmanCode) throws(ZlibError) -> Int {
        // Look ahead `longest` bits; near the end of the input fewer may be left, enough for a shorter code.
        while bitCount < code.longest && position < input.count {
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
        let entry = Int(code.table[Int(bitBuffer & ((1 << UInt64(code.longest)) - 1))])
        let length = entry & 15
        guard length > 0 else {
            throw bitCount < code.longest ? .truncated : .invalidData("invalid Huffman code")
        }
        guard length <= bitCount else { throw .truncated }
        bitBuffer >>= UInt64(length)
        bitCount -= length
        return entry >> 4
    }

    private static let fixedLiteral: HuffmanCode = {
        do { return try HuffmanCode(lengths: DeflateTables.fixedLiteralLengths, mustBeComplete: true) } catch {
            preconditionFailure("the fixed literal/length code is complete")
        }
    }()
    private static let fixedDistance: HuffmanCode = {
        do { return try HuffmanCode(lengths: DeflateTables.fixedDistanceLengths, mustBeComplete: true) } catch {
            preconditionFailure("the fixed distance code is complete")
        }
    }()
}
