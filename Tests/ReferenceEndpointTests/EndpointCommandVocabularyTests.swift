import CommandLine
import Foundation
import Glibc
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// `reference-endpoint`'s flags speak the scenario files' vocabulary: durations with units, and route JSON with
/// unknown keys rejected (issue 15).
@Suite struct EndpointCommandVocabularyTests {
    static let route = #"{"path": "/predict", "file": "predict", "function": "predict"}"#

    static func configuration(_ arguments: [String]) throws -> EndpointConfiguration {
        let parser = CommandParser(root: EndpointCommand.spec(name: "reference-endpoint"))
        guard case .run(let parsed) = try parser.parse(["--model-dir", "m", "--route", route] + arguments) else {
            throw CommandLineError("expected run")
        }
        return try EndpointCommand.configuration(from: parsed)
    }

    static func error(_ arguments: [String]) -> String {
        do {
            _ = try configuration(arguments)
            return "no error"
        } catch let error as CommandLineError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("--timeout and --delay take durations with units, as scenario files do")
    func durationsWithUnits() throws {
        let config = try Self.configuration(["--timeout", "1m30s", "--delay", "10ms"])
        #expect(config.callTimeout == 90)
        #expect(config.delayMilliseconds == 10)
        let small = try Self.configuration(["--timeout", "500ms", "--delay", "1.5s"])
        #expect(small.callTimeout == 0.5)
        #expect(small.delayMilliseconds == 1_500)
    }

    @Test("a bare number keeps its documented unit: seconds for --timeout, milliseconds for --delay")
    func bareNumbersKeepTheirUnit() throws {
        let config = try Self.configuration(["--timeout", "30", "--delay", "20"])
        #expect(config.callTimeout == 30)
        #expect(config.delayMilliseconds == 20)
        let fractional = try Self.configuration(["--timeout", "2.5", "--delay", "0.5"])
        #expect(fractional.callTimeout == 2.5)
        #expect(fractional.delayMilliseconds == 0.5)
    }

    @Test("bad durations name the flag, the value and both accepted forms")
    func badDurations() {
        #expect(Self.error(["--timeout", "0"])
            == "--timeout expects a duration greater than 0 like 10ms or 5s (a bare number is seconds), got '0'")
        #expect(Self.error(["--delay", "10 parsecs"])
            == "--delay expects a duration like 10ms or 5s (a bare number is milliseconds), got '10 parsecs'")
        #expect(Self.error(["--delay", "-5ms"]).hasPrefix("--delay expects a duration"))
        #expect(Self.error(["--delay", "2h"]).hasPrefix("--delay expects a duration"))
    }

    @Test("--route rejects an unknown key with a suggestion, as a scenario does")
    func unknownRouteKey() throws {
        let parser = CommandParser(root: EndpointCommand.spec(name: "reference-endpoint"))
        guard
            case .run(let parsed) = try parser.parse([
                "--model-dir", "m", "--route", #"{"methd": "POST", "path": "/p", "file": "f", "function": "g"}"#,
            ])
        else {
            Issue.record("expected run")
            return
        }
        #expect(throws: CommandLineError("--route #1 is not a valid route: methd: unknown field; did you mean \"verb\"?",
            commandPath: ["reference-endpoint"])) {
            _ = try EndpointCommand.configuration(from: parsed)
        }
        // In a body parameter too, located by its index.
        let withParam = #"{"path": "/p", "file": "f", "function": "g", "body": [{"name": "a", "type": "int", "optinal": true}]}"#
        #expect(throws: SpecError(path: "body[0].optinal", message: "unknown field; did you mean \"optional\"?")) {
            _ = try RouteKeyCheck.decode(json: Array(withParam.utf8))
        }
    }

    @Test("--routes-file rejects unknown route keys too, located in the file")
    func unknownKeyInRoutesFile() throws {
        let path = "/tmp/routes-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).json"
        _ = FileManager.default.createFile(
            atPath: path, contents: Data(#"{"routes": [{"path": "/p", "file": "f", "function": "g", "positionl": true}]}"#.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let parser = CommandParser(root: EndpointCommand.spec(name: "reference-endpoint"))
        guard case .run(let parsed) = try parser.parse(["--model-dir", "m", "--routes-file", path]) else {
            Issue.record("expected run")
            return
        }
        #expect(throws: CommandLineError(
            "--routes-file '\(path)': routes[0].positionl: unknown field; did you mean \"positional\"?",
            commandPath: ["reference-endpoint"])) {
            _ = try EndpointCommand.configuration(from: parsed)
        }
    }

    @Test("the seed's own keys still decode, and every examples/ folder has a routes.json that passes the strict check")
    func knownKeysPass() throws {
        _ = try RouteKeyCheck.decode(json: Array(Self.route.utf8))
        let examples = try FileManager.default.contentsOfDirectory(atPath: Repository.root + "/examples")
        #expect(Set(examples).isSuperset(of: ["calculator", "echo", "trivial"]))
        for example in examples.sorted() {
            let path = Repository.example(example) + "/routes.json"
            let data = try #require(FileManager.default.contents(atPath: path), "examples/\(example)/routes.json")
            try RouteKeyCheck.checkRoutesFile(json: Array(data))
            #expect(try !EndpointConfig.decode(json: Array(data)).routes.isEmpty)
        }
    }
}

