import HTTP1

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Result of feeding chunks to a request decoder, calling next() after each append until it returns nil.
struct RequestRun: Equatable {
    var requests: [HTTPRequest] = []
    var error: HTTPParseError? = nil
}

func decodeRequests(_ chunks: [[UInt8]], limits: HTTPLimits = .default) -> RequestRun {
    var decoder = HTTPRequestDecoder(limits: limits)
    var run = RequestRun()
    for chunk in chunks {
        decoder.append(chunk)
        do {
            while let request = try decoder.next() { run.requests.append(request) }
        } catch {
            run.error = error
            return run
        }
    }
    return run
}

func decodeRequests(_ text: String, limits: HTTPLimits = .default) -> RequestRun {
    decodeRequests([bytes(text)], limits: limits)
}

struct ResponseRun: Equatable {
    var responses: [HTTPResponse] = []
    var error: HTTPParseError? = nil
}

/// Feeds chunks to a response decoder; `methods` are the methods of the requests in order. With `eof`,
/// finishOnEOF() is called at the end.
func decodeResponses(_ chunks: [[UInt8]], methods: [String], eof: Bool = false, limits: HTTPLimits = .default)
    -> ResponseRun
{
    var decoder = HTTPResponseDecoder(limits: limits)
    var run = ResponseRun()
    func method() -> String { run.responses.count < methods.count ? methods[run.responses.count] : "GET" }
    do {
        for chunk in chunks {
            decoder.append(chunk)
            while let response = try decoder.next(requestMethod: method()) { run.responses.append(response) }
        }
        if eof, let last = try decoder.finishOnEOF() { run.responses.append(last) }
    } catch {
        run.error = error
    }
    return run
}

/// Every way to cut `input` into two appends (including empty halves).
func twoWaySplits(_ input: [UInt8]) -> [[[UInt8]]] {
    (0...input.count).map { [Array(input[0..<$0]), Array(input[$0...])] }
}

func byteAtATime(_ input: [UInt8]) -> [[UInt8]] {
    input.map { [$0] }
}

/// Deterministic PRNG (SplitMix64) so random tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Removes the `Date: ...` line from an encoded message and returns it with the remaining bytes.
func splitOffDate(_ message: [UInt8]) -> (date: String?, rest: String) {
    let text = String(decoding: message, as: UTF8.self)
    var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    var date: String? = nil
    if let index = lines.firstIndex(where: { $0.hasPrefix("Date: ") }) {
        date = String(lines[index].dropFirst(6))
        lines.remove(at: index)
    }
    return (date, lines.joined(separator: "\r\n"))
}
