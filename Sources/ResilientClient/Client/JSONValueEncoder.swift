import EndpointSpec
import Foundation

/// A fast path for encoding typed bodies: an `Encoder` that builds a ``JSONValue`` directly.
///
/// It only succeeds where `JSONEncoder` (default options) writes the same JSON text once the value is
/// serialized, keys aside: they come in encoding order (declaration order for synthesized `Codable`),
/// where `JSONEncoder` on Linux writes them in hash order. Covered: integers, booleans, `nil`, strings of printable ASCII without `/` (which `JSONEncoder`
/// escapes), arrays and objects in encoding order with distinct keys. Floating-point numbers, other
/// strings, Foundation types with their own encoding and anything unusual throw, and the caller
/// encodes with `JSONEncoder` instead.
final class JSONValueEncoder: Encoder {
    /// Thrown for everything outside the fast path.
    struct Fallback: Error {}

    /// One value under construction; containers fill it in place.
    final class Node {
        enum Content {
            case unset
            /// Something the fast path does not handle happened (a lost value would be written otherwise).
            case invalid
            case value(JSONValue)
            case object(keys: [String], members: [Member])
            case array([Member])
        }

        /// An element of an object or array: a finished value (a number, string, boolean or null, written
        /// at once without a node of its own), or a node that a nested encoding fills in.
        enum Member {
            case leaf(JSONValue)
            case node(Node)

            func build() throws -> JSONValue {
                switch self {
                case .leaf(let value): return value
                case .node(let node): return try node.build()
                }
            }
        }

        /// Confined to one encoding on one task: no dynamic exclusivity checks needed.
        @exclusivity(unchecked) var content: Content = .unset

        func build() throws -> JSONValue {
            switch content {
            case .unset, .invalid: throw Fallback()
            case .value(let value): return value
            case .object(let keys, let members):
                var pairs: [JSONObject.Pair] = []
                pairs.reserveCapacity(keys.count)
                for (key, member) in zip(keys, members) { pairs.append(.init(key: key, value: try member.build())) }
                return .object(JSONObject(pairs))
            case .array(let members): return .array(try members.map { try $0.build() })
            }
        }

        /// Adds `member` under `key` to this object; a repeated key or a node that is not an object makes
        /// the encoding fall back. The arrays are taken out of `content` first, so that they grow in place.
        func add(_ member: Member, forKey key: String) throws {
            guard case .object(var keys, var members) = content, !keys.contains(key) else {
                content = .invalid
                throw Fallback()
            }
            content = .invalid
            keys.append(key)
            members.append(member)
            content = .object(keys: keys, members: members)
        }

        /// Marks this node unusable and returns the error to throw: a caller that swallows the error must
        /// not leave a value out where `JSONEncoder` would have written it.
        func fallBack() -> Fallback {
            content = .invalid
            return Fallback()
        }

        /// `value`, or, if computing it fell back, this node marked unusable.
        func checked(_ value: @autoclosure () throws -> JSONValue) throws -> JSONValue {
            do {
                return try value()
            } catch {
                throw fallBack()
            }
        }

        /// Appends `member` to this array (in place, as `add`).
        func append(_ member: Member) throws {
            guard case .array(var members) = content else {
                content = .invalid
                throw Fallback()
            }
            content = .invalid
            members.append(member)
            content = .array(members)
        }
    }

    let node: Node
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: Node) { self.node = node }

    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = Node()
        try encode(value, into: root)
        return try root.build()
    }

    static func encode<T: Encodable>(_ value: T, into node: Node) throws {
        let type = T.self
        if type == Data.self || type == Date.self || type == URL.self || type == Decimal.self { throw Fallback() }
        try value.encode(to: JSONValueEncoder(node: node))
    }

    static func string(_ text: String) throws -> JSONValue {
        guard text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x2F }) else { throw Fallback() }
        return .string(text)
    }

    static func integer<T: FixedWidthInteger>(_ value: T) -> JSONValue { .number(String(value)) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch node.content {
        case .unset: node.content = .object(keys: [], members: [])
        case .object: break
        default: node.content = .invalid
        }
        return KeyedEncodingContainer(Keyed<Key>(node: node))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        switch node.content {
        case .unset: node.content = .array([])
        case .array: break
        default: node.content = .invalid
        }
        return Unkeyed(node: node)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node) }

    /// Sets `value` on `node`, which must still be empty.
    static func set(_ node: Node, _ value: JSONValue) throws {
        guard case .unset = node.content else {
            node.content = .invalid
            throw Fallback()
        }
        node.content = .value(value)
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey] { [] }

        private func child(_ key: Key) throws -> Node {
            let child = Node()
            try node.add(.node(child), forKey: key.stringValue)
            return child
        }

        private func leaf(_ key: Key, _ value: JSONValue) throws {
            try node.add(.leaf(value), forKey: key.stringValue)
        }

        mutating func encodeNil(forKey key: Key) throws { try leaf(key, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { try leaf(key, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { try leaf(key, node.checked(string(value))) }
        mutating func encode(_ value: Double, forKey key: Key) throws { throw node.fallBack() }
        mutating func encode(_ value: Float, forKey key: Key) throws { throw node.fallBack() }
        mutating func encode(_ value: Int, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { try leaf(key, integer(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try JSONValueEncoder.encode(value, into: child(key))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            // A nested container cannot throw here; an unusable one makes build() fail.
            let nested = (try? child(key)) ?? Node()
            return JSONValueEncoder(node: nested).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested = (try? child(key)) ?? Node()
            return JSONValueEncoder(node: nested).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            node.content = .invalid
            return JSONValueEncoder(node: Node())
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            node.content = .invalid
            return JSONValueEncoder(node: Node())
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { [] }
        var count: Int {
            if case .array(let members) = node.content { return members.count }
            return 0
        }

        private func child() throws -> Node {
            let child = Node()
            try node.append(.node(child))
            return child
        }

        private func leaf(_ value: JSONValue) throws {
            try node.append(.leaf(value))
        }

        mutating func encodeNil() throws { try leaf(.null) }
        mutating func encode(_ value: Bool) throws { try leaf(.bool(value)) }
        mutating func encode(_ value: String) throws { try leaf(node.checked(string(value))) }
        mutating func encode(_ value: Double) throws { throw node.fallBack() }
        mutating func encode(_ value: Float) throws { throw node.fallBack() }
        mutating func encode(_ value: Int) throws { try leaf(integer(value)) }
        mutating func encode(_ value: Int8) throws { try leaf(integer(value)) }
        mutating func encode(_ value: Int16) throws { try leaf(integer(value)) }
        mutating func encode(_ value: Int32) throws { try leaf(integer(value)) }
        mutating func encode(_ value: Int64) throws { try leaf(integer(value)) }
        mutating func encode(_ value: UInt) throws { try leaf(integer(value)) }
        mutating func encode(_ value: UInt8) throws { try leaf(integer(value)) }
        mutating func encode(_ value: UInt16) throws { try leaf(integer(value)) }
        mutating func encode(_ value: UInt32) throws { try leaf(integer(value)) }
        mutating func encode(_ value: UInt64) throws { try leaf(integer(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { try JSONValueEncoder.encode(value, into: child()) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            let nested = (try? child()) ?? Node()
            return JSONValueEncoder(node: nested).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = (try? child()) ?? Node()
            return JSONValueEncoder(node: nested).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder {
            node.content = .invalid
            return JSONValueEncoder(node: Node())
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws { try set(node, .null) }
        mutating func encode(_ value: Bool) throws { try set(node, .bool(value)) }
        mutating func encode(_ value: String) throws { try set(node, string(value)) }
        mutating func encode(_ value: Double) throws { throw Fallback() }
        mutating func encode(_ value: Float) throws { throw Fallback() }
        mutating func encode(_ value: Int) throws { try set(node, integer(value)) }
        mutating func encode(_ value: Int8) throws { try set(node, integer(value)) }
        mutating func encode(_ value: Int16) throws { try set(node, integer(value)) }
        mutating func encode(_ value: Int32) throws { try set(node, integer(value)) }
        mutating func encode(_ value: Int64) throws { try set(node, integer(value)) }
        mutating func encode(_ value: UInt) throws { try set(node, integer(value)) }
        mutating func encode(_ value: UInt8) throws { try set(node, integer(value)) }
        mutating func encode(_ value: UInt16) throws { try set(node, integer(value)) }
        mutating func encode(_ value: UInt32) throws { try set(node, integer(value)) }
        mutating func encode(_ value: UInt64) throws { try set(node, integer(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { try JSONValueEncoder.encode(value, into: node) }
    }
}
