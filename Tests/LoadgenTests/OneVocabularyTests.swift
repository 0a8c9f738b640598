import CommandLine
import Foundation
import ReferenceEndpoint
import ResilientClient
import TestSupport
import Testing

@testable import LoadgenCore

/// Issue 15, "one vocabulary": a scenario says what the library's policy says, with the library's defaults, and
/// the scenario, `loadgen validate` and `reference-endpoint` apply the same checks.
@Suite(.dedicatedThreads) struct OneVocabularyTests {
    static let minimal = """
        {"target": {"url": "http://127.0.0.1:8080"}, "requests": [{"route": "/p"}],
         "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}CLIENT}
        """

    static func decode(client: String?) throws -> Scenario {
        let text = minimal.replacingOccurrences(of: "CLIENT", with: client.map { ", \"client\": \($0)" } ?? "")
        return try Scenario.decode(Array(text.utf8), baseDirectory: "/", currentDirectory: "/")
    }

    static func error(client: String) -> String {
        do {
            _ = try decode(client: client)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    // MARK: Defaults

    @Test("a scenario without a client section retries exactly as a default ResilientClient")
    func defaultsAreTheLibrarys() throws {
        let scenario = try Self.decode(client: nil)
        #expect(scenario.client == ClientSpec())
        let policy = EnginePolicy(scenario.client, loops: 1)
        #expect(policy.retry == RetryPolicy())
        #expect(policy.budgets == [RetryBudget.Configuration()])
        let library = ResilientClientConfiguration(baseURL: URL(fileURLWithPath: "/"))
        #expect(scenario.client.timeout.duration == library.attemptTimeout)
        #expect(scenario.client.retry.retryOnStatus == [429, 502, 503, 504])
        // The documented difference: the gate is off unless the scenario asks for it.
        #expect(scenario.client.healthGate == nil)
        #expect(!policy.gateEnabled)
    }

    @Test("docs/scenarios.md states the library's defaults")
    func docsStateTheDefaults() throws {
        let doc = try String(contentsOfFile: Repository.root + "/docs/scenarios.md", encoding: .utf8)
        let spec = RetrySpec()
        #expect(doc.contains("| `retry.maxAttempts` | \(spec.maxAttempts) |"))
        #expect(doc.contains("| `retry.baseDelay` | `\"\(spec.baseDelay)\"` |"))
        #expect(doc.contains("| `retry.maxDelay` | `\"\(spec.maxDelay)\"` |"))
        #expect(doc.contains("| `retry.jitter` | `\"\(spec.jitter.rawValue)\"` |"))
        let statuses = spec.retryOnStatus.sorted().map(String.init).joined(separator: ", ")
        #expect(doc.contains("| `retry.retryOn` | `[\(statuses)]` |"))
        #expect(doc.contains("| `timeout` | `\"\(ClientSpec().timeout)\"` |"))
        #expect(doc.contains("| `budget` | on |"))
    }

    // MARK: What a scenario can say

    @Test("every jitter mode of the library is a scenario jitter, and maps to the same Backoff mode")
    func everyJitterMode() throws {
        for mode in type(of: Backoff().jitter).allCases {
            let scenario = try Self.decode(client: "{\"retry\": {\"jitter\": \"\(mode.rawValue)\"}}")
            #expect(scenario.client.retry.jitter.rawValue == mode.rawValue)
            #expect(EnginePolicy(scenario.client, loops: 1).retry.backoff.jitter == mode)
        }
    }

    @Test("decorrelated jitter: the engine's delays are the library's Backoff draws, fed the previous delay")
    func decorrelatedDelays() throws {
        let scenario = try Self.decode(
            client: "{\"retry\": {\"maxAttempts\": 6, \"baseDelay\": \"10ms\", \"maxDelay\": \"1s\", \"jitter\": \"decorrelated\"}}")
        let policy = EnginePolicy(scenario.client, loops: 1).retry
        var planner = RetryPlanner(policy: policy, idempotent: true, deadline: nil)
        var budget = RetryBudget(.unlimited)
        var rng = SplitMix64(seed: 3)
        var expectedRNG = SplitMix64(seed: 3)
        var previous: Duration?
        let backoff = Backoff(base: .milliseconds(10), multiplier: 2, cap: .seconds(1), jitter: .decorrelated)
        for _ in 1...5 {
            planner.recordAttempt()
            let decision = planner.decide(
                after: .status(503), retryAfter: nil, now: .zero, wallClockSeconds: 0, budget: &budget, using: &rng)
            let expected = backoff.delay(forRetry: 1, previous: previous, using: &expectedRNG)
            #expect(decision == .retry(after: expected, reason: DelayReason(cause: .status(503), backoff: expected)))
            #expect(expected >= .milliseconds(10) && expected <= .seconds(1))
            previous = expected
        }
    }

    @Test("honourRetryAfter: false ignores the server's Retry-After, as the library's policy does")
    func honourRetryAfter() throws {
        let off = try Self.decode(client: "{\"retry\": {\"honourRetryAfter\": false}}")
        #expect(off.client.retry.honourRetryAfter == false)
        #expect(EnginePolicy(off.client, loops: 1).retry.honourRetryAfter == false)
        let on = try Self.decode(client: "{\"retry\": {\"honourRetryAfter\": true}}")
        #expect(EnginePolicy(on.client, loops: 1).retry.honourRetryAfter)
        #expect(Self.error(client: "{\"retry\": {\"honorRetryAfter\": false}}")
            == "client.retry.honorRetryAfter: unknown field; did you mean \"honourRetryAfter\"?")
    }

    @Test("retry statuses: 503 always, 502/504 for idempotent requests, 429 only when listed")
    func retryStatuses() throws {
        let listed = try Self.decode(client: "{\"retry\": {\"retryOn\": [429, 503]}}")
        let classifier = EnginePolicy(listed.client, loops: 1).retry.classifier
        #expect(classifier.alwaysRetryableStatuses == [429, 503])
        #expect(classifier.idempotentRetryableStatuses.isEmpty)
    }

    @Test("budget: true and false switch the library's default budget on and off")
    func budgetSwitch() throws {
        #expect(try Self.decode(client: "{\"budget\": false}").client.budget == nil)
        #expect(try Self.decode(client: "{\"budget\": true}").client.budget == RetryBudgetSpec())
        #expect(EnginePolicy(try Self.decode(client: "{\"budget\": false}").client, loops: 2).budgets
            == [.unlimited, .unlimited])
    }

    // MARK: The same checks everywhere

    @Test("an unknown route key is rejected with the same message by a scenario and by reference-endpoint --route")
    func unknownRouteKeys() throws {
        let route = #"{"methd": "POST", "path": "/p", "file": "predict", "function": "predict"}"#
        let embedded = """
            {"target": {"embedded": {"modelDir": "/", "routes": [\(route)]}}, "requests": [{"route": "/p"}],
             "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}
            """
        var scenarioMessage = ""
        do {
            _ = try Scenario.decode(Array(embedded.utf8), baseDirectory: "/", currentDirectory: "/")
        } catch {
            scenarioMessage = error.message
        }
        // "methd" is closest to "method", which the seed spells "verb".
        #expect(scenarioMessage == "unknown field; did you mean \"verb\"?")
        var endpointMessage = ""
        do {
            _ = try RouteKeyCheck.decode(json: Array(route.utf8))
        } catch {
            endpointMessage = error.message
        }
        #expect(endpointMessage == scenarioMessage)
    }

    @Test("a missing modelDir lists each place it looked once")
    func missingModelDirectoryListsEachPathOnce() {
        let text = """
            {"target": {"embedded": {"modelDir": "nowhere", "routes": [{"path": "/p", "file": "f", "function": "g"}]}},
             "requests": [{"route": "/p"}], "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}
            """
        var message = ""
        do {
            _ = try Scenario.decode(Array(text.utf8), baseDirectory: "/tmp/here", currentDirectory: "/tmp/here")
        } catch {
            message = error.description
        }
        #expect(message == "target.embedded.modelDir: directory \"nowhere\" not found (looked in \"/tmp/here/nowhere\")")
    }

    @Test("an embedded endpoint's start error names the endpoint, never /proc/self/exe")
    func startErrorsDoNotNameProcSelfExe() async throws {
        let launcher = ProcessTargetLauncher()
        #expect(launcher.displayName == "the embedded endpoint (loadgen serve)")
        #expect(!launcher.displayName.contains("/proc/self/exe"))
        // Another program keeps its path (that is what the user named).
        #expect(ProcessTargetLauncher(executable: "/bin/false").displayName == "/bin/false")
        // An executable that exits at once: the message says "exited ... before it was ready" with that name.
        var failing = ProcessTargetLauncher(executable: "/bin/false", leadingArguments: [])
        failing.startupTimeout = .seconds(10)
        do {
            _ = try await failing.startProcess(arguments: [])
            Issue.record("expected a start failure")
        } catch {
            #expect("\(error)".contains("/bin/false exited"))
        }
    }

    // MARK: loadgen validate

    static func validate(_ path: String, directory: String) async -> (Int32, String, String) {
        let out = Buffer()
        let err = Buffer()
        let environment = LoadgenEnvironment(
            standardOutput: out.append, standardError: err.append, progressIsTerminal: false,
            currentDirectory: directory)
        let code = await LoadgenCommand.main(["validate", path], environment: environment)
        return (code, out.text, err.text)
    }

    @Test("loadgen validate checks an embedded target's model file and function as the endpoint would at start")
    func validateChecksTheModel() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try directory.write("model/predict.py", "def predict(text):\n    return {}\n")
        func scenario(file: String, function: String) -> String {
            """
            {"target": {"embedded": {"modelDir": "model", "routes": [{"path": "/p", "file": "\(file)", "function": "\(function)", "body": [{"name": "text", "type": "str"}]}]}},
             "requests": [{"route": "/p", "body": {"text": "x"}}], "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}
            """
        }
        try directory.write("good.json", scenario(file: "predict", function: "predict"))
        try directory.write("no-function.json", scenario(file: "predict", function: "predict_image"))
        try directory.write("no-file.json", scenario(file: "model", function: "predict"))
        let good = await Self.validate("good.json", directory: directory.path)
        #expect(good.0 == 0, "\(good.2)")
        #expect(good.1.hasPrefix("ok: good"))
        let noFunction = await Self.validate("no-function.json", directory: directory.path)
        #expect(noFunction.0 == 2)
        #expect(noFunction.2.contains("function 'predict_image' not found in predict.py"), "\(noFunction.2)")
        let noFile = await Self.validate("no-file.json", directory: directory.path)
        #expect(noFile.0 == 2)
        #expect(noFile.2.contains("model file model.py not found"), "\(noFile.2)")
    }

    @Test("every shipped scenario passes loadgen validate against the real example models",
        arguments: ["quickstart.json", "sla-check.json", "ramp-to-overload.json", "closed-loop.json", "capacity.json"])
    func shippedScenariosValidate(file: String) async {
        let result = await Self.validate("scenarios/" + file, directory: Repository.root)
        #expect(result.0 == 0, "\(result.2)")
    }

    @Test("every shipped experiment passes loadgen validate, which lists its variants",
        arguments: ["contention.json", "metastable.json", "retry-after.json", "server-sheds.json"])
    func shippedExperimentsValidate(file: String) async throws {
        let result = await Self.validate("scenarios/experiments/" + file, directory: Repository.root)
        #expect(result.0 == 0, "\(result.2)")
        let experiment = try Experiment.load(path: Repository.root + "/scenarios/experiments/" + file)
        #expect(result.1.hasPrefix("ok: experiment \(experiment.name), \(experiment.variants.count) variants\n"))
        for variant in experiment.variants { #expect(result.1.contains("\nvariant \(variant.name)")) }
    }

    @Test("loadgen validate names the variant and field of a broken experiment")
    func brokenExperimentIsNamed() async throws {
        let folder = NSTemporaryDirectory() + "/validate-experiment-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let route = #"{"path": "/predict", "verb": "POST", "file": "predict", "function": "predict", "body": [{"name": "text", "type": "str"}]}"#
        let base = #"{"target": {"embedded": {"modelDir": "\#(Repository.root)/examples/echo", "routes": [\#(route)]}}, "#
            + #""requests": [{"route": "/predict", "method": "POST", "body": {"text": "x"}}], "#
            + #""load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}"#
        let unknownField = #"{"scenario": \#(base), "variants": [{"name": "a"}, {"name": "b", "client": {"retires": 3}}]}"#
        try unknownField.write(toFile: folder + "/bad.json", atomically: true, encoding: .utf8)
        let bad = await Self.validate(folder + "/bad.json", directory: folder)
        #expect(bad.0 == 2)
        #expect(bad.2.contains("variants[1]") && bad.2.contains("retires"), "\(bad.2)")
        // A variant whose route names a function the model file does not have.
        let missingModel = unknownField.replacingOccurrences(of: #""client": {"retires": 3}"#, with: #""target": {"embedded": {"routes": [\#(route.replacingOccurrences(of: "\"function\": \"predict\"", with: "\"function\": \"nowhere\""))]}}"#)
        try missingModel.write(toFile: folder + "/nomodel.json", atomically: true, encoding: .utf8)
        let noModel = await Self.validate(folder + "/nomodel.json", directory: folder)
        #expect(noModel.0 == 2)
        #expect(noModel.2.contains("variants[1] (b): target.embedded: the endpoint would not start"), "\(noModel.2)")
        #expect(noModel.2.contains("nowhere"), "\(noModel.2)")
    }

    @Test("sla-check.json targets the endpoint's default port")
    func slaCheckUsesTheDefaultPort() throws {
        let scenario = try Scenario.load(path: Repository.root + "/scenarios/sla-check.json")
        #expect(scenario.target == .url(TargetURL(host: "127.0.0.1", port: EndpointConfiguration(modelDirectory: ".", routes: []).port)))
    }

    @Test("loadgen validate --help gives validate's exit codes, not run's")
    func validateHelp() async {
        let out = Buffer()
        let environment = LoadgenEnvironment(standardOutput: out.append, standardError: out.append)
        #expect(await LoadgenCommand.main(["validate", "--help"], environment: environment) == 0)
        #expect(out.text.contains("the scenario is valid"))
        #expect(!out.text.contains("threshold"))
        #expect(!out.text.contains("130"))
    }

    @Test("no --help line says (repeatable) twice")
    func repeatableOnce() {
        var specs: [(CommandSpec, [String])] = [(EndpointCommand.spec(name: "reference-endpoint"), ["reference-endpoint"])]
        for sub in LoadgenCommand.spec.subcommands { specs.append((sub, ["loadgen", sub.name])) }
        for (spec, path) in specs {
            let help = HelpFormatter.help(for: spec, path: path)
            var previous = ""
            for line in help.split(separator: "\n") {
                // A help text may wrap onto the next line; judge each option's row as a whole.
                let joined = previous + line
                #expect(joined.components(separatedBy: "(repeatable)").count <= 2, "\(path): \(line)")
                previous = line.hasPrefix("      ") ? "" : String(line)
            }
            for option in spec.options where option.repeatable && option.takesValue {
                #expect(help.contains("(repeatable)"), "\(path) --\(option.name)")
            }
        }
    }

    @Test("docs/scenarios.md gives failRate's status as the endpoint answers it (503)")
    func failRateStatusInDocs() throws {
        let doc = try String(contentsOfFile: Repository.root + "/docs/scenarios.md", encoding: .utf8)
        let row = doc.split(separator: "\n").first { $0.hasPrefix("| `failRate`") }.map(String.init) ?? ""
        #expect(row.contains("503"))
        #expect(!row.contains("500"))
        // That the endpoint answers 503 is EndpointResilienceTests' "failRate 1 fails every route call" test.
    }
}
