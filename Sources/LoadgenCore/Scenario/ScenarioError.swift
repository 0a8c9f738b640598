import CommandLine
import EndpointSpec

/// A problem in a scenario, located by a path like `load.stages[1].duration` (empty for the whole file).
/// The same type as EndpointSpec's `SpecError`, so that route errors inside a scenario pass through unchanged.
public typealias ScenarioError = SpecError

func closestName(_ word: String, _ candidates: [String]) -> String? {
    Suggestion.closest(to: word, in: candidates)
}

/// A JSON value and its path, with typed accessors that throw path-named errors.
struct Node {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func error(_ message: String) -> ScenarioError { ScenarioError(path: path, message: message) }

    func expected(_ what: String) -> ScenarioError { error("expected \(what), got \(value.errorDescription)") }

    func object(allowed keys: [String]) throws(ScenarioError) -> ObjectNode {
        guard case .object(let object) = value else { throw expected("an object") }
        for pair in object.pairs where !keys.contains(pair.key) {
            var message = "unknown field"
            if let suggestion = closestName(pair.key, keys) {
                message += "; did you mean \"\(suggestion)\"?"
            } else {
                message += " (expected one of: \(keys.joined(separator: ", ")))"
            }
            throw ScenarioError(path: ObjectNode.join(path, pair.key), message: message)
        }
        return ObjectNode(object: object, path: path)
    }

    func array() throws(ScenarioError) -> [Node] {
        guard case .array(let items) = value else { throw expected("an array") }
        return items.enumerated().map { Node($0.element, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(ScenarioError) -> String {
        guard case .string(let string) = value else { throw expected("a string") }
        return string
    }

    func nonEmptyString() throws(ScenarioError) -> String {
        let string = try string()
        guard !string.trimmingWhitespace().isEmpty else { throw error("expected a non-empty string") }
        return string
    }

    func bool() throws(ScenarioError) -> Bool {
        guard case .bool(let flag) = value else { throw expected("true or false") }
        return flag
    }

    func double() throws(ScenarioError) -> Double {
        guard case .number(let literal) = value, let number = Double(literal), number.isFinite else {
            throw expected("a number")
        }
        return number
    }

    func int64() throws(ScenarioError) -> Int64 {
        guard case .number(let literal) = value else { throw expected("an integer") }
        if let number = Int64(literal) { return number }
        if let number = Double(literal), number == number.rounded(), abs(number) < 9e15 { return Int64(number) }
        throw expected("an integer")
    }

    func int(min: Int, max: Int = Int.max) throws(ScenarioError) -> Int {
        let what: String
        if max == Int.max {
            what = min == 1 ? "a positive integer" : "an integer >= \(min)"
        } else {
            what = "an integer from \(min) to \(max)"
        }
        guard case .number = value, let number = try? int64(), number >= Int64(min), number <= Int64(max) else {
            throw expected(what)
        }
        return Int(number)
    }

    func duration(allowZero: Bool = false) throws(ScenarioError) -> DurationValue {
        guard case .string(let text) = value, let duration = DurationValue(parsing: text) else {
            throw expected("a duration like \"10s\"")
        }
        if !allowZero, duration.nanoseconds == 0 { throw error("expected a duration greater than 0, got \"\(text)\"") }
        return duration
    }

    /// A rate: a number or a string like "200/s".
    func rate(allowZero: Bool) throws(ScenarioError) -> Double {
        let rate: Double?
        switch value {
        case .number(let literal): rate = Double(literal)
        case .string(let text): rate = RateValue(parsing: text)?.perSecond
        default: rate = nil
        }
        guard let rate, rate.isFinite, rate >= 0 else { throw expected("a rate like 200 or \"200/s\"") }
        if !allowZero, rate == 0 { throw error("expected a rate greater than 0, got \(value.errorDescription)") }
        guard rate <= RateValue.maximum else {
            throw error(
                "expected a rate of at most \(RateValue(perSecond: RateValue.maximum)) (far beyond what one machine can "
                    + "send), got \(value.errorDescription)")
        }
        return rate
    }
}

/// An object node: fields by name with their paths.
struct ObjectNode {
    let object: JSONObject
    let path: String

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func optional(_ key: String) -> Node? {
        guard let value = object[key] else { return nil }
        return Node(value, path: Self.join(path, key))
    }

    /// A present, non-null field.
    func present(_ key: String) -> Node? {
        guard let value = object[key], value != .null else { return nil }
        return Node(value, path: Self.join(path, key))
    }

    func required(_ key: String) throws(ScenarioError) -> Node {
        guard let value = object[key] else {
            throw ScenarioError(path: Self.join(path, key), message: "required field is missing")
        }
        return Node(value, path: Self.join(path, key))
    }

    func has(_ key: String) -> Bool { object[key] != nil }
}
