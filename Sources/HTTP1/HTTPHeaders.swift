/// Header fields as ordered name/value pairs with ASCII case-insensitive lookup.
///
/// Names and values are kept as received (values without surrounding whitespace); duplicates are kept.
/// Decoded headers keep the raw bytes of the header section and create a `String` only when a name or value
/// is read, so decoding a request does not allocate one string per field.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One header field.
    public typealias Element = (name: String, value: String)

    /// Byte ranges of one field inside `bytes`.
    struct Entry: Sendable {
        var nameStart: Int32
        var nameEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
    }

    /// Backing bytes: for decoded headers the header section as received, followed by the bytes of any
    /// field added later.
    private(set) var bytes: [UInt8]
    /// The indexed fields; empty while `lazyStart >= 0`.
    private var storedEntries: [Entry]
    /// For decoded headers not indexed yet: where the (already validated) field lines start in `bytes`; the
    /// fields are then found by scanning on demand, so decoding allocates no index. -1 once indexed.
    private var lazyStart: Int32 = -1

    /// The fields' byte ranges (scans the raw section when not indexed).
    var entries: [Entry] {
        if lazyStart < 0 { return storedEntries }
        var result: [Entry] = []
        result.reserveCapacity(8)  // one allocation for a typical response
        forEachEntry { entry in
            result.append(entry)
            return true
        }
        return result
    }

    /// Creates an empty header list.
    public init() {
        bytes = []
        storedEntries = []
    }

    /// Creates a header list from name/value pairs, keeping their order.
    public init(_ pairs: [(String, String)]) {
        bytes = []
        storedEntries = []
        storedEntries.reserveCapacity(pairs.count)
        for (name, value) in pairs { add(name: name, value: value) }
    }

    /// Creates a header list from a literal such as `["Content-Type": "application/json"]`.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Decoder entry point for headers indexed on demand: `rawSection` is a header section whose field lines,
    /// starting at `fieldsStart`, were validated (by `parseFieldLines`) and end with the empty line.
    init(validatedSection rawSection: UnsafeBufferPointer<UInt8>, fieldsStart: Int) {
        bytes = Array(rawSection)
        storedEntries = []
        lazyStart = Int32(truncatingIfNeeded: fieldsStart)
    }

    /// Calls `body` with each field's ranges in order until it returns false.
    @inline(__always)
    private func forEachEntry(_ body: (Entry) -> Bool) {
        if lazyStart < 0 {
            for entry in storedEntries where !body(entry) { return }
            return
        }
        bytes.withUnsafeBufferPointer { p in
            let total = p.count
            var i = Int(lazyStart)
            while i < total {
                let lineStart = i
                while i < total && p[i] != UInt8(ascii: ":") && p[i] != lf { i += 1 }
                guard i < total, p[i] == UInt8(ascii: ":"), i > lineStart else { return }  // the empty line
                let colon = i
                i += 1
                while i < total && isOWS(p[i]) { i += 1 }
                let valueStart = i
                // A validated value holds no control byte but HTAB, and its line ends with CR LF or LF: the line
                // end is found eight bytes at a time, and trailing whitespace trimmed back from it.
                var lineEnd = firstControlOrDEL(p, from: i)
                while p[lineEnd] == htab { lineEnd = firstControlOrDEL(p, from: lineEnd + 1) }
                var valueEnd = lineEnd
                while valueEnd > valueStart && isOWS(p[valueEnd - 1]) { valueEnd -= 1 }
                i = p[lineEnd] == cr ? lineEnd + 2 : lineEnd + 1
                let entry = Entry(
                    nameStart: Int32(truncatingIfNeeded: lineStart), nameEnd: Int32(truncatingIfNeeded: colon),
                    valueStart: Int32(truncatingIfNeeded: valueStart), valueEnd: Int32(truncatingIfNeeded: valueEnd))
                if !body(entry) { return }
            }
        }
    }

    /// Turns on-demand headers into indexed ones before a mutation.
    private mutating func materialize() {
        guard lazyStart >= 0 else { return }
        storedEntries = entries
        lazyStart = -1
    }

    @inline(__always)
    mutating func appendRaw(nameStart: Int, nameEnd: Int, valueStart: Int, valueEnd: Int) {
        storedEntries.append(
            Entry(
                nameStart: Int32(truncatingIfNeeded: nameStart), nameEnd: Int32(truncatingIfNeeded: nameEnd),
                valueStart: Int32(truncatingIfNeeded: valueStart), valueEnd: Int32(truncatingIfNeeded: valueEnd)))
    }

    /// Reserves storage for `count` fields.
    public mutating func reserveCapacity(_ count: Int) {
        materialize()
        storedEntries.reserveCapacity(count)
    }

    /// The fields in order (creates the strings).
    public var fields: [(name: String, value: String)] {
        entries.map { (name(of: $0), value(of: $0)) }
    }

    /// The number of fields.
    public var count: Int {
        if lazyStart < 0 { return storedEntries.count }
        var n = 0
        forEachEntry { _ in
            n += 1
            return true
        }
        return n
    }

    /// Whether there are no fields.
    public var isEmpty: Bool {
        if lazyStart < 0 { return storedEntries.isEmpty }
        var empty = true
        forEachEntry { _ in
            empty = false
            return false
        }
        return empty
    }

    /// Appends a field (duplicates allowed).
    public mutating func add(name: String, value: String) {
        materialize()
        let nameStart = bytes.count
        bytes.append(contentsOf: name.utf8)
        let valueStart = bytes.count
        bytes.append(contentsOf: value.utf8)
        appendRaw(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: bytes.count)
    }

    /// Removes every field with this name (case-insensitive).
    public mutating func remove(name: String) {
        let matches = matchingIndices(name)
        guard !matches.isEmpty else { return }
        materialize()
        var index = 0
        storedEntries.removeAll { _ in
            defer { index += 1 }
            return matches.contains(index)
        }
    }

    /// Replaces every field with this name by a single field at the position of the first one, or appends it.
    public mutating func replaceOrAdd(name: String, value: String) {
        let matches = matchingIndices(name)
        guard let first = matches.first else {
            add(name: name, value: value)
            return
        }
        add(name: name, value: value)
        let added = storedEntries.removeLast()
        storedEntries[first] = added
        var index = 0
        storedEntries.removeAll { _ in
            defer { index += 1 }
            return index != first && matches.contains(index)
        }
    }

    /// The value of the first field with this name (case-insensitive), or `nil`.
    public subscript(name: String) -> String? {
        guard let entry = firstEntry(name) else { return nil }
        return value(of: entry)
    }

    /// Whether the first field with this name (case-insensitive) has exactly the value `value`, byte for byte:
    /// a check for a common value (`Content-Type: application/json`) without building a `String` of it, which
    /// allocates when it is longer than 15 bytes.
    public func firstValue(of name: String, is value: StaticString) -> Bool {
        guard let entry = firstEntry(name) else { return false }
        let start = Int(entry.valueStart)
        let count = Int(entry.valueEnd) - start
        guard count == value.utf8CodeUnitCount else { return false }
        let expected = value.utf8Start
        return bytes.withUnsafeBufferPointer { p in
            for offset in 0..<count where p[start + offset] != expected[offset] { return false }
            return true
        }
    }

    /// The values of every field with this name (case-insensitive), in order.
    public func values(for name: String) -> [String] {
        let all = entries
        return matchingIndices(name).map { value(of: all[$0]) }
    }

    /// Whether a field with this name exists (case-insensitive).
    public func contains(name: String) -> Bool {
        firstEntry(name) != nil
    }

    /// Whether any field with this name holds `value` as one element of its comma-separated token list,
    /// compared case-insensitively; e.g. `contains(name: "connection", value: "close")` is true for
    /// `Connection: keep-alive, Close`.
    public func contains(name: String, value: String) -> Bool {
        let indices = matchingIndices(name)
        guard !indices.isEmpty else { return false }
        let all = entries
        var token = value
        return token.withUTF8 { t in
            bytes.withUnsafeBufferPointer { p in
                for index in indices {
                    let entry = all[index]
                    var found = false
                    forEachListElementNonThrowing(p, Int(entry.valueStart), Int(entry.valueEnd)) { s, e in
                        if !found && bytesEqualIgnoringCase(p, s, e, t) { found = true }
                    }
                    if found { return true }
                }
                return false
            }
        }
    }

    /// Iterates the fields in order, creating each name and value string as it goes.
    public func makeIterator() -> Iterator {
        Iterator(headers: self, entries: entries, index: 0)
    }

    /// Iterator over `(name, value)` pairs.
    public struct Iterator: IteratorProtocol {
        let headers: HTTPHeaders
        let entries: [Entry]
        var index: Int

        /// The next field, or `nil` after the last one.
        public mutating func next() -> (name: String, value: String)? {
            guard index < entries.count else { return nil }
            let entry = entries[index]
            index += 1
            return (headers.name(of: entry), headers.value(of: entry))
        }
    }

    /// Two header lists are equal when they hold the same names (compared exactly) and values in the same order.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        let lhsEntries = lhs.entries
        let rhsEntries = rhs.entries
        guard lhsEntries.count == rhsEntries.count else { return false }
        for (a, b) in zip(lhsEntries, rhsEntries) {
            if lhs.bytes[Int(a.nameStart)..<Int(a.nameEnd)] != rhs.bytes[Int(b.nameStart)..<Int(b.nameEnd)] {
                return false
            }
            if lhs.bytes[Int(a.valueStart)..<Int(a.valueEnd)] != rhs.bytes[Int(b.valueStart)..<Int(b.valueEnd)] {
                return false
            }
        }
        return true
    }

    /// The fields as `Name: value` lines.
    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    private func name(of entry: Entry) -> String {
        String(decoding: bytes[Int(entry.nameStart)..<Int(entry.nameEnd)], as: UTF8.self)
    }

    private func value(of entry: Entry) -> String {
        String(decoding: bytes[Int(entry.valueStart)..<Int(entry.valueEnd)], as: UTF8.self)
    }

    private func firstEntry(_ name: String) -> Entry? {
        var copy = name
        return copy.withUTF8 { n in
            bytes.withUnsafeBufferPointer { p -> Entry? in
                var found: Entry? = nil
                forEachEntry { entry in
                    if bytesEqualIgnoringCase(p, Int(entry.nameStart), Int(entry.nameEnd), n) {
                        found = entry
                        return false
                    }
                    return true
                }
                return found
            }
        }
    }

    private func matchingIndices(_ name: String) -> [Int] {
        var copy = name
        return copy.withUTF8 { n in
            bytes.withUnsafeBufferPointer { p -> [Int] in
                var result: [Int] = []
                var index = 0
                forEachEntry { entry in
                    if bytesEqualIgnoringCase(p, Int(entry.nameStart), Int(entry.nameEnd), n) { result.append(index) }
                    index += 1
                    return true
                }
                return result
            }
        }
    }
}

/// Whether p[start..<end] equals `other` ignoring ASCII case.
@inline(__always)
func bytesEqualIgnoringCase(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ other: UnsafeBufferPointer<UInt8>)
    -> Bool
{
    guard end - start == other.count else { return false }
    var i = 0
    while i < other.count {
        // Most bytes are equal as they are; only the others are lowered (names differ mostly in case, if at all).
        let a = p[start &+ i]
        let b = other[i]
        if a != b && asciiLower(a) != asciiLower(b) { return false }
        i &+= 1
    }
    return true
}

/// Calls `body` for each element of the comma-separated list in p[start..<end], OWS-trimmed, empty ones skipped.
@inline(__always)
func forEachListElementNonThrowing(
    _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ body: (Int, Int) -> Void
) {
    var s = start
    while s < end {
        var e = s
        while e < end && p[e] != UInt8(ascii: ",") { e += 1 }
        let (ts, te) = trimOWS(p, s, e)
        if te > ts { body(ts, te) }
        s = e + 1
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte &- 65) < 26 ? byte | 0x20 : byte
}

/// ASCII case-insensitive string equality without allocating.
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    let ua = a.utf8
    let ub = b.utf8
    guard ua.count == ub.count else { return false }
    var ib = ub.makeIterator()
    for x in ua {
        guard let y = ib.next(), asciiLower(x) == asciiLower(y) else { return false }
    }
    return true
}

