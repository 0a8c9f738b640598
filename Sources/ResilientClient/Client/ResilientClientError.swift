import EndpointSpec

/// Why a request body does not match a route's template, in FastAPI's words: the same `detail` list
/// the endpoint puts in a 422 response (`[{"type", "loc", "msg", "input", …}]`). The client produces it
/// itself, before sending, with the server's validator; a 422 from the server is reported the same way.
public struct ValidationProblem: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The detail objects, in the order the validator reports them.
    public var details: [JSONValue]

    /// Creates a problem from FastAPI-shaped detail objects.
    public init(details: [JSONValue]) { self.details = details }

    /// Each detail's `msg`, e.g. `"Field required"`.
    public var messages: [String] {
        details.map { detail in
            if case .object(let object) = detail, case .string(let msg)? = object["msg"] { return msg }
            return ""
        }
    }

    /// Each detail's `loc` as strings, e.g. `["body", "filename"]`.
    public var locations: [[String]] {
        details.map { detail in
            guard case .object(let object) = detail, case .array(let loc)? = object["loc"] else { return [] }
            return loc.map { element in
                switch element {
                case .string(let s): return s
                case .number(let n): return n
                default: return ""
                }
            }
        }
    }

    /// `body.filename: Field required; …`
    public var description: String {
        zip(locations, messages).map { "\($0.joined(separator: ".")): \($1)" }.joined(separator: "; ")
    }

    /// Reads a 422 response body `{"detail": [...]}`; `nil` if it is not that shape.
    static func fromResponseBody(_ body: [UInt8]) -> ValidationProblem? {
        guard let value = try? JSONBridge.parse(body), case .object(let object) = value,
            case .array(let details)? = object["detail"]
        else { return nil }
        return ValidationProblem(details: details)
    }
}

/// Every way a ``ResilientClient`` call can fail. One type, so a `switch` covers them all.
///
/// ```swift
/// do {
///     let reply = try await client.call(predict, PredictBody(filename: "cat.jpg"))
/// } catch .validation(let problem) {
///     print("bad body:", problem)             // no request was sent
/// } catch .overloaded(let attempts, _) {
///     print("still 503 after \(attempts) attempts")
/// } catch {
///     print(error)
/// }
/// ```
public enum ResilientClientError: Error, Sendable, CustomStringConvertible {
    /// The body does not match the route's template (found by the client before sending, or a 422
    /// with FastAPI's detail list from the server).
    case validation(ValidationProblem)
    /// The endpoint answered with a status that is not retried (e.g. 400, 404, 500), or a retryable
    /// non-503 status (502, 504) on a route that is not idempotent.
    case httpStatus(status: Int, body: [UInt8], attempts: Int)
    /// Every allowed attempt got a retryable status (503, or 502/504 for idempotent routes).
    case overloaded(attempts: Int, lastStatus: Int)
    /// The call's deadline passed (or the next backoff would have ended after it). `last` is the last
    /// attempt's outcome, `nil` if no attempt finished (e.g. while waiting for the health gate).
    case deadlineExceeded(attempts: Int, last: AttemptOutcome?)
    /// A retry was needed but the client's retry budget was empty: the endpoint is overloaded and the
    /// client refuses to add load.
    case budgetExhausted(attempts: Int, last: AttemptOutcome)
    /// The endpoint asked, with `Retry-After`, to wait `wait` before a retry, and that wait would end after the
    /// call's deadline: the call fails at once instead of sleeping towards a deadline it cannot meet.
    case retryAfterBeyondDeadline(wait: Duration, attempts: Int, last: AttemptOutcome)
    /// The health gate is blocked and the client is configured to fail fast instead of waiting.
    case gateBlocked
    /// The transport failed (connection refused, reset, timeout, …) and the call was not, or no longer,
    /// retried.
    case transport(TransportError, attempts: Int)
    /// The response was 2xx but its body could not be decoded as the route's reply type.
    case decoding(message: String, body: [UInt8])
    /// The request could not be built (body not encodable, bad URL).
    case invalidRequest(String)
    /// The caller's task was cancelled.
    case cancelled
    /// The client was shut down (``ResilientClient/shutdown()``): a call made after it, a call waiting at
    /// the blocked gate, and a call due to retry all end with this at once.
    case shutdown

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .validation(let problem): return "request body does not match the route template: \(problem)"
        case .httpStatus(let status, let body, let attempts):
            let text = String(decoding: body.prefix(200), as: UTF8.self)
            return "HTTP \(status) after \(attempts) attempt(s): \(text)"
        case .overloaded(let attempts, let lastStatus):
            return "endpoint overloaded: HTTP \(lastStatus) after \(attempts) attempt(s)"
        case .deadlineExceeded(let attempts, let last):
            return "deadline exceeded after \(attempts) attempt(s)" + (last.map { ", last: \($0)" } ?? "")
        case .budgetExhausted(let attempts, let last):
            return "retry budget exhausted after \(attempts) attempt(s) (last: \(last)); not adding load"
        case .retryAfterBeyondDeadline(let wait, let attempts, let last):
            return "the endpoint asked to retry after \(wait) (Retry-After, after \(attempts) attempt(s), last: \(last)), "
                + "which ends after the call's deadline; not waiting"
        case .gateBlocked: return "health gate blocked: endpoint unhealthy, failing fast"
        case .transport(let error, let attempts): return "transport error after \(attempts) attempt(s): \(error)"
        case .decoding(let message, _): return "could not decode the reply: \(message)"
        case .invalidRequest(let message): return "invalid request: \(message)"
        case .cancelled: return "cancelled"
        case .shutdown: return "client shut down: no new calls or attempts are sent"
        }
    }
}
