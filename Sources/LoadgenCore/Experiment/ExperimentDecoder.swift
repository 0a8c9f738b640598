import EndpointSpec
import Foundation

extension Experiment {
    /// Reads and validates the experiment file at `path` (relative paths inside resolve as in scenarios).
    public static func load(path: String, currentDirectory: String? = nil) throws(ScenarioError) -> Experiment {
        let file = try ScenarioFile(path: path, currentDirectory: currentDirectory, kind: "experiment")
        let json: JSONValue
        do {
            json = try LoadgenJSON.parse(file.bytes)
        } catch {
            throw ScenarioError(path: "", message: error.description)
        }
        let decoder = ScenarioDecoder(baseDirectory: file.directory, currentDirectory: file.currentDirectory)
        return try ExperimentDecoder(scenarios: decoder).experiment(Node(json, path: ""), defaultName: file.stem)
    }
}

/// Turns experiment JSON into a validated `Experiment`: the base `scenario` is decoded as a scenario file
/// is, and each variant is the base with the variant's fields merged in (objects field by field, anything
/// else replaced), decoded the same way. Every error names the field by path.
struct ExperimentDecoder {
    let scenarios: ScenarioDecoder

    static let topLevelKeys = ["name", "description", "scenario", "variants", "trigger", "deadline", "expectation"]
    /// A variant's own fields; the others override the base scenario's.
    static let variantKeys = ["name", "description"]
    /// Scenario fields a variant may override.
    static let overridableKeys = ["target", "requests", "load", "client", "warmup", "seed", "headers"]

    func experiment(_ root: Node, defaultName: String) throws(ScenarioError) -> Experiment {
        let object = try root.object(allowed: Self.topLevelKeys)
        let name = try object.present("name")?.nonEmptyString() ?? defaultName
        let description = try object.present("description")?.string() ?? ""
        let baseNode = try object.required("scenario")
        guard case .object(let baseObject) = baseNode.value else { throw baseNode.expected("an object") }
        let base = try scenarios.scenario(baseNode, defaultName: name)
        try requireEmbedded(base, node: baseNode)
        let variantsNode = try object.required("variants")
        let variantNodes = try variantsNode.array()
        guard !variantNodes.isEmpty else { throw variantsNode.error("expected at least one variant") }
        var variants: [ExperimentVariant] = []
        for node in variantNodes {
            let variant = try self.variant(node, base: baseObject, experimentName: name)
            if variants.contains(where: { $0.name == variant.name }) {
                throw ScenarioError(
                    path: ObjectNode.join(node.path, "name"), message: "duplicate variant name \"\(variant.name)\"")
            }
            variants.append(variant)
        }
        var trigger: ExperimentTrigger?
        if let node = object.present("trigger") {
            let fields = try node.object(allowed: ["start", "duration"])
            let start = try fields.required("start").duration(allowZero: true)
            let duration = try fields.required("duration").duration()
            trigger = ExperimentTrigger(start: start, duration: duration)
            for variant in variants where trigger.map({ $0.end > variant.scenario.load.duration }) ?? false {
                throw node.error(
                    "the trigger ends at \(trigger?.end ?? start), after the load of variant \"\(variant.name)\" "
                        + "(\(variant.scenario.load.duration)): there would be no time left to recover")
            }
        }
        let deadline = try object.present("deadline")?.duration()
        var expectation = Expectation()
        if let node = object.present("expectation") {
            let fields = try node.object(allowed: ["text", "checks"])
            expectation.text = try fields.present("text")?.string() ?? ""
            if let checks = fields.present("checks") {
                for item in try checks.array() {
                    let check: ExpectationCheck
                    do {
                        check = try ExpectationCheck(parsing: try item.string())
                    } catch let error as ExpectationError {
                        throw item.error(error.message)
                    } catch let error as ScenarioError {
                        throw error
                    } catch {
                        throw item.error("\(error)")
                    }
                    for name in check.variants where !variants.contains(where: { $0.name == name }) {
                        let known = variants.map { "\"\($0.name)\"" }.joined(separator: ", ")
                        throw item.error("no variant named \"\(name)\" (variants: \(known))")
                    }
                    expectation.checks.append(check)
                }
            }
        }
        return Experiment(
            name: name, description: description, variants: variants, trigger: trigger, deadline: deadline,
            expectation: expectation)
    }

    func variant(_ node: Node, base: JSONObject, experimentName: String) throws(ScenarioError) -> ExperimentVariant {
        let fields = try node.object(allowed: Self.variantKeys + Self.overridableKeys)
        let name = try fields.required("name").nonEmptyString()
        let description = try fields.present("description")?.string() ?? ""
        var merged = base
        for pair in fields.object.pairs where Self.overridableKeys.contains(pair.key) {
            merged[pair.key] = Self.merge(merged[pair.key], pair.value)
        }
        merged["name"] = .string("\(experimentName) (\(name))")
        let scenario: Scenario
        do {
            scenario = try scenarios.scenario(Node(.object(merged), path: ""), defaultName: name)
        } catch {
            let location = error.path.isEmpty ? "" : " at \(error.path)"
            throw node.error("variant \"\(name)\": the scenario with its overrides is invalid\(location): \(error.message)")
        }
        try requireEmbedded(scenario, node: node)
        return ExperimentVariant(name: name, description: description, scenario: scenario)
    }

    /// `override` merged into `base`: objects field by field (recursively), anything else replaced.
    static func merge(_ base: JSONValue?, _ override: JSONValue) -> JSONValue {
        guard case .object(var merged)? = base, case .object(let changes) = override else { return override }
        for pair in changes.pairs { merged[pair.key] = merge(merged[pair.key], pair.value) }
        return .object(merged)
    }

    /// Each variant runs against a fresh endpoint, so the target must be the embedded one.
    func requireEmbedded(_ scenario: Scenario, node: Node) throws(ScenarioError) {
        guard case .embedded = scenario.target else {
            throw node.error(
                "an experiment needs target.embedded (each variant runs against a fresh embedded endpoint, so that no "
                    + "state carries over), not target.url")
        }
    }
}
