import ResilientClient
import EndpointSpec
import Foundation
import ReferenceEndpoint

extension Scenario {
    /// Reads and validates the scenario file at `path`. Relative paths inside (model folders, body files) are
    /// resolved against the file's directory first, then `currentDirectory` (default: the process's).
    /// `${NAME}` in a header value is replaced by the environment variable NAME, so a secret such as a bearer
    /// token stays out of the file (`environment`: the process's by default).
    public static func load(
        path: String, currentDirectory: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ScenarioError) -> Scenario {
        let file = try ScenarioFile(path: path, currentDirectory: currentDirectory, kind: "scenario")
        return try decode(
            file.bytes, baseDirectory: file.directory, currentDirectory: file.currentDirectory, defaultName: file.stem,
            environment: environment)
    }

    /// Decodes and validates scenario JSON. Every error names the field by path. `${NAME}` in header values is
    /// expanded from `environment`.
    public static func decode(
        _ bytes: [UInt8], baseDirectory: String, currentDirectory: String, defaultName: String = "scenario",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ScenarioError) -> Scenario {
        let json: JSONValue
        do {
            json = try LoadgenJSON.parse(bytes)
        } catch {
            throw ScenarioError(path: "", message: error.description)
        }
        let decoder = ScenarioDecoder(
            baseDirectory: baseDirectory, currentDirectory: currentDirectory, environment: environment)
        return try decoder.scenario(Node(json, path: ""), defaultName: defaultName)
    }
}

/// Turns scenario JSON into a validated `Scenario`.
struct ScenarioDecoder {
    let baseDirectory: String
    let currentDirectory: String
    /// Where `${NAME}` in header values comes from.
    var environment: [String: String] = [:]

    static let topLevelKeys = [
        "name", "description", "target", "requests", "load", "client", "warmup", "thresholds", "seed", "headers",
    ]

    func scenario(_ root: Node, defaultName: String) throws(ScenarioError) -> Scenario {
        let object = try root.object(allowed: Self.topLevelKeys)
        let name = try object.present("name")?.nonEmptyString() ?? defaultName
        if let description = object.present("description") { _ = try description.string() }
        let target = try target(try object.required("target"))
        let routes: [RouteSpec]? = if case .embedded(let embedded) = target { embedded.routes } else { nil }
        let requestsNode = try object.required("requests")
        let requestNodes = try requestsNode.array()
        guard !requestNodes.isEmpty else { throw requestsNode.error("expected at least one request") }
        var requests: [RequestSpec] = []
        for node in requestNodes { requests.append(try request(node, routes: routes)) }
        let load = try load(try object.required("load"))
        var client = ClientSpec()
        if let node = object.present("client") { client = try self.client(node) }
        let warmup = try object.present("warmup")?.duration(allowZero: true) ?? DurationValue(nanoseconds: 0)
        var thresholds: [Threshold] = []
        if let node = object.present("thresholds") {
            for item in try node.array() {
                do {
                    thresholds.append(try Threshold(parsing: try item.string()))
                } catch let error as ThresholdError {
                    throw item.error(error.message)
                } catch let error as ScenarioError {
                    throw error
                } catch {
                    throw item.error("\(error)")
                }
            }
        }
        var seed: UInt64 = 1
        if let node = object.present("seed") {
            guard case .number(let literal) = node.value, let value = UInt64(literal) else {
                throw node.expected("a non-negative integer")
            }
            seed = value
        }
        var headers: [HTTPHeaderField] = []
        if let node = object.present("headers") { headers = try self.headers(node) }
        return Scenario(
            name: name, target: target, requests: requests, load: load, client: client, warmup: warmup,
            thresholds: thresholds, seed: seed, headers: headers, baseDirectory: baseDirectory)
    }

    // MARK: Target

    func target(_ node: Node) throws(ScenarioError) -> TargetSpec {
        let object = try node.object(allowed: ["url", "embedded"])
        switch (object.present("url"), object.present("embedded")) {
        case (let url?, nil):
            do {
                return .url(try TargetURL(parsing: try url.string()))
            } catch let error as TargetURLError {
                throw url.error(error.message)
            } catch let error as ScenarioError {
                throw error
            } catch {
                throw url.error("\(error)")
            }
        case (nil, let embedded?):
            return .embedded(try self.embedded(embedded))
        default:
            throw node.error("expected exactly one of \"url\" or \"embedded\"")
        }
    }

    static let embeddedKeys = [
        "modelDir", "routes", "workers", "threads", "maxQueue", "timeout", "python", "failRate", "delay", "slowRate",
        "slowDelay", "port", "dropAbandoned", "pingOverloadQueue", "outage",
    ]

    func embedded(_ node: Node) throws(ScenarioError) -> EmbeddedTarget {
        let object = try node.object(allowed: Self.embeddedKeys)
        let directoryNode = try object.required("modelDir")
        let directory = try resolveDirectory(try directoryNode.nonEmptyString(), node: directoryNode)
        let routesNode = try object.required("routes")
        let routeNodes = try routesNode.array()
        guard !routeNodes.isEmpty else { throw routesNode.error("expected at least one route") }
        var routes: [RouteSpec] = []
        for routeNode in routeNodes {
            let route = try self.route(routeNode)
            if routes.contains(where: { $0.path == route.path && $0.verb == route.verb }) {
                throw routeNode.error("duplicate route \(route.verb) \(route.path)")
            }
            routes.append(route)
        }
        var target = EmbeddedTarget(modelDirectory: directory, routes: routes)
        target.workers = try object.present("workers")?.int(min: 1, max: 256) ?? 1
        target.threads = try object.present("threads")?.int(min: 1, max: 256)
        target.maxQueue = try object.present("maxQueue")?.int(min: 0)
        target.timeout = try object.present("timeout")?.duration()
        target.python = try object.present("python")?.nonEmptyString()
        if let failRate = object.present("failRate") {
            let rate = try failRate.double()
            guard (0...1).contains(rate) else { throw failRate.expected("a number from 0 to 1") }
            target.failRate = rate
        }
        target.delay = try object.present("delay")?.duration(allowZero: true)
        if let slowRate = object.present("slowRate") {
            let rate = try slowRate.double()
            guard (0...1).contains(rate) else { throw slowRate.expected("a number from 0 to 1") }
            guard object.has("slowDelay") else {
                throw slowRate.error("needs \"slowDelay\": how long a slow call takes, e.g. \"200ms\"")
            }
            target.slowRate = rate
        }
        if let slowDelayNode = object.present("slowDelay") {
            let slowDelay = try slowDelayNode.duration(allowZero: true)
            if let delay = target.delay, slowDelay < delay {
                throw slowDelayNode.error("must not be shorter than \"delay\" (\(delay)): a slow call takes slowDelay in all")
            }
            target.slowDelay = slowDelay
        }
        target.port = try object.present("port")?.int(min: 0, max: 65535)
        target.dropAbandoned = try object.present("dropAbandoned")?.bool() ?? false
        target.pingOverloadQueue = try object.present("pingOverloadQueue")?.int(min: 0)
        if let outageNode = object.present("outage") {
            let outage = try outageNode.object(allowed: ["start", "duration", "retryAfter"])
            target.outage = EmbeddedOutage(
                start: try outage.required("start").duration(allowZero: true),
                duration: try outage.required("duration").duration(),
                retryAfter: try outage.present("retryAfter")?.int(min: 0, max: 86_400))
        }
        return target
    }

    /// Where a relative path in the scenario may be: beside the scenario file, then in the current directory.
    /// Each place is listed once: when the scenario file sits in the current directory, both are the same path.
    func candidates(_ path: String) -> [String] {
        guard !path.hasPrefix("/") else { return [path] }
        var result: [String] = []
        for directory in [baseDirectory, currentDirectory] {
            let candidate = ((directory as NSString).appendingPathComponent(path) as NSString).standardizingPath
            if !result.contains(candidate) { result.append(candidate) }
        }
        return result
    }

    /// The first candidate that is an existing directory (`directory`) or readable file, or an error listing them.
    func locate(_ path: String, directory: Bool, node: Node) throws(ScenarioError) -> String {
        let candidates = candidates(path)
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory),
                isDirectory.boolValue == directory, directory || FileManager.default.isReadableFile(atPath: candidate)
            {
                return candidate
            }
        }
        let looked = candidates.map { "\"\($0)\"" }.joined(separator: " and ")
        throw node.error("\(directory ? "directory" : "file") \"\(path)\" not found (looked in \(looked))")
    }

    func resolveDirectory(_ path: String, node: Node) throws(ScenarioError) -> String {
        (try locate(path, directory: true, node: node) as NSString).standardizingPath
    }

    func resolveFile(_ path: String, node: Node) throws(ScenarioError) -> [UInt8] {
        let file = try locate(path, directory: false, node: node)
        guard let data = FileManager.default.contents(atPath: file) else {  // removed since `locate` saw it
            throw node.error("file \"\(path)\" could not be read (\"\(file)\")")
        }
        return Array(data)
    }

    /// Decodes one route in the seed's JSON form with the endpoint's own strict reading (`RouteKeyCheck`: unknown
    /// keys rejected with a suggestion, then EndpointSpec's `RouteSpec.decode`), so a typo such as `"optinal"` is
    /// reported here exactly as `reference-endpoint --route` reports it.
    func route(_ node: Node) throws(ScenarioError) -> RouteSpec {
        try RouteKeyCheck.decode(node.value, path: node.path)
    }

    // MARK: Requests

    static let requestKeys = ["name", "route", "method", "headers", "body", "bodyFile", "weight", "expect"]

    func request(_ node: Node, routes: [RouteSpec]?) throws(ScenarioError) -> RequestSpec {
        let object = try node.object(allowed: Self.requestKeys)
        let routeNode = try object.required("route")
        let route = try routeNode.string()
        guard route.hasPrefix("/") else {
            throw routeNode.error("expected a path starting with \"/\", got \"\(route)\"")
        }
        guard !route.unicodeScalars.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
            throw routeNode.error("a route must not contain spaces or line breaks")
        }
        var request = RequestSpec(route: route)
        request.name = try object.present("name")?.string()
        if let methodNode = object.present("method") {
            let method = try methodNode.nonEmptyString().uppercased()
            guard method.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") }) else {
                throw methodNode.error("expected an HTTP method like \"POST\", got \"\(method)\"")
            }
            request.method = method
        }
        if let headersNode = object.present("headers") { request.headers = try headers(headersNode) }
        switch (object.optional("body"), object.present("bodyFile")) {
        case (let body?, nil):
            request.body = try ValueTemplate.compile(body.value, path: body.path)
        case (nil, let file?):
            let bytes = try resolveFile(try file.nonEmptyString(), node: file)
            let json: JSONValue
            do {
                json = try LoadgenJSON.parse(bytes)
            } catch {
                throw file.error("file \"\(try file.string())\" is not valid JSON: \(error.location)")
            }
            request.body = try ValueTemplate.compile(json, path: "\(file.path)<\(try file.string())>")
        case (nil, nil):
            request.body = nil
        case (_?, _?):
            throw node.error("use either \"body\" or \"bodyFile\", not both")
        }
        if let weightNode = object.present("weight") {
            let weight = try weightNode.double()
            guard weight > 0 else { throw weightNode.expected("a weight greater than 0") }
            request.weight = weight
        }
        if let expectNode = object.present("expect") {
            let items: [Node] = if case .array = expectNode.value { try expectNode.array() } else { [expectNode] }
            guard !items.isEmpty else { throw expectNode.error("expected a status or a non-empty array of statuses") }
            var statuses: Set<Int> = []
            for item in items { statuses.insert(try item.int(min: 100, max: 599)) }
            request.expect = statuses
        }
        if let routes {
            let bodyPath = ObjectNode.join(node.path, object.has("bodyFile") ? "bodyFile" : "body")
            try check(request, against: routes, routeNode: routeNode, bodyPath: bodyPath)
        }
        return request
    }

    /// With an embedded target, the request must name one of its routes, and its body must pass the route's
    /// body template (EndpointSpec's `BodyTemplate`, the validator the server runs), so `loadgen validate`
    /// reports what the server would answer with 422. A request whose `expect` lists 422 is meant to be
    /// rejected, so its body is not checked.
    /// `bodyPath` names where the body came from (`requests[i].body` or `requests[i].bodyFile`).
    func check(_ request: RequestSpec, against routes: [RouteSpec], routeNode: Node, bodyPath: String)
        throws(ScenarioError)
    {
        let path = String(request.route.split(separator: "?", maxSplits: 1).first ?? "")
        guard let route = routes.first(where: { $0.path == path && $0.verb == request.method }) else {
            let known = routes.map { "\($0.verb) \($0.path)" }.joined(separator: ", ")
            throw routeNode.error(
                "no route \(request.method) \(path) in target.embedded.routes (routes: \(known))")
        }
        if request.expect?.contains(422) == true { return }
        if let problem = Self.bodyProblem(request.body, template: BodyTemplate(route.body)) {
            throw ScenarioError(path: bodyPath, message: problem)
        }
    }

    /// Samples of a generated body that are validated: generators draw random values, and a `$choice` may mix
    /// valid and invalid options, so a few arrivals are tried, not only the first. Bounded and deterministic.
    static let generatedBodySamples: Int64 = 16

    /// Why `template` rejects `body`, or `nil` when it accepts it. A literal body is validated as is; a generated
    /// body is rendered for arrivals `0..<generatedBodySamples` (seed 0) and the first rejected sample is shown.
    static func bodyProblem(_ body: ValueTemplate?, template: BodyTemplate) -> String? {
        guard let body else {
            guard case .failure(let failure) = template.validate(body: nil, contentType: nil) else { return nil }
            return describe(failure)
        }
        if case .literal(let value) = body {
            guard case .failure(let failure) = template.validate(value) else { return nil }
            return describe(failure)
        }
        for index in 0..<generatedBodySamples {
            var rng = SplitMix64(seed: 0, index: UInt64(index))
            let sample = body.render(index: index, rng: &rng)
            if case .failure(let failure) = template.validate(sample) {
                return describe(failure) + ", in the generated body \(LoadgenJSON.serialize(sample))"
            }
        }
        return nil
    }

    /// The validator's details as `loc: msg (type)`, joined by `; `; `loc` is relative to the body
    /// (`text: Input should be a valid string (string_type)`), and omitted for the body itself.
    static func describe(_ failure: ValidationFailure) -> String {
        guard !failure.details.isEmpty else { return "the endpoint could not decode the body (\(failure.status))" }
        return failure.details.map { detail in
            var loc = detail.loc[...]
            if loc.first == .key("body") { loc = loc.dropFirst() }
            var location = ""
            for item in loc {
                switch item {
                case .key(let key): location += location.isEmpty ? key : ".\(key)"
                case .index(let index): location += "[\(index)]"
                }
            }
            return (location.isEmpty ? "" : location + ": ") + "\(detail.msg) (\(detail.type))"
        }.joined(separator: "; ")
    }

    func headers(_ node: Node) throws(ScenarioError) -> [HTTPHeaderField] {
        guard case .object(let object) = node.value else { throw node.expected("an object of header names to values") }
        var headers: [HTTPHeaderField] = []
        for pair in object.pairs {
            let valueNode = Node(pair.value, path: ObjectNode.join(node.path, pair.key))
            let isToken = !pair.key.isEmpty
                && pair.key.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0 != ":" && $0.value < 127 }
            guard isToken else { throw valueNode.error("invalid header name") }
            let value = try expandEnvironment(in: try valueNode.string(), at: valueNode)
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw valueNode.error("a header value must not contain line breaks")
            }
            headers.append(HTTPHeaderField(name: pair.key, value: value))
        }
        return headers
    }

    /// `text` with each `${NAME}` replaced by the environment variable NAME (`$$` is a literal `$`). A variable
    /// that is not set, or a malformed reference, is an error naming it and the field.
    func expandEnvironment(in text: String, at node: Node) throws(ScenarioError) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                result += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.first == "{" else {
                result += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                throw node.error("unterminated \"${\" (write ${NAME} for an environment variable, $$ for a $)")
            }
            let name = after[after.index(after: after.startIndex)..<close]
            let valid = name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            guard valid else { throw node.error("\"${\(name)}\" is not a valid environment variable name") }
            guard let value = environment[String(name)] else {
                throw node.error("environment variable \(name) is not set (referenced as ${\(name)})")
            }
            result += value
            rest = after[after.index(after: close)...]
        }
        return result + rest
    }

    // MARK: Load

    func load(_ node: Node) throws(ScenarioError) -> LoadSpec {
        let object = try node.object(allowed: ["type", "rate", "duration", "startRate", "stages", "users", "thinkTime"])
        let typeNode = try object.required("type")
        let type = try typeNode.string()
        let used: [String]
        switch type {
        case "constant-rate": used = ["type", "rate", "duration"]
        case "ramping-rate": used = ["type", "startRate", "stages"]
        case "closed": used = ["type", "users", "duration", "thinkTime"]
        default:
            var message = "expected \"constant-rate\", \"ramping-rate\" or \"closed\", got \"\(type)\""
            if let suggestion = closestName(type, ["constant-rate", "ramping-rate", "closed"]) {
                message += "; did you mean \"\(suggestion)\"?"
            }
            throw typeNode.error(message)
        }
        for pair in object.object.pairs where !used.contains(pair.key) {
            throw ScenarioError(
                path: ObjectNode.join(node.path, pair.key), message: "not used by load type \"\(type)\"")
        }
        switch type {
        case "constant-rate":
            let rate = try object.required("rate").rate(allowZero: false)
            let duration = try object.required("duration").duration()
            return .constantRate(rate: rate, duration: duration)
        case "ramping-rate":
            let start = try object.present("startRate")?.rate(allowZero: true) ?? 0
            let stagesNode = try object.required("stages")
            let stageNodes = try stagesNode.array()
            guard !stageNodes.isEmpty else { throw stagesNode.error("expected at least one stage") }
            var stages: [RampStage] = []
            for stageNode in stageNodes {
                let stage = try stageNode.object(allowed: ["target", "duration"])
                let target = try stage.required("target").rate(allowZero: true)
                let duration = try stage.required("duration").duration()
                stages.append(RampStage(target: target, duration: duration))
            }
            if start == 0, stages.allSatisfy({ $0.target == 0 }) {
                throw stagesNode.error("every stage targets 0/s, so no call would be made")
            }
            return .rampingRate(startRate: start, stages: stages)
        default:
            let users = try object.required("users").int(min: 1, max: 100_000)
            let duration = try object.required("duration").duration()
            let think = try object.present("thinkTime")?.duration(allowZero: true) ?? DurationValue(nanoseconds: 0)
            return .closed(users: users, duration: duration, thinkTime: think)
        }
    }

    // MARK: Client

    func client(_ node: Node) throws(ScenarioError) -> ClientSpec {
        let object = try node.object(allowed: [
            "connections", "timeout", "connectTimeout", "retry", "budget", "healthGate", "hedging", "tls", "maxResponse",
            "adaptiveRateLimit",
        ])
        var client = ClientSpec()
        client.maxResponseBytes =
            try object.present("maxResponse")?.int(min: 1, max: ClientSpec.maxResponseLimit) ?? client.maxResponseBytes
        client.connections = try object.present("connections")?.int(min: 1, max: 100_000) ?? client.connections
        client.timeout = try object.present("timeout")?.duration() ?? client.timeout
        client.connectTimeout = try object.present("connectTimeout")?.duration()
        if let retryNode = object.present("retry") {
            let retry = try retryNode.object(allowed: [
                "maxAttempts", "baseDelay", "maxDelay", "jitter", "retryOn", "retryOnErrors", "honourRetryAfter",
                "maxRetryAfter",
            ])
            var spec = RetrySpec()
            spec.maxAttempts = try retry.present("maxAttempts")?.int(min: 1, max: 100) ?? spec.maxAttempts
            spec.baseDelay = try retry.present("baseDelay")?.duration() ?? spec.baseDelay
            spec.maxDelay = try retry.present("maxDelay")?.duration() ?? spec.maxDelay
            if spec.maxDelay < spec.baseDelay {
                let path = retry.has("maxDelay") ? "maxDelay" : "baseDelay"
                throw ScenarioError(
                    path: ObjectNode.join(retryNode.path, path),
                    message: "maxDelay (\(spec.maxDelay)) must not be less than baseDelay (\(spec.baseDelay))")
            }
            if let jitterNode = retry.present("jitter") {
                let name = try jitterNode.string()
                guard let jitter = JitterMode(rawValue: name) else {
                    let names = JitterMode.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                    var message = "expected one of \(names), got \"\(name)\""
                    if let suggestion = closestName(name, JitterMode.allCases.map(\.rawValue)) {
                        message += "; did you mean \"\(suggestion)\"?"
                    }
                    throw jitterNode.error(message)
                }
                spec.jitter = jitter
            }
            if let retryOn = retry.present("retryOn") {
                var statuses: Set<Int> = []
                for item in try retryOn.array() { statuses.insert(try item.int(min: 100, max: 599)) }
                spec.retryOnStatus = statuses
            }
            spec.retryOnTransportErrors = try retry.present("retryOnErrors")?.bool() ?? spec.retryOnTransportErrors
            spec.honourRetryAfter = try retry.present("honourRetryAfter")?.bool() ?? spec.honourRetryAfter
            spec.maxRetryAfter = try retry.present("maxRetryAfter")?.duration()
            client.retry = spec
        }
        if let budgetNode = object.present("budget"), case .bool(let enabled) = budgetNode.value {
            client.budget = enabled ? RetryBudgetSpec() : nil
        } else if let budgetNode = object.present("budget") {
            let budget = try budgetNode.object(allowed: ["ratio", "minRetriesPerSecond", "window"])
            var spec = RetryBudgetSpec()
            if let ratio = budget.present("ratio") {
                spec.ratio = try ratio.double()
                guard spec.ratio >= 0 else { throw ratio.expected("a ratio >= 0") }
            }
            if let minimum = budget.present("minRetriesPerSecond") {
                spec.minRetriesPerSecond = try minimum.double()
                guard spec.minRetriesPerSecond >= 0 else { throw minimum.expected("a number >= 0") }
            }
            spec.window = try budget.present("window")?.duration() ?? spec.window
            client.budget = spec
        }
        if let gateNode = object.present("healthGate") {
            if case .bool(let enabled) = gateNode.value {
                client.healthGate = enabled ? HealthGateSpec() : nil
            } else if case .object = gateNode.value {
                let gate = try gateNode.object(allowed: ["path", "failureThreshold", "probeInterval"])
                var spec = HealthGateSpec()
                if let pathNode = gate.present("path") {
                    spec.path = try pathNode.string()
                    guard spec.path.hasPrefix("/") else {
                        throw pathNode.error("expected a path starting with \"/\", got \"\(spec.path)\"")
                    }
                }
                spec.failureThreshold = try gate.present("failureThreshold")?.int(min: 1) ?? spec.failureThreshold
                spec.probeInterval = try gate.present("probeInterval")?.duration() ?? spec.probeInterval
                client.healthGate = spec
            } else {
                throw gateNode.expected("true, false or an object")
            }
        }
        if let hedgingNode = object.present("hedging") {
            client.hedging = try hedging(hedgingNode)
        }
        if let limitNode = object.present("adaptiveRateLimit") {
            client.adaptiveRateLimit = try adaptiveRateLimit(limitNode)
        }
        if let tlsNode = object.present("tls") {
            let tls = try tlsNode.object(allowed: ["caFile"])
            if let caNode = tls.present("caFile") {
                let path = try caNode.nonEmptyString()
                let file = try locate(path, directory: false, node: caNode)
                let pem = String(decoding: try resolveFile(path, node: caNode), as: UTF8.self)
                guard pem.contains("-----BEGIN CERTIFICATE-----") else {
                    throw caNode.error("file \"\(path)\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                }
                client.tls.caFile = (file as NSString).standardizingPath
            }
        }
        return client
    }

    /// `client.adaptiveRateLimit`: `true` (the AWS SDKs' constants), `false` (off), or an object that changes
    /// some of them: `{"beta": 0.7, "scale": 0.4, "smoothing": 0.8, "minimumRate": 0.5}`.
    func adaptiveRateLimit(_ node: Node) throws(ScenarioError) -> AdaptiveRateLimiter.Configuration? {
        if case .bool(let enabled) = node.value { return enabled ? AdaptiveRateLimiter.Configuration() : nil }
        guard case .object = node.value else { throw node.expected("true, false or an object") }
        let object = try node.object(allowed: ["beta", "scale", "smoothing", "minimumRate"])
        let defaults = AdaptiveRateLimiter.Configuration()
        /// A number in `range` (the limiter's own bounds: nothing is clamped silently), or the default.
        func number(
            _ key: String, _ fallback: Double, _ range: ClosedRange<Double>, meaning: String
        ) throws(ScenarioError) -> Double {
            guard let valueNode = object.present(key) else { return fallback }
            let value = try valueNode.double()
            guard value.isFinite, range.contains(value) else {
                let low = String(format: "%g", range.lowerBound)
                let bounds =
                    range.upperBound.isInfinite
                    ? "a number >= \(low)" : "a number from \(low) to \(String(format: "%g", range.upperBound))"
                throw valueNode.expected("\(bounds) (\(meaning))")
            }
            return value
        }
        return AdaptiveRateLimiter.Configuration(
            beta: try number("beta", defaults.beta, 0.01...1, meaning: "the share of the rate kept after a throttle"),
            scale: try number("scale", defaults.scale, 0.001...Double.infinity, meaning: "CUBIC's scale constant"),
            smoothing: try number(
                "smoothing", defaults.smoothing, 0.01...1, meaning: "the weight of the newest sending-rate sample"),
            minimumRate: try number(
                "minimumRate", defaults.minimumRate, 0.01...Double.infinity, meaning: "the lowest rate, in sends per second"))
    }

    /// `client.hedging`: `{"delay": "20ms", "maxAttempts": 2, "nonFatalStatuses": [503]}` (delay required).
    func hedging(_ node: Node) throws(ScenarioError) -> HedgingSpec {
        let object = try node.object(allowed: ["delay", "maxAttempts", "nonFatalStatuses"])
        guard let delayNode = object.present("delay") else {
            throw node.error("missing \"delay\": how long an attempt may go unanswered before the hedge, e.g. \"20ms\"")
        }
        var spec = HedgingSpec(delay: try delayNode.duration(allowZero: true))
        spec.maxAttempts =
            try object.present("maxAttempts")?.int(min: 2, max: HedgingSpec.maxAttemptsLimit) ?? spec.maxAttempts
        if let statuses = object.present("nonFatalStatuses") {
            var set: Set<Int> = []
            for item in try statuses.array() {
                let status = try item.int(min: 300, max: 599)
                set.insert(status)
            }
            spec.nonFatalStatuses = set
        }
        return spec
    }
}
