import Foundation
import Glibc
import Testing

@testable import LoadgenCore

/// `loadgen call https://...` against a real TLS server: Python's `ssl` module serving a certificate
/// that `openssl` makes for 127.0.0.1 and localhost in the test. The real `loadgen` executable runs as a
/// child process (libcurl's TLS state is process-wide).
@Suite(.serialized, .timeLimit(.minutes(2))) struct HTTPSCallTests {
    /// A TLS server on 127.0.0.1 with a fresh self-signed certificate (`cert.pem` in `directory`).
    final class TLSServer {
        let directory: TempDir
        let process = Process()
        let input = Pipe()
        let port: Int
        var certificate: String { directory.path + "/cert.pem" }

        init() throws {
            directory = try TempDir()
            let openssl = try HTTPSCallTests.run(
                "/usr/bin/env",
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", directory.path + "/key.pem",
                 "-out", directory.path + "/cert.pem"])
            try #require(openssl.status == 0, "openssl failed: \(openssl.stderr)")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("fixtures/tls/https_server.py").path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, directory.path + "/cert.pem", directory.path + "/key.pem"]
            let output = Pipe()
            process.standardOutput = output
            process.standardInput = input
            try process.run()
            // The server prints "PORT n" once it listens.
            var line = [UInt8]()
            while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 { line.append(byte) }
            let text = String(decoding: line, as: UTF8.self)
            guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
                kill(process.processIdentifier, SIGKILL)
                throw LoadgenRunError.engineUnavailable("the TLS server did not start: '\(text)'")
            }
            self.port = port
        }

        deinit {
            try? input.fileHandleForWriting.close()
            // SIGKILL, not terminate(): Foundation's Process does not reset the signal mask, so a server started
            // from one of the test pool's threads inherits its blocked signals, SIGTERM among them; and the write
            // end of its stdin, inherited by a child another test spawned at the same moment, can keep it from
            // seeing end of file. Either left it running, and this deinit blocked a pool thread in
            // waitUntilExit for good (seen as a whole test run stalling).
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            directory.cleanup()
        }
    }

    struct Exit {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], in directory: String = "/") throws -> Exit {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errData = Buffer()
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            errData.append(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            done.signal()
        }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Exit(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: errData.text)
    }

    static func loadgen(_ arguments: [String], in directory: String = "/") throws -> Exit {
        try run(try InterruptProcessTests.loadgenExecutable(), arguments, in: directory)
    }

    @Test func caFileTrustsALocalAuthority_andWithoutItTheCertificateIsRefused() throws {
        let server = try TLSServer()
        let base = "https://127.0.0.1:\(server.port)"

        let ok = try Self.loadgen(
            ["call", base + "/predict", "-d", #"{"text": "tls"}"#, "--ca-file", server.certificate, "-w", "%{http_code}"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == #"{"text":"tls","length":3}"# + "\n200")
        #expect(ok.stderr.contains("attempt 1: HTTP 200"))

        // By name as well (the certificate names localhost), and a relative --ca-file.
        let named = try Self.loadgen(
            ["call", "https://localhost:\(server.port)/ping", "-q", "--ca-file", "cert.pem"], in: server.directory.path)
        #expect(named.status == 0 && named.stdout == #"{"message":"pong"}"# + "\n", "\(named.stderr)")

        // A 4xx over TLS is still a 4xx.
        let invalid = try Self.loadgen(["call", base + "/predict", "-q", "-d", "{}", "--ca-file", server.certificate])
        #expect(invalid.status == 6 && invalid.stdout.contains("expected"))

        // Without --ca-file the system's authorities do not know this certificate: not retried, exit 3.
        let refused = try Self.loadgen(["call", base + "/ping", "-w", "%{http_code} %{attempts}"])
        #expect(refused.status == 3)
        #expect(refused.stdout == "000 1")
        #expect(refused.stderr.contains("SSL certificate problem: self-signed certificate"), "\(refused.stderr)")
        #expect(refused.stderr.contains("hint: the server's certificate is not signed by a trusted authority; trust its CA with --ca-file PEM"))
    }

    /// libcurl's path (`--ca-file`) stops an endless body at `--max-response`, as the plain-HTTP path does.
    @Test func maxResponseCutsAnEndlessBodyOverTLS() throws {
        let server = try TLSServer()
        let cut = try Self.loadgen([
            "call", "https://127.0.0.1:\(server.port)/endless", "-X", "GET", "--ca-file", server.certificate,
            "--max-response", "65536", "--retries", "0", "-w", "%{http_code} %{attempts}",
        ])
        #expect(cut.status == 4, "\(cut.stderr)")
        #expect(cut.stdout == "000 1")
        #expect(cut.stderr.contains("attempt 1: response too large"), "\(cut.stderr)")
        #expect(cut.stderr.contains("response body larger than the limit of 65536 bytes"), "\(cut.stderr)")
    }
}
