import CommandLine
import EndpointSpec
import Foundation
import Testing
import TestSupport

@testable import LoadgenCore

/// deploy/kubernetes, offline: the rendered manifests pass schema validation (`kubernetes-validate`, from
/// requirements-dev.txt, with its bundled schemas of a current Kubernetes), and for N = 4 every pod's index
/// and environment turn into the right `loadgen run --shard K/4 --start-at T0` (the container's script is
/// run with a stand-in `loadgen` that records its arguments). No cluster is needed.
@Suite(.serialized) struct KubernetesManifestTests {
    static let deploy = Repository.root + "/deploy/kubernetes"
    static let startAt = "2026-12-04T08:00:00Z"

    /// Whether `kubernetes-validate` (and so PyYAML) can be imported. CI (`.ci/run`) installs it and sets
    /// LOADGEN_REQUIRE_KUBERNETES_VALIDATE, so that there the tests run (and fail) even without it.
    static let validatorAvailable: Bool = {
        if ProcessInfo.processInfo.environment["LOADGEN_REQUIRE_KUBERNETES_VALIDATE"] != nil { return true }
        return (try? run("/usr/bin/env", ["python3", "-c", "import kubernetes_validate, yaml"]).status) == 0
    }()
    static let skipNote: Comment =
        "kubernetes-validate is not installed: pip install -r requirements-dev.txt (CI installs it and runs this test)"

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Small outputs: read stderr after stdout is done.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func render(shards: Int = 4, startAt: String = startAt) throws -> Output {
        try run(
            "/bin/bash",
            [deploy + "/render.sh", "--scenario", Repository.root + "/scenarios/sla-check.json", "--shards", "\(shards)",
             "--start-at", startAt, "--image", "registry.example/loadgen:1", "--name", "capacity-test"])
    }

    /// The rendered documents as JSON values (PyYAML reads the YAML).
    static func documents(_ yaml: String) throws -> [JSONValue] {
        let converted = try run(
            "/usr/bin/env", ["python3", "-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))"],
            input: yaml)
        guard converted.status == 0, case .array(let documents) = try LoadgenJSON.parse(converted.stdout) else {
            throw ShardError("PyYAML could not read the manifests: \(converted.stderr)")
        }
        return documents
    }

    static func value(_ root: JSONValue, _ path: String...) -> JSONValue? {
        var current: JSONValue? = root
        for key in path {
            switch current {
            case .object(let object)?: current = object[key]
            case .array(let items)?: current = Int(key).flatMap { $0 < items.count ? items[$0] : nil }
            default: return nil
            }
        }
        return current
    }

    @Test(.enabled(if: validatorAvailable, skipNote)) func renderedManifestsPassSchemaValidation() throws {
        let rendered = try Self.render()
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let directory = try TempDir()
        defer { directory.cleanup() }
        let file = try directory.write("run.yaml", rendered.stdout)
        let validation = try Self.run("/usr/bin/env", ["python3", "-m", "kubernetes_validate", "--strict", file])
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        #expect(validation.stdout.contains("passed for resource job/capacity-test"))
        #expect(validation.stdout.contains("passed for resource configmap/capacity-test-scenario"))
        // The validation can fail: a misspelled field and a wrong value are caught.
        for broken in [
            rendered.stdout.replacingOccurrences(of: "completionMode: Indexed", with: "completionMode: Indexed\n  completionsMode: Indexed"),
            rendered.stdout.replacingOccurrences(of: "parallelism: 4", with: "parallelism: four"),
        ] {
            let bad = try directory.write("bad.yaml", broken)
            #expect(try Self.run("/usr/bin/env", ["python3", "-m", "kubernetes_validate", "--strict", bad]).status != 0)
        }
    }

    @Test(.enabled(if: validatorAvailable, skipNote)) func fourShardsGetTheirIndexAndTheCommonStart() throws {
        let rendered = try Self.render()
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let documents = try Self.documents(rendered.stdout)
        try #require(documents.count == 2)
        let configMap = documents[0]
        let job = documents[1]
        #expect(Self.value(configMap, "kind") == .string("ConfigMap"))
        #expect(Self.value(job, "kind") == .string("Job"))
        // The scenario goes into the ConfigMap unchanged.
        let scenario = try String(contentsOfFile: Repository.root + "/scenarios/sla-check.json", encoding: .utf8)
        if case .string(let text)? = Self.value(configMap, "data", "scenario.json") {
            #expect(try LoadgenJSON.parse(text) == LoadgenJSON.parse(scenario))
        } else {
            Issue.record("no data.scenario.json in the ConfigMap")
        }
        #expect(Self.value(job, "spec", "completionMode") == .string("Indexed"))
        #expect(Self.value(job, "spec", "completions") == .int(4))
        #expect(Self.value(job, "spec", "parallelism") == .int(4))
        #expect(Self.value(job, "spec", "backoffLimitPerIndex") == .int(1))
        #expect(Self.value(job, "spec", "podReplacementPolicy") == .string("Failed"))
        let pod = try #require(Self.value(job, "spec", "template", "spec"))
        #expect(Self.value(pod, "restartPolicy") == .string("Never"))
        #expect(Self.value(pod, "volumes", "0", "configMap", "name") == Self.value(configMap, "metadata", "name"))
        let container = try #require(Self.value(pod, "containers", "0"))
        #expect(Self.value(container, "image") == .string("registry.example/loadgen:1"))
        var environment: [String: String] = [:]
        if case .array(let variables)? = Self.value(container, "env") {
            for case .object(let variable) in variables {
                if case .string(let name)? = variable["name"], case .string(let value)? = variable["value"] {
                    environment[name] = value
                }
            }
        }
        #expect(environment == ["SHARDS": "4", "START_AT": Self.startAt])
        guard case .string(let shell)? = Self.value(container, "command", "0"),
            case .string(let script)? = Self.value(container, "args", "0")
        else {
            Issue.record("no command and script in the container")
            return
        }
        #expect(shell == "/bin/sh")

        // Each index, as the Job controller sets JOB_COMPLETION_INDEX, runs its own shard with the common T0.
        let directory = try TempDir()
        defer { directory.cleanup() }
        try directory.write(
            "bin/loadgen",
            """
            #!/bin/sh
            printf '%s\\n' "$@" > "$ARGUMENTS_FILE"
            while [ $# -gt 0 ]; do
              if [ "$1" = "--json" ]; then printf '{"shard": "%s"}\\n' "$JOB_COMPLETION_INDEX" > "$2"; fi
              shift
            done
            exit "$FAKE_EXIT"
            """)
        chmod(directory.path + "/bin/loadgen", 0o755)
        var shards: [Shard] = []
        for index in 0..<4 {
            for (fakeExit, podExit) in [(0, 0), (1, 0), (3, 3)] {
                let argumentsFile = directory.path + "/arguments-\(index)"
                var env = environment
                env["JOB_COMPLETION_INDEX"] = "\(index)"
                env["PATH"] = directory.path + "/bin:/usr/bin:/bin"
                env["ARGUMENTS_FILE"] = argumentsFile
                env["FAKE_EXIT"] = "\(fakeExit)"
                let pod = try Self.run(shell, ["-c", script], environment: env)
                #expect(pod.status == Int32(podExit), "index \(index), loadgen exit \(fakeExit): \(pod.stderr)")
                // What collect.sh keeps: the lines after the marker.
                let marker = "=== loadgen shard \(index)/4 result ===\n"
                #expect(pod.stdout.hasSuffix(marker + "{\"shard\": \"\(index)\"}\n"), "\(pod.stdout)")
                let arguments = try String(contentsOfFile: argumentsFile, encoding: .utf8)
                    .split(separator: "\n").map(String.init)
                // The arguments are a valid `loadgen run` command line naming shard index/4 and T0.
                guard case .run(let parsed) = try CommandParser(root: LoadgenCommand.spec).parse(arguments) else {
                    Issue.record("not a command: \(arguments)")
                    continue
                }
                #expect(parsed.command == "run" && parsed.positional("SCENARIO") == "/scenario/scenario.json")
                let overrides = try LoadgenCommand.overrides(parsed, now: 0)
                #expect(overrides.startAt == (try StartTime(parsing: Self.startAt, now: 0)))
                if fakeExit == 0, let shard = overrides.shard { shards.append(shard) }
            }
        }
        #expect(shards == (0..<4).map { try! Shard(index: $0, count: 4) })
    }

    @Test func renderRefusesBadValuesAndNamesThem() throws {
        let badTime = try Self.render(startAt: "now+10s")
        #expect(badTime.status == 2)
        #expect(badTime.stderr.contains("--start-at expects an RFC 3339 time like 2026-12-04T08:00:00Z, got 'now+10s'"))
        let badCount = try Self.render(shards: 0)
        #expect(badCount.status == 2 && badCount.stderr.contains("--shards expects a positive integer, got '0'"))
    }
}
