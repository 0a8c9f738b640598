import Foundation
import HTTP1
import Testing

/// A seeded fuzzer for the request decoder. Inputs: uniform random bytes, and valid requests mutated by byte
/// flips, insertions, deletions, duplicated and folded header lines, Content-Length/Transfer-Encoding in every
/// order, bare LF / lone CR, NUL, huge chunk sizes and overflowing Content-Length; each fed in random pieces.
///
/// Invariant: every `next()` either returns a complete request, returns `nil` (need more bytes) or throws an
/// error with a 4xx/5xx status and a reason, after which the decoder stays failed; never a crash, never a hang
/// (bounded steps), and never more buffered than the header limit plus the last piece, nor a body over the limit.
///
/// CI runs 20,000 inputs; `FUZZ_ITERATIONS=1000000 swift test --filter ParserFuzzTests` runs more and prints
/// inputs/s (Benchmarks/parser-fuzz.sh does that).
@Suite struct ParserFuzzTests {
    static let limits = HTTPLimits(maxHeaderBytes: 1024, maxBodyBytes: 4096, maxHeaderCount: 32)

    static let seeds: [String] = [
        "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    ]

    static let fragments: [String] = [
        "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: 99999999999999999999999\r\n",
        "Transfer-Encoding: gzip, chunked\r\n", "X: 1\r\n 2\r\n", "Host: h\r\n", "\n", "\r", "\u{0}",
        "FFFFFFFFFFFFFFFFFFFF\r\n", "Expect: 100-continue\r\n", "Content-Length: 5, 5\r\n", "0\r\n\r\n",
    ]

    enum Outcome { case request, error, needMore }

    /// Feeds `input` in random pieces and checks the invariant; returns the final outcome.
    @discardableResult
    static func check(_ input: [UInt8], _ rng: inout SplitMix64) -> Outcome {
        var decoder = HTTPRequestDecoder(limits: limits)
        var offset = 0
        var outcome = Outcome.needMore
        var steps = 0
        while offset < input.count {
            steps += 1
            guard steps <= input.count + 1 else {
                Issue.record("no progress on \(input)")
                return outcome
            }
            let n = Int.random(in: 1...max(1, min(97, input.count - offset)), using: &rng)
            decoder.append(Array(input[offset..<(offset + n)]))
            offset += n
            do {
                var produced = 0
                while let request = try decoder.next() {
                    produced += 1
                    outcome = .request
                    if (request.body?.count ?? 0) > limits.maxBodyBytes { Issue.record("body over the limit: \(input)") }
                    if produced > input.count { Issue.record("more requests than bytes: \(input)"); return outcome }
                }
                if decoder.bufferedByteCount > limits.maxHeaderBytes + n + 2 {
                    Issue.record("\(decoder.bufferedByteCount) bytes buffered: \(input)")
                }
            } catch {
                if !(400..<600).contains(error.status) || error.reason.isEmpty {
                    Issue.record("bad error \(error) for \(input)")
                }
                do {
                    _ = try decoder.next()
                    Issue.record("decoder did not stay failed: \(input)")
                } catch let again { if again != error { Issue.record("different error after failure") } }
                return .error
            }
        }
        return outcome
    }

    static func generate(_ rng: inout SplitMix64) -> [UInt8] {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0:
            return (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 1, 2:
            // CL and TE in every order with a body that suits either.
            var lines = ["Host: h\r\n", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"]
            lines.shuffle(using: &rng)
            return Array(("POST / HTTP/1.1\r\n" + lines.joined() + "\r\n5\r\nhello\r\n0\r\n\r\n").utf8)
        default:
            var input = Array(seeds[Int.random(in: 0..<seeds.count, using: &rng)].utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !input.isEmpty {
                let at = Int.random(in: 0..<input.count, using: &rng)
                switch Int.random(in: 0..<7, using: &rng) {
                case 0: input[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                case 1: input.remove(at: at)
                case 2: input.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                case 3:
                    // Duplicate a line (a header, or the request line).
                    var s = at
                    while s > 0 && input[s - 1] != 10 { s -= 1 }
                    var e = at
                    while e < input.count && input[e] != 10 { e += 1 }
                    if e < input.count { input.insert(contentsOf: Array(input[s...e]), at: e + 1) }
                case 4: input.insert(contentsOf: Array(fragments[Int.random(in: 0..<fragments.count, using: &rng)].utf8), at: at)
                case 5:
                    // Turn a CRLF into a bare LF, or an LF into CR.
                    if let i = input[at...].firstIndex(of: 13) { input.remove(at: i) }
                default:
                    if let i = input[at...].firstIndex(of: 10) { input[i] = [13, 32, 9, 0][Int.random(in: 0..<4, using: &rng)] }
                }
            }
            return input
        }
    }

    static func run(iterations: Int, seed: UInt64) -> (counts: [Int], seconds: Double) {
        var rng = SplitMix64(seed: seed)
        var counts = [0, 0, 0]
        let start = Date()
        for _ in 0..<iterations {
            let input = generate(&rng)
            switch check(input, &rng) {
            case .request: counts[0] += 1
            case .error: counts[1] += 1
            case .needMore: counts[2] += 1
            }
        }
        return (counts, Date().timeIntervalSince(start))
    }

    @Test func seededBatchKeepsTheInvariant() {
        let iterations = ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 20_000
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xF022
        let (counts, seconds) = Self.run(iterations: iterations, seed: seed)
        #expect(counts.reduce(0, +) == iterations)
        // Every kind of outcome is reached: the generator is not stuck in one state.
        #expect(counts.allSatisfy { $0 > 0 }, "\(counts)")
        print(
            "parser-fuzz: \(iterations) inputs (seed \(seed)) in \(String(format: "%.2f", seconds)) s, "
                + "\(Int(Double(iterations) / max(seconds, 1e-9))) inputs/s; "
                + "complete \(counts[0]), error \(counts[1]), need more \(counts[2])")
    }
}
