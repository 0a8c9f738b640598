/// Header fields as ordered name/value pairs with ASCII case-insensitive lookup.
///
/// Names and values are stored as received (values without surrounding whitespace); duplicates are kept.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One header field.
    public typealias Element = (name: String, value: String)

    /// The fields in order.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates an empty header list.
    public init() {
        fields = []
    }

    /// Creates a header list from name/value pairs, keeping their order.
    public init(_ pairs: [(String, String)]) {
        fields = []
        fields.reserveCapacity(pairs.count)
        for (name, value) in pairs { fields.append((name, value)) }
    }

    /// Creates a header list from a literal such as `["Content-Type": "application/json"]`.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Reserves storage for `count` fields.
    public mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// The number of fields.
    public var count: Int { fields.count }

    /// Whether there are no fields.
    public var isEmpty: Bool { fields.isEmpty }

    /// Appends a field (duplicates allowed).
    public mutating func add(name: String, value: String) {
        fields.append((name, value))
    }

    /// Removes every field with this name (case-insensitive).
    public mutating func remove(name: String) {
        fields.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// Replaces every field with this name by a single field at the position of the first one, or appends it.
    public mutating func replaceOrAdd(name: String, value: String) {
        if let index = fields.firstIndex(where: { asciiCaseInsensitiveEquals($0.name, name) }) {
            fields[index] = (name, value)
            var next = index + 1
            while next < fields.count {
                if asciiCaseInsensitiveEquals(fields[next].name, name) { fields.remove(at: next) } else { next += 1 }
            }
        } else {
            fields.append((name, value))
        }
    }

    /// The value of the first field with this name (case-insensitive), or `nil`.
    public subscript(name: String) -> String? {
        for field in fields where asciiCaseInsensitiveEquals(field.name, name) { return field.value }
        return nil
    }

    /// The values of every field with this name (case-insensitive), in order.
    public func values(for name: String) -> [String] {
        fields.compactMap { asciiCaseInsensitiveEquals($0.name, name) ? $0.value : nil }
    }

    /// Whether a field with this name exists (case-insensitive).
    public func contains(name: String) -> Bool {
        fields.contains { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// Whether any field with this name holds `value` as one element of its comma-separated token list,
    /// compared case-insensitively; e.g. `contains(name: "connection", value: "close")` is true for
    /// `Connection: keep-alive, Close`.
    public func contains(name: String, value: String) -> Bool {
        for field in fields where asciiCaseInsensitiveEquals(field.name, name) {
            if tokenListContains(field.value, value) { return true }
        }
        return false
    }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// Two header lists are equal when they hold the same names (compared exactly) and values in the same order.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        guard lhs.fields.count == rhs.fields.count else { return false }
        for (a, b) in zip(lhs.fields, rhs.fields) where a.name != b.name || a.value != b.value { return false }
        return true
    }

    /// The fields as `Name: value` lines.
    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
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

/// Whether the comma-separated list `list` has an element equal (case-insensitively, OWS trimmed) to `token`.
func tokenListContains(_ list: String, _ token: String) -> Bool {
    var copy = list
    return copy.withUTF8 { p -> Bool in
        var tokenCopy = token
        return tokenCopy.withUTF8 { t -> Bool in
            var start = 0
            while start <= p.count {
                var end = start
                while end < p.count && p[end] != UInt8(ascii: ",") { end += 1 }
                let (s, e) = trimOWS(p, start, end)
                if e - s == t.count {
                    var equal = true
                    var i = 0
                    while i < t.count {
                        if asciiLower(p[s + i]) != asciiLower(t[i]) {
                            equal = false
                            break
                        }
                        i += 1
                    }
                    if equal { return true }
                }
                start = end + 1
            }
            return false
        }
    }
}
