import EndpointSpec
import Foundation
import NetIO
import Testing

@testable import LoadgenCore

/// `loadgen run` against an `https://` target: the TLS fixture server of ``HTTPSCallTests`` (Python's `ssl`
/// with a certificate `openssl` makes for 127.0.0.1), the run in-process with the real engine.
@Suite("loadgen run over https", .serialized, .timeLimit(.minutes(2)))
struct HTTPSRunTests {
    /// A scenario for `url`: 20 calls/s for 1 s of `POST /predict`, with `client` merged in.
    static func scenario(url: String, client: String) -> String {
        """
        {"name": "tls", "target": {"url": "\(url)"},
         "requests": [{"route": "/predict", "method": "POST", "body": {"text": "hello"}}],
         "load": {"type": "constant-rate", "rate": 20, "duration": "1s"},
         "client": {"connections": 4, "timeout": "5s"\(client)}}
        """
    }

    static func count(_ run: ScenarioRunTests.Run, _ key: String) -> Double? { ScenarioRunTests.number(run.report?[key]) }

    @Test func caFileRunsEveryCallOverTLS_withExactAccountingAndOneNotice() async throws {
        let server = try HTTPSCallTests.TLSServer()
        let url = "https://127.0.0.1:\(server.port)"
        // caFile is relative to the scenario file (cert.pem lies beside it); the health gate checks /ping over TLS.
        let path = try server.directory.write(
            "tls.json", Self.scenario(url: url, client: #", "healthGate": true, "tls": {"caFile": "cert.pem"}"#))
        let json = server.directory.path + "/out.json"
        let run = try await ScenarioRunTests.loadgen(["run", path, "--json", json], json: json)
        #expect(run.code == LoadgenExitCode.success.rawValue, "\(run.stdout)\n\(run.stderr)")
        let calls = try #require(Self.count(run, "calls"))
        let ok = try #require(Self.count(run, "ok"))
        let failed = try #require(Self.count(run, "failed"))
        guard case .object(let notSent)? = run.report?["not_sent"] else {
            Issue.record("no not_sent object")
            return
        }
        let notSentTotal = try #require(ScenarioRunTests.number(notSent["total"]))
        #expect(calls == 20)
        #expect(ok == 20)
        #expect(calls == ok + failed + notSentTotal)
        #expect(try #require(Self.count(run, "attempts")) == 20)
        #expect(run.report?["target"] == .string(url))
        let notice = "note: \(url) is https: calls go through libcurl (client.tls.caFile)"
        #expect(run.stderr.components(separatedBy: notice).count == 2, "\(run.stderr)")
    }

    /// Decided: an https target whose certificate is not trusted does not start (exit 3, like an unreachable
    /// plain target and like `loadgen call`), rather than running and recording every call as a TLS failure.
    @Test func withoutCaFileTheUntrustedCertificateRefusesToStart() async throws {
        let server = try HTTPSCallTests.TLSServer()
        let path = try server.directory.write("tls.json", Self.scenario(url: "https://127.0.0.1:\(server.port)", client: ""))
        let run = try await ScenarioRunTests.loadgen(["run", path])
        #expect(run.code == LoadgenExitCode.targetUnreachable.rawValue, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("could not reach the target: https://127.0.0.1:\(server.port)"), "\(run.stderr)")
        #expect(run.stderr.contains("trust its CA with client.tls.caFile"), "\(run.stderr)")
        #expect(run.stderr.contains("calls go through URLSession"), "\(run.stderr)")
    }

    /// When the engine is told to go ahead anyway (`failIfUnreachable: false`), every call fails with kind
    /// `tls` and the accounting stays exact.
    @Test func untrustedCertificateFailsEveryCallWithKindTLS_whenTheRunGoesAhead() async throws {
        let server = try HTTPSCallTests.TLSServer()
        let directory = server.directory
        let path = try directory.write("tls.json", Self.scenario(url: "https://127.0.0.1:\(server.port)", client: ""))
        let scenario = try Scenario.load(path: path)
        guard case .url(let target) = scenario.target else {
            Issue.record("not a url target")
            return
        }
        let engine = NetworkLoadEngine(configuration: .init(failIfUnreachable: false))
        let result = try await engine.run(RunPlan(scenario: scenario, target: target)) { _ in }
        #expect(result.calls == 20)
        #expect(result.ok == 0)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.callFailures.byKind[TransportFailure.tlsKind] == 20, "\(result.callFailures.byKind)")
    }

    /// `client.maxResponse` holds over https too: every call to an endless body fails once, as `too_large`.
    @Test func maxResponseCutsEveryEndlessBodyAsTooLarge() async throws {
        let server = try HTTPSCallTests.TLSServer()
        let path = try server.directory.write(
            "endless.json",
            """
            {"name": "tls-endless", "target": {"url": "https://127.0.0.1:\(server.port)"},
             "requests": [{"route": "/endless", "method": "GET"}],
             "load": {"type": "constant-rate", "rate": 10, "duration": "1s"},
             "client": {"connections": 4, "timeout": "10s", "maxResponse": 65536, "tls": {"caFile": "cert.pem"}}}
            """)
        let scenario = try Scenario.load(path: path)
        guard case .url(let target) = scenario.target else {
            Issue.record("not a url target")
            return
        }
        let result = try await NetworkLoadEngine().run(RunPlan(scenario: scenario, target: target)) { _ in }
        #expect(result.calls == 10)
        #expect(result.ok == 0)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.callFailures.byKind == [.tooLarge: 10], "\(result.callFailures.byKind)")
        #expect(result.attempts == 10)
    }

    @Test func badCaFileIsAScenarioErrorNamingTheField() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let missing = try directory.write(
            "missing.json", Self.scenario(url: "https://127.0.0.1:1", client: #", "tls": {"caFile": "nope.pem"}"#))
        var run = try await ScenarioRunTests.loadgen(["run", missing])
        #expect(run.code == LoadgenExitCode.usageError.rawValue)
        #expect(run.stderr.contains("client.tls.caFile: file \"nope.pem\" not found"), "\(run.stderr)")
        _ = try directory.write("not-pem.txt", "hello\n")
        let notPEM = try directory.write(
            "notpem.json", Self.scenario(url: "https://127.0.0.1:1", client: #", "tls": {"caFile": "not-pem.txt"}"#))
        run = try await ScenarioRunTests.loadgen(["run", notPEM])
        #expect(run.code == LoadgenExitCode.usageError.rawValue)
        #expect(run.stderr.contains("client.tls.caFile: file \"not-pem.txt\" holds no PEM certificate"), "\(run.stderr)")
        let typo = try directory.write(
            "typo.json", Self.scenario(url: "https://127.0.0.1:1", client: #", "tls": {"caFlie": "x.pem"}"#))
        run = try await ScenarioRunTests.loadgen(["run", typo])
        #expect(run.code == LoadgenExitCode.usageError.rawValue)
        #expect(run.stderr.contains("client.tls.caFlie: unknown field; did you mean \"caFile\"?"), "\(run.stderr)")
    }

    /// The engine's request bytes read back as the transport's request: framing headers dropped.
    @Test func preparedRequestBecomesATransportRequest() throws {
        let sender = try SecureSender(target: TargetURL(host: "127.0.0.1", port: 8443, scheme: .https), caFile: nil, maxResponseBytes: 1 << 20)
        let encoded = HTTPClientConnection.encodeRequest(
            method: "POST", target: "/v1/predict?x=1", host: "127.0.0.1", port: 8443,
            headers: [("Content-Type", "application/json"), ("X-Trace", "a: b")], body: Array(#"{"text":"hi"}"#.utf8))
        let request = try #require(sender.request(PreparedRequest(method: "POST", encoded: encoded, requestIndex: 0)))
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://127.0.0.1:8443/v1/predict?x=1")
        #expect(request.headers.map(\.name) == ["Content-Type", "X-Trace"])
        #expect(request.headers.last?.value == "a: b")
        #expect(request.body == Array(#"{"text":"hi"}"#.utf8))
    }
}
