import ResilientClient
import Synchronization

/// Turns a ``ResilientClient``'s events into `loadgen call`'s stderr lines: one line per attempt
/// (number, status or error, latency, and the delay slept before the next attempt and why), plus a
/// line for each health-gate change and probe.
///
/// ```
/// attempt 1: HTTP 503 in 1.2ms; retrying in 61.3ms (backoff)
/// attempt 2: connection refused in 0.2ms (connect: Connection refused); retrying in 113ms (backoff)
/// attempt 3: HTTP 200 in 2.8ms
/// ```
///
/// An attempt's line is held until the client decides what follows it, then written whole.
final class AttemptPrinter: Sendable {
    private let write: @Sendable (String) -> Void
    private let pending = Mutex<String?>(nil)

    init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// Handles one event (the client's `onEvent` hook).
    func handle(_ event: ClientEvent) {
        switch event {
        case .attempt(_, let record):
            flush()
            let line = Self.describeAttempt(
                number: record.number, outcome: record.outcome, message: record.message, latency: record.latency,
                trial: record.trial)
            pending.withLock { $0 = line }
        case .retryScheduled(_, _, let delay, let reason):
            let line = pending.withLock { line -> String? in
                defer { line = nil }
                return line
            }
            write((line ?? "attempt") + "; retrying in \(Self.format(delay)) (\(Self.describe(reason)))\n")
        case .budgetRefused(_, let attempts):
            flush()
            write("retry budget exhausted after \(attempts) attempt\(attempts == 1 ? "" : "s"): not adding load\n")
        case .gate(let transition):
            flush()
            write("health gate: \(transition.from) -> \(transition.to)\n")
        case .probe(let healthy, let outcome):
            flush()
            write("probe /ping: \(Self.describe(outcome))\(healthy ? " (healthy)" : "")\n")
        case .gateRejected:
            flush()
            write("health gate blocked: not sending\n")
        case .callFinished:
            flush()
        }
    }

    /// Writes the held attempt line, if any.
    func flush() {
        let line = pending.withLock { line -> String? in
            defer { line = nil }
            return line
        }
        if let line { write(line + "\n") }
    }

    /// One attempt's line, without the retry part, from the fields of an attempt.
    static func describeAttempt(
        number: Int, outcome: AttemptOutcome, message: String, latency: Duration, trial: Bool
    ) -> String {
        var line = "attempt \(number): \(describe(outcome)) in \(format(latency))"
        if !message.isEmpty, case .transport = outcome, message != describe(outcome) { line += " (\(message))" }
        if trial { line += " [trial call]" }
        return line
    }

    static func describe(_ outcome: AttemptOutcome) -> String {
        switch outcome {
        case .status(let code): return "HTTP \(code)"
        case .transport(let kind):
            switch kind {
            case .connectionRefused: return "connection refused"
            case .connectTimeout: return "connect timeout"
            case .unresolvedHost: return "host name not resolved"
            case .shutdown: return "transport shut down"
            case .responseTimeout: return "response timeout"
            case .connectionClosed(let sent): return sent ? "connection closed after sending" : "connection closed before sending"
            case .protocolError: return "malformed HTTP response"
            case .responseTooLarge: return "response too large"
            case .cancelled: return "cancelled"
            case .other: return "transport error"
            }
        }
    }

    static func describe(_ reason: DelayReason) -> String {
        guard let retryAfter = reason.retryAfter, retryAfter >= reason.backoff else { return "backoff" }
        return "Retry-After \(format(retryAfter))" + (reason.retryAfterCapped ? ", capped by --max-retry-after" : "")
    }

    /// `1.2ms`, `61.3ms`, `2.5s`, as `DurationValue` writes them.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow else { return "\(seconds)s" }
        let value = DurationValue(nanoseconds: max(0, nanoseconds.partialValue + attoseconds / 1_000_000_000))
        return value.description
    }
}
