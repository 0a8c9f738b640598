import EndpointSpec

/// A JSON value with generated parts, compiled from a scenario body. Generators are one-key objects:
/// `{"$int": [lo, hi]}` (inclusive), `{"$float": [lo, hi]}`, `{"$choice": [a, b, ...]}` (items may be
/// templates), `{"$seq": true}` / `{"$seq": START}` / `{"$seq": {"start": S, "step": K}}` (START + index × K,
/// from the arrival index), `{"$concat": [parts...]}` (a string joined from the parts' text) and
/// `{"$literal": value}` (sent as is, even if it looks like a generator).
public indirect enum ValueTemplate: Sendable, Equatable {
    /// A fixed value.
    case literal(JSONValue)
    /// A uniform integer in `lower...upper`.
    case int(lower: Int64, upper: Int64)
    /// A uniform float in `[lower, upper)`.
    case float(lower: Double, upper: Double)
    /// One of the options, uniformly.
    case choice([ValueTemplate])
    /// `start + index * step`.
    case sequence(start: Int64, step: Int64)
    /// A string made of the parts' text.
    case concat([ValueTemplate])
    /// An array with generated items.
    case array([ValueTemplate])
    /// An object with generated values (key order kept).
    case object([TemplateField])

    /// Whether the template is a fixed value.
    public var isLiteral: Bool {
        if case .literal = self { return true }
        return false
    }

    /// The value for arrival `index`, drawing random numbers from `rng` in document order.
    public func render(index: Int64, rng: inout SplitMix64) -> JSONValue {
        switch self {
        case .literal(let value): return value
        case .int(let lower, let upper): return .number(String(rng.nextInt(lower, upper)))
        case .float(let lower, let upper):
            let value = lower + (upper - lower) * rng.nextUnit()
            var text = formatNumber(value, digits: 6)
            if !text.contains(".") { text += ".0" }
            return .number(text)
        case .choice(let options):
            let pick = Int(rng.nextInt(0, Int64(options.count - 1)))
            return options[pick].render(index: index, rng: &rng)
        case .sequence(let start, let step): return .number(String(start &+ index &* step))
        case .concat(let parts):
            var text = ""
            for part in parts {
                switch part.render(index: index, rng: &rng) {
                case .string(let string): text += string
                case .number(let literal): text += literal
                case .bool(let flag): text += flag ? "true" : "false"
                case .null: text += "null"
                case let other: text += LoadgenJSON.serialize(other)
                }
            }
            return .string(text)
        case .array(let items): return .array(items.map { $0.render(index: index, rng: &rng) })
        case .object(let fields):
            return .object(
                JSONObject(fields.map { JSONObject.Pair(key: $0.key, value: $0.value.render(index: index, rng: &rng)) }))
        }
    }

    /// The generator names accepted in templates.
    public static let generatorNames = ["$int", "$float", "$choice", "$seq", "$concat", "$literal"]

    /// Compiles a JSON value, reporting problems at `path` (e.g. `requests[0].body.user`).
    static func compile(_ value: JSONValue, path: String) throws(ScenarioError) -> ValueTemplate {
        switch value {
        case .array(let items):
            var compiled: [ValueTemplate] = []
            for (offset, item) in items.enumerated() {
                compiled.append(try compile(item, path: "\(path)[\(offset)]"))
            }
            return compiled.allSatisfy(\.isLiteral) ? .literal(value) : .array(compiled)
        case .object(let object):
            if object.pairs.count == 1, let key = object.pairs.first?.key, key.hasPrefix("$"),
                let argument = object.pairs.first?.value
            {
                return try generator(key, argument, path: "\(path).\(key)")
            }
            var fields: [TemplateField] = []
            for pair in object.pairs {
                fields.append(TemplateField(key: pair.key, value: try compile(pair.value, path: "\(path).\(pair.key)")))
            }
            return fields.allSatisfy(\.value.isLiteral) ? .literal(value) : .object(fields)
        default:
            return .literal(value)
        }
    }

    private static func generator(_ name: String, _ argument: JSONValue, path: String) throws(ScenarioError)
        -> ValueTemplate
    {
        let node = Node(argument, path: path)
        switch name {
        case "$literal":
            return .literal(argument)
        case "$int":
            let (lower, upper) = try bounds(node, "integers") { (item) throws(ScenarioError) in try item.int64() }
            return .int(lower: lower, upper: upper)
        case "$float":
            let (lower, upper) = try bounds(node, "numbers") { (item) throws(ScenarioError) in try item.double() }
            return .float(lower: lower, upper: upper)
        case "$choice":
            let options = try node.array()
            guard !options.isEmpty else { throw node.error("expected a non-empty array of values") }
            return .choice(try compile(options))
        case "$seq":
            switch argument {
            case .bool(true): return .sequence(start: 0, step: 1)
            case .number: return .sequence(start: try node.int64(), step: 1)
            case .object:
                let object = try node.object(allowed: ["start", "step"])
                let start = try object.optional("start")?.int64() ?? 0
                let step = try object.optional("step")?.int64() ?? 1
                return .sequence(start: start, step: step)
            default:
                throw node.error(
                    "expected true, a start integer or {\"start\": S, \"step\": K}, got \(argument.errorDescription)")
            }
        case "$concat":
            return .concat(try compile(try node.array()))
        default:
            var message = "unknown generator \"\(name)\"; expected one of \(generatorNames.joined(separator: ", "))"
            if let suggestion = closestName(name, generatorNames) { message += " (did you mean \"\(suggestion)\"?)" }
            message += "; use {\"$literal\": ...} to send such an object as is"
            throw ScenarioError(path: path, message: message)
        }
    }

    /// The generator's `[lo, hi]`: two `what` read by `read`, with lo <= hi.
    private static func bounds<Bound: Comparable>(
        _ node: Node, _ what: String, _ read: (Node) throws(ScenarioError) -> Bound
    ) throws(ScenarioError) -> (Bound, Bound) {
        let bounds = try node.array()
        guard bounds.count == 2 else {
            throw node.error("expected [lo, hi] with two \(what), got \(node.value.errorDescription)")
        }
        let lower = try read(bounds[0])
        let upper = try read(bounds[1])
        guard lower <= upper else { throw node.error("expected lo <= hi, got [\(lower), \(upper)]") }
        return (lower, upper)
    }

    /// Compiles each node's value.
    private static func compile(_ nodes: [Node]) throws(ScenarioError) -> [ValueTemplate] {
        var compiled: [ValueTemplate] = []
        for node in nodes { compiled.append(try compile(node.value, path: node.path)) }
        return compiled
    }
}

/// One field of an object template.
public struct TemplateField: Sendable, Equatable {
    /// The key.
    public var key: String
    /// The value template.
    public var value: ValueTemplate
    /// Creates a field.
    public init(key: String, value: ValueTemplate) {
        self.key = key
        self.value = value
    }
}

/// One concrete request, ready to encode.
public struct GeneratedRequest: Sendable, Equatable {
    /// Index into the scenario's `requests`.
    public var requestIndex: Int
    /// HTTP method.
    public var method: String
    /// Request target: the base path plus the route.
    public var path: String
    /// Headers (scenario-wide merged with the request's; `Content-Type: application/json` when there is a body
    /// and no Content-Type was given).
    public var headers: [HTTPHeaderField]
    /// The JSON body, or `nil` for none.
    public var body: [UInt8]?
}

/// Produces the request for each arrival index: a weighted pick of the scenario's requests and the rendered
/// body. A pure function of `(seed, index)`: no shared random state, so shards and threads agree.
public struct RequestGenerator: Sendable {
    /// The requests.
    public let requests: [RequestSpec]
    /// The seed.
    public let seed: UInt64
    let cumulativeWeights: [Double]
    let headerSets: [[HTTPHeaderField]]
    let paths: [String]

    /// Creates a generator. `basePath` is prefixed to every route (from the target URL).
    public init(requests: [RequestSpec], headers: [HTTPHeaderField] = [], seed: UInt64, basePath: String = "") {
        self.requests = requests
        self.seed = seed
        var running = 0.0
        cumulativeWeights = requests.map { request in
            running += request.weight
            return running
        }
        headerSets = requests.map { request in
            var merged = headers.filter { header in
                !request.headers.contains { $0.name.lowercased() == header.name.lowercased() }
            }
            merged += request.headers
            if request.body != nil, !merged.contains(where: { $0.name.lowercased() == "content-type" }) {
                merged.append(HTTPHeaderField(name: "Content-Type", value: "application/json"))
            }
            return merged
        }
        paths = requests.map { basePath + $0.route }
    }

    /// Creates the generator for a scenario (its requests, headers and seed).
    public init(scenario: Scenario, basePath: String = "") {
        self.init(requests: scenario.requests, headers: scenario.headers, seed: scenario.seed, basePath: basePath)
    }

    /// `count` arrivals shared among the requests in proportion to their weights (largest remainders, so the
    /// shares add up to `count`), in constant time per request: for arrivals counted in bulk without being
    /// generated one by one (`generator_behind`).
    public func share(_ count: Int64) -> [Int64] {
        guard requests.count > 1, let total = cumulativeWeights.last, total > 0 else { return [count] }
        var previous = 0.0
        var exact: [Double] = []
        for cumulative in cumulativeWeights {
            exact.append(Double(count) * (cumulative - previous) / total)
            previous = cumulative
        }
        var shares = exact.map { Int64($0.rounded(.down)) }
        let order = exact.indices.sorted { exact[$0] - Double(shares[$0]) > exact[$1] - Double(shares[$1]) }
        var left = count - shares.reduce(0, +)
        for index in order where left > 0 {
            shares[index] += 1
            left -= 1
        }
        return shares
    }

    /// Which request arrival `index` uses.
    public func requestIndex(at index: Int64) -> Int {
        var rng = SplitMix64(seed: seed, index: UInt64(bitPattern: index))
        return pick(&rng)
    }

    private func pick(_ rng: inout SplitMix64) -> Int {
        let unit = rng.nextUnit()
        guard let total = cumulativeWeights.last, requests.count > 1 else { return 0 }
        let point = unit * total
        var low = 0
        var high = cumulativeWeights.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulativeWeights[middle] > point { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The request for arrival `index` (0-based). The first random draw picks the request, the following
    /// draws fill its generators in document order.
    public func request(at index: Int64) -> GeneratedRequest {
        var rng = SplitMix64(seed: seed, index: UInt64(bitPattern: index))
        let chosen = pick(&rng)
        let spec = requests[chosen]
        let body = spec.body.map { JSON.serialize($0.render(index: index, rng: &rng)) }
        return GeneratedRequest(
            requestIndex: chosen, method: spec.method, path: paths[chosen], headers: headerSets[chosen], body: body)
    }
}
