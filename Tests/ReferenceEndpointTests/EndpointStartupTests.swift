import EndpointSpec
import Foundation
import Glibc
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Every configuration problem surfaces from `start()` as one `EndpointStartupError` with a clear message.
@Suite("Endpoint end to end: startup errors", .dedicatedThreads)
struct EndpointStartupTests {
    /// Starts a server that must fail; returns the error's message (records an issue if it started).
    func startupError(_ config: EndpointConfiguration) -> String? {
        let logFile = EndpointLogFile()
        let server = ReferenceEndpointServer(configuration: config, log: logFile.log)
        do {
            try server.start()
        } catch {
            #expect(server.port == 0)
            return error.message
        }
        server.shutdown()
        Issue.record("the endpoint started although its configuration is wrong")
        return nil
    }

    static let add = Repository.calculatorRoute("/add")

    @Test("missing model file")
    func missingFile() throws {
        let route = RouteSpec(path: "/x", file: "nope", function: "f")
        let message = try #require(startupError(E2E.configuration("calculator", [Self.add, route])))
        #expect(message.hasPrefix("route POST /x: model file nope.py not found in "), "\(message)")
        #expect(message.hasSuffix("examples/calculator"), "\(message)")
    }

    @Test("missing function")
    func missingFunction() throws {
        let route = RouteSpec(path: "/x", file: "calculator.py", function: "nope")
        let message = try #require(startupError(E2E.configuration("calculator", [route])))
        #expect(message == "route POST /x: function 'nope' not found in calculator.py")
    }

    @Test("default_value that is not a Python literal", arguments: ["[1,", "null", "os.getcwd()", "true"])
    func badDefault(literal: String) throws {
        var route = Self.add
        route.body[1].defaultValue = literal
        let message = try #require(startupError(E2E.configuration("calculator", [route])))
        #expect(
            message.hasPrefix("route POST /add: default_value for 'b' is not a valid Python literal: \(literal)"),
            "\(message)")
    }

    @Test("duplicate route (same verb and path)")
    func duplicateRoute() throws {
        let message = try #require(startupError(E2E.configuration("calculator", [Self.add, Self.add])))
        #expect(message == "route 1 (POST /add) duplicates route 0 with the same verb and path")
    }

    @Test("a route shadowing GET /ping (GET or HEAD)", arguments: ["GET", "HEAD"])
    func pingRoute(verb: String) throws {
        let route = RouteSpec(verb: verb, path: "/ping", file: "calculator", function: "opaque")
        let message = try #require(startupError(E2E.configuration("calculator", [Self.add, route])))
        #expect(message == "route 1 (\(verb) /ping) conflicts with the built-in health check GET /ping")
    }

    @Test("POST /ping is allowed beside the health check")
    func postPingIsAllowed() throws {
        let route = RouteSpec(path: "/ping", file: "calculator", function: "opaque")
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", [route]))
        #expect(try endpoint.send("GET", "/ping").text == #"{"message":"pong"}"#)
        #expect(try endpoint.send("POST", "/ping").status == 500)  // opaque() is not encodable
    }

    @Test("a file outside the model folder via ../", arguments: ["../echo/predict", "../../examples/echo/predict.py"])
    func fileOutsideModelFolder(file: String) throws {
        let route = RouteSpec(path: "/x", file: file, function: "predict")
        let message = try #require(startupError(E2E.configuration("calculator", [route])))
        #expect(message.hasPrefix("route POST /x: file '\(file)' resolves outside the model folder "), "\(message)")
    }

    @Test("a missing model folder, a path without '/', an exception at import, a missing interpreter")
    func otherErrors() throws {
        let noFolder = try #require(startupError(E2E.configuration("no-such-example", [Self.add])))
        #expect(noFolder.contains("model directory") && noFolder.contains("no-such-example") && noFolder.hasSuffix("not found"))

        let badPath = RouteSpec(path: "add", file: "calculator", function: "add")
        let pathMessage = try #require(startupError(E2E.configuration("calculator", [badPath])))
        #expect(pathMessage == "route 0 (POST add): path must start with '/'")

        let model = try E2ETemporaryModel(["broken.py": "raise RuntimeError('no GPU here')\ndef f():\n    pass\n"])
        let broken = RouteSpec(path: "/f", file: "broken", function: "f")
        let importMessage = try #require(
            startupError(E2E.configuration("echo", [broken]) { $0.modelDirectory = model.path }))
        #expect(importMessage == "route POST /f: importing broken.py failed: RuntimeError: no GPU here")

        let noPython = try #require(
            startupError(E2E.configuration("calculator", [Self.add]) { $0.pythonPath = "/nonexistent/python3" }))
        #expect(noPython.contains("/nonexistent/python3"), "\(noPython)")
    }

    @Test("a port held by another (non-SO_REUSEPORT) socket")
    func portInUse() throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(holder, pointer, length) == 0 && listen(holder, 8) == 0 && getsockname(holder, pointer, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let message = try #require(startupError(E2E.configuration("trivial", E2E.trivialRoutes) { $0.port = port }))
        #expect(message.hasPrefix("cannot listen on 127.0.0.1:\(port): "), "\(message)")
    }

    /// NetIO binds every listener with SO_REUSEPORT, so without a check a second endpoint on the same port
    /// would start and the kernel would split connections between the two; `start()` probes the port first.
    @Test("a port already used by another endpoint")
    func portUsedByAnotherEndpoint() throws {
        let first = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let message = try #require(startupError(E2E.configuration("trivial", E2E.trivialRoutes) { $0.port = first.port }))
        #expect(message == "cannot listen on 127.0.0.1:\(first.port): address already in use")
        #expect(try first.send("GET", "/ping").status == 200)
        #expect(first.stats.requests == 1)
    }
}
