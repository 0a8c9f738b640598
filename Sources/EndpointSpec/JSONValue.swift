/// A JSON value that keeps what Python's `json` module would see: integers and floats stay distinct
/// (numbers keep their literal text, so `5`, `5.0` and 40-digit integers survive unchanged) and objects keep
/// their key order.
public enum JSONValue: Sendable, Equatable, Hashable {
    /// `null`
    case null
    /// `true` / `false`
    case bool(Bool)
    /// A number, as its JSON literal text (e.g. `"5"`, `"-0.5"`, `"1e3"`).
    case number(String)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; key order is kept. Duplicate keys: the parser keeps the last value, as Python's `json` does.
    case object(JSONObject)
}

/// An ordered JSON object.
public struct JSONObject: Sendable, Equatable, Hashable {
    /// Key/value pairs in order; keys are unique.
    public var pairs: [Pair]

    /// One member of an object.
    public struct Pair: Sendable, Equatable, Hashable {
        /// The member name.
        public var key: String
        /// The member value.
        public var value: JSONValue
        /// Creates a member.
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// Creates an object from pairs (assumed to have unique keys).
    public init(_ pairs: [Pair] = []) { self.pairs = pairs }

    /// The value for `key`, if present.
    public subscript(key: String) -> JSONValue? {
        get {
            for pair in pairs where pair.key == key { return pair.value }
            return nil
        }
        set {
            if let index = pairs.firstIndex(where: { $0.key == key }) {
                if let newValue { pairs[index].value = newValue } else { pairs.remove(at: index) }
            } else if let newValue {
                pairs.append(Pair(key: key, value: newValue))
            }
        }
    }
}
