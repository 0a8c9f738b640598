/// Why a failed attempt or call failed without an HTTP status. Open set: the engine may add kinds.
public struct ErrorKind: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name used in reports and JSON (`timeout`, `refused`, ...).
    public var rawValue: String
    /// Creates a kind.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// No response within the client timeout (connect or request).
    public static let timeout = ErrorKind(rawValue: "timeout")
    /// The connection was refused (nothing listening).
    public static let refused = ErrorKind(rawValue: "refused")
    /// The connection was reset or closed before a complete response.
    public static let reset = ErrorKind(rawValue: "reset")
    /// The response could not be parsed as HTTP/1.1.
    public static let protocolError = ErrorKind(rawValue: "protocol")
    /// The response body was longer than the client's limit (`client.maxResponse`, `--max-response`).
    public static let tooLarge = ErrorKind(rawValue: "too_large")
    /// Any other transport error.
    public static let other = ErrorKind(rawValue: "other")
    /// Orders by name.
    public static func < (lhs: ErrorKind, rhs: ErrorKind) -> Bool { lhs.rawValue < rhs.rawValue }
    /// The name.
    public var description: String { rawValue }
}

/// Why a scheduled call was never sent. Open set: the engine may add reasons.
public struct NotSentReason: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name used in reports and JSON.
    public var rawValue: String
    /// Creates a reason.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The health gate was blocked (the target was considered down) when the call was due.
    public static let healthGate = NotSentReason(rawValue: "health_gate")
    /// The run's time ended (including the drain period) while the call was still waiting for a connection.
    public static let runEnded = NotSentReason(rawValue: "run_ended")
    /// The run was interrupted (SIGINT) before the call was sent.
    public static let interrupted = NotSentReason(rawValue: "interrupted")
    /// The client's own queue of calls waiting for a connection was full.
    public static let clientQueueFull = NotSentReason(rawValue: "client_queue_full")
    /// A shard of a sharded run became ready after the common start time: the arrivals due before then are
    /// not sent at all (the schedule is never shifted).
    public static let lateStart = NotSentReason(rawValue: "late_start")

    /// The open-loop generator fell more than `EngineLoop.generatorLagLimit` behind its schedule (loadgen could
    /// not keep up with the rate): the arrival was skipped, which says nothing about the target.
    public static let generatorBehind = NotSentReason(rawValue: "generator_behind")
    /// The generated body failed the route's body template before sending.
    public static let invalidBody = NotSentReason(rawValue: "invalid_body")
    /// Orders by name.
    public static func < (lhs: NotSentReason, rhs: NotSentReason) -> Bool { lhs.rawValue < rhs.rawValue }
    /// The name.
    public var description: String { rawValue }
}

/// Counts of failures by HTTP status and by transport error kind.
public struct ErrorCounts: Sendable, Equatable {
    /// Failures that received an HTTP response, by status.
    public var byStatus: [Int: Int64] = [:]
    /// Failures without a response, by kind.
    public var byKind: [ErrorKind: Int64] = [:]

    /// Creates empty counts.
    public init() {}

    /// The total of both maps.
    public var total: Int64 { byStatus.values.reduce(0, +) + byKind.values.reduce(0, +) }

    /// Adds one failure with an HTTP status.
    public mutating func add(status: Int, count: Int64 = 1) { byStatus[status, default: 0] += count }

    /// Adds one failure without a response.
    public mutating func add(kind: ErrorKind, count: Int64 = 1) { byKind[kind, default: 0] += count }

    /// Adds one failure by its cause.
    public mutating func add(_ cause: FailureCause, count: Int64 = 1) {
        switch cause {
        case .status(let status): add(status: status, count: count)
        case .error(let kind): add(kind: kind, count: count)
        }
    }

    /// Adds every count of `other`.
    public mutating func merge(_ other: ErrorCounts) {
        for (status, count) in other.byStatus { add(status: status, count: count) }
        for (kind, count) in other.byKind { add(kind: kind, count: count) }
    }
}

/// The cause of a failed attempt or call.
public enum FailureCause: Sendable, Hashable {
    /// A response whose status is not an expected success (e.g. 503, 500, 422).
    case status(Int)
    /// No (complete) response.
    case error(ErrorKind)
}

/// One attempt of a call, as the engine observed it. Times are monotonic nanoseconds (any fixed origin).
public struct MeasuredAttempt: Sendable, Equatable {
    /// When the request's first byte was written.
    public var sent: Int64
    /// When the response completed or the attempt failed.
    public var ended: Int64
    /// The HTTP status, or `nil` when the attempt failed without a response.
    public var status: Int?
    /// The transport error when `status` is `nil`.
    public var error: ErrorKind?
    /// Whether the attempt counted as success (its status is expected by the request).
    public var succeeded: Bool

    /// An attempt that received a response.
    public static func response(sent: Int64, ended: Int64, status: Int, succeeded: Bool) -> MeasuredAttempt {
        MeasuredAttempt(sent: sent, ended: ended, status: status, error: nil, succeeded: succeeded)
    }

    /// An attempt that failed without a response.
    public static func failure(sent: Int64, ended: Int64, error: ErrorKind) -> MeasuredAttempt {
        MeasuredAttempt(sent: sent, ended: ended, status: nil, error: error, succeeded: false)
    }

    /// The failure cause, or `nil` when the attempt succeeded.
    public var cause: FailureCause? {
        if succeeded { return nil }
        if let status { return .status(status) }
        return .error(error ?? .other)
    }
}

/// One scheduled call: sent with its attempts, or not sent with a reason.
public struct CallRecord: Sendable, Equatable {
    /// The arrival index (0-based within the measured run).
    public var index: Int64
    /// When the call was due: the schedule's intended time (open loop) or when the user issued it (closed loop).
    public var intendedStart: Int64
    /// The attempts in order; empty when not sent.
    public var attempts: [MeasuredAttempt]
    /// Set when the call was never sent.
    public var notSentReason: NotSentReason?
    /// Whether the retry budget refused a retry the policy wanted (the call then ended with its last attempt).
    public var retryDeniedByBudget = false
    /// Which of the scenario's requests the call used (index into `scenario.requests`), for the per-name report.
    public var requestIndex = 0
    /// How many of its attempts the adaptive rate limiter made wait before they were sent (0 without one).
    public var pacedAttempts = 0

    /// A call that was sent at least once. Its outcome is its last attempt's.
    public static func sent(
        index: Int64, intendedStart: Int64, attempts: [MeasuredAttempt], retryDeniedByBudget: Bool = false,
        requestIndex: Int = 0, pacedAttempts: Int = 0
    ) -> CallRecord {
        CallRecord(
            index: index, intendedStart: intendedStart, attempts: attempts, notSentReason: nil,
            retryDeniedByBudget: retryDeniedByBudget, requestIndex: requestIndex, pacedAttempts: pacedAttempts)
    }

    /// A call that was never sent.
    public static func notSent(
        index: Int64, intendedStart: Int64, reason: NotSentReason, requestIndex: Int = 0
    ) -> CallRecord {
        CallRecord(
            index: index, intendedStart: intendedStart, attempts: [], notSentReason: reason, requestIndex: requestIndex)
    }
}

/// One scenario request's share of a run (the per-name report, like k6's results per tag or Locust's per name).
public struct RequestStats: Sendable, Equatable {
    /// Calls scheduled with this request.
    public var calls: Int64 = 0
    /// Of them, calls that succeeded.
    public var ok: Int64 = 0
    /// Calls sent that did not succeed.
    public var failed: Int64 = 0
    /// Calls never sent.
    public var notSent: Int64 = 0
    /// End-to-end latency of the successful calls (µs), allocated at the first one.
    public var latencyOk: Histogram?

    /// Creates empty counts.
    public init() {}

    /// Calls that did not succeed (failed or not sent).
    public var errors: Int64 { failed + notSent }

    /// Adds `other`'s counts and latencies.
    public mutating func merge(_ other: RequestStats) {
        calls += other.calls
        ok += other.ok
        failed += other.failed
        notSent += other.notSent
        if let theirs = other.latencyOk {
            if latencyOk == nil { latencyOk = theirs } else { latencyOk?.merge(theirs) }
        }
    }
}

/// The measured outcome of a run, with exact accounting:
/// `calls == ok + failed + notSentTotal`, `failed == callFailures.total`, `attempts == attemptLatency.totalCount`,
/// `attempts >= ok + failed` (the difference is `retries`), and
/// `latency.totalCount == serviceTime.totalCount == ok + failed`, `latencyOk.totalCount == serviceTimeOk.totalCount == ok`.
/// `record(_:)` keeps these invariants by construction; `accountingProblems()` checks them (for merged or
/// hand-built results).
///
/// Latency histograms are in microseconds. `latency` is end to end per sent call (ok or failed), from the
/// intended start (open loop: the schedule's time, so queueing in the client is counted — coordinated
/// omission), including retries and backoff; `serviceTime` is from the first attempt's actual send;
/// `attemptLatency` is per attempt. `latencyOk` and `serviceTimeOk` hold the same values for the successful calls
/// only: latency thresholds judge them by default, so that fast failures (a wrong route answering 404 in 1 ms)
/// cannot make a latency SLA pass.
public struct RunResult: Sendable, Equatable {
    /// Scenario name.
    public var scenarioName: String = ""
    /// Human description of the load (`constant-rate 200/s for 10s`).
    public var loadDescription: String = ""
    /// The target URL the run used.
    public var target: String = ""
    /// Length of the measurement window in nanoseconds (from the first intended start to the end of the last
    /// call, so the drain after the load included); rates are computed over `plannedNanoseconds` instead.
    public var elapsedNanoseconds: Int64 = 0
    /// Calls scheduled (each counted once as ok, failed or not sent).
    public var calls: Int64 = 0
    /// Calls whose final attempt succeeded.
    public var ok: Int64 = 0
    /// Calls that were sent and did not succeed.
    public var failed: Int64 = 0
    /// Calls never sent, by reason.
    public var notSent: [NotSentReason: Int64] = [:]
    /// Attempts sent (first attempts and retries).
    public var attempts: Int64 = 0
    /// Every failed attempt, by status or kind.
    public var attemptErrors = ErrorCounts()
    /// Every failed call, by the cause of its last attempt.
    public var callFailures = ErrorCounts()
    /// Per sent call, from intended start to completion (µs).
    public var latency = Histogram.latency()
    /// Per sent call, from the first attempt's send to completion (µs).
    public var serviceTime = Histogram.latency()
    /// Per attempt, from send to completion (µs).
    public var attemptLatency = Histogram.latency()
    /// Per sent call, from its intended start to its first attempt's send (µs): how long it waited on this side,
    /// for a connection, for the rate limiter, or behind a generator that fell behind its schedule. Near zero
    /// when the target, not the client, sets the pace.
    public var sendLag = Histogram.latency()
    /// Per successful call, from intended start to completion (µs): what latency thresholds judge by default.
    public var latencyOk = Histogram.latency()
    /// Per successful call, from the first attempt's send to completion (µs).
    public var serviceTimeOk = Histogram.latency()
    /// Calls made during warmup (not included in any other figure).
    public var warmupCalls: Int64 = 0
    /// Retries the retry budget refused.
    public var budgetDenials: Int64 = 0
    /// Attempts the adaptive rate limiter made wait before they were sent (`client.adaptiveRateLimit`).
    public var pacedAttempts: Int64 = 0
    /// The most the open-loop generator was behind its schedule when it started a measured call, in
    /// nanoseconds: its own lag (a loop too busy to keep up), not the target's. Arrivals it could not start within
    /// `EngineLoop.generatorLagLimit` are not sent (`generator_behind`).
    public var generatorLagMaxNanoseconds: Int64 = 0
    /// The run interval by interval (1 s): counters and latencies over time.
    public var timeline = Timeline()
    /// Length of the load as planned, in nanoseconds (cut short by an interruption); 0 when unknown. Unlike
    /// `elapsedNanoseconds` it excludes the drain after the last arrival.
    public var plannedNanoseconds: Int64 = 0
    /// The open loop's planned arrival rate over the planned window (calls/s); `nil` for a closed loop.
    public var offeredRate: Double?
    /// Wall-clock time of the measurement's start (seconds since 1970), for logs; `nil` when unknown.
    public var startTime: Double?
    /// Per scenario request, by `CallRecord.requestIndex`.
    public var byRequest: [RequestStats] = []
    /// The report label of each scenario request (its `name`, or `METHOD route`), by index; set by the engine
    /// or the command. Requests that share a name are reported together.
    public var requestLabels: [String] = []

    /// Creates an empty result.
    public init(scenarioName: String = "", loadDescription: String = "", target: String = "") {
        self.scenarioName = scenarioName
        self.loadDescription = loadDescription
        self.target = target
    }

    /// Records one call. Sent calls add their attempts; the call is ok when its last attempt succeeded.
    public mutating func record(_ call: CallRecord) {
        timeline.record(call)
        calls += 1
        let request = max(0, call.requestIndex)
        if request >= byRequest.count {
            byRequest.append(contentsOf: repeatElement(RequestStats(), count: request + 1 - byRequest.count))
        }
        byRequest[request].calls += 1
        if call.retryDeniedByBudget { budgetDenials += 1 }
        pacedAttempts += Int64(call.pacedAttempts)
        if let reason = call.notSentReason {
            notSent[reason, default: 0] += 1
            byRequest[request].notSent += 1
            return
        }
        guard let first = call.attempts.first, let last = call.attempts.last else {
            // A "sent" call without attempts is an engine bug; account it as not sent rather than lose it.
            notSent[NotSentReason(rawValue: "no_attempt"), default: 0] += 1
            byRequest[request].notSent += 1
            return
        }
        for attempt in call.attempts {
            attempts += 1
            attemptLatency.recordNanoseconds(attempt.ended - attempt.sent)
            if let cause = attempt.cause { attemptErrors.add(cause) }
        }
        let endToEnd = last.ended - call.intendedStart
        let service = last.ended - first.sent
        latency.recordNanoseconds(endToEnd)
        serviceTime.recordNanoseconds(service)
        sendLag.recordNanoseconds(max(0, first.sent - call.intendedStart))
        if let cause = last.cause {
            failed += 1
            callFailures.add(cause)
            byRequest[request].failed += 1
        } else {
            ok += 1
            latencyOk.recordNanoseconds(endToEnd)
            serviceTimeOk.recordNanoseconds(service)
            byRequest[request].ok += 1
            Histogram.recordLatency(endToEnd / 1000, into: &byRequest[request].latencyOk)
        }
    }

    /// Records `count` calls of request `requestIndex`, due at `intendedStart`, that were never sent for
    /// `reason`: what `count` calls to `record(.notSent(...))` would, at the cost of one.
    public mutating func recordNotSent(_ count: Int64, reason: NotSentReason, intendedStart: Int64, requestIndex: Int) {
        guard count > 0 else { return }
        timeline.recordNotSent(count, intendedStart: intendedStart)
        calls += count
        let request = max(0, requestIndex)
        if request >= byRequest.count {
            byRequest.append(contentsOf: repeatElement(RequestStats(), count: request + 1 - byRequest.count))
        }
        byRequest[request].calls += count
        byRequest[request].notSent += count
        notSent[reason, default: 0] += count
    }

    /// Adds another shard's or loop's result (counts, histograms and offered rates add; elapsed time is the
    /// longer one).
    public mutating func merge(_ other: RunResult) {
        elapsedNanoseconds = max(elapsedNanoseconds, other.elapsedNanoseconds)
        calls += other.calls
        ok += other.ok
        failed += other.failed
        for (reason, count) in other.notSent { notSent[reason, default: 0] += count }
        attempts += other.attempts
        attemptErrors.merge(other.attemptErrors)
        callFailures.merge(other.callFailures)
        latency.merge(other.latency)
        serviceTime.merge(other.serviceTime)
        sendLag.merge(other.sendLag)
        attemptLatency.merge(other.attemptLatency)
        latencyOk.merge(other.latencyOk)
        serviceTimeOk.merge(other.serviceTimeOk)
        warmupCalls += other.warmupCalls
        budgetDenials += other.budgetDenials
        pacedAttempts += other.pacedAttempts
        generatorLagMaxNanoseconds = max(generatorLagMaxNanoseconds, other.generatorLagMaxNanoseconds)
        timeline.merge(other.timeline)
        plannedNanoseconds = max(plannedNanoseconds, other.plannedNanoseconds)
        // The shards of a run each offer their part of the rate.
        if let theirs = other.offeredRate { offeredRate = (offeredRate ?? 0) + theirs }
        if startTime == nil { startTime = other.startTime }
        if byRequest.count < other.byRequest.count {
            byRequest.append(contentsOf: repeatElement(RequestStats(), count: other.byRequest.count - byRequest.count))
        }
        for (index, stats) in other.byRequest.enumerated() { byRequest[index].merge(stats) }
        if requestLabels.count < other.requestLabels.count { requestLabels = other.requestLabels }
    }

    /// The per-request results grouped by label (requests that share a name add up), in the order the labels
    /// first appear; a request without a label is `request N` (1-based).
    public var byName: [(name: String, stats: RequestStats)] {
        var groups: [(name: String, stats: RequestStats)] = []
        for (index, stats) in byRequest.enumerated() {
            let name = index < requestLabels.count ? requestLabels[index] : "request \(index + 1)"
            if let position = groups.firstIndex(where: { $0.name == name }) {
                groups[position].stats.merge(stats)
            } else {
                groups.append((name, stats))
            }
        }
        return groups
    }

    /// Calls never sent, all reasons.
    public var notSentTotal: Int64 { notSent.values.reduce(0, +) }
    /// Calls sent (ok + failed).
    public var sent: Int64 { ok + failed }
    /// Retries sent (attempts beyond each sent call's first).
    public var retries: Int64 { attempts - sent }
    /// Elapsed seconds of the measurement window.
    public var elapsedSeconds: Double { Double(elapsedNanoseconds) / 1e9 }
    /// The window rates are divided by: the planned load (`plannedNanoseconds`), not the drain after it, so
    /// that offering 250/s for 5 s and completing every call reads 250/s; the measurement window when the plan
    /// is unknown (0).
    public var rateNanoseconds: Int64 { plannedNanoseconds > 0 ? plannedNanoseconds : elapsedNanoseconds }
    /// How long the calls in flight took to finish after the planned load (0 when none did, or unknown).
    public var drainNanoseconds: Int64 { plannedNanoseconds > 0 ? max(0, elapsedNanoseconds - plannedNanoseconds) : 0 }
    /// Attempts per second over the planned window (`rateNanoseconds`).
    public var throughput: Double { rateNanoseconds > 0 ? Double(attempts) / (Double(rateNanoseconds) / 1e9) : 0 }
    /// Successful calls per second over the planned window (`rateNanoseconds`).
    public var goodput: Double { rateNanoseconds > 0 ? Double(ok) / (Double(rateNanoseconds) / 1e9) : 0 }
    /// Attempts per sent call (1.0 = no retries); 0 when nothing was sent.
    public var amplification: Double { sent > 0 ? Double(attempts) / Double(sent) : 0 }
    /// Share of scheduled calls that did not succeed (failed or not sent); 0 when nothing was scheduled.
    public var errorRate: Double { calls > 0 ? Double(failed + notSentTotal) / Double(calls) : 0 }

    /// Violated accounting identities, as sentences (empty when the numbers add up).
    public func accountingProblems() -> [String] {
        var problems: [String] = []
        if calls != ok + failed + notSentTotal {
            problems.append("calls (\(calls)) != ok (\(ok)) + failed (\(failed)) + not sent (\(notSentTotal))")
        }
        if failed != callFailures.total {
            problems.append("failed (\(failed)) != failures by status and kind (\(callFailures.total))")
        }
        if attempts < sent { problems.append("attempts (\(attempts)) < calls sent (\(sent))") }
        if attemptLatency.totalCount != attempts {
            problems.append("attempt histogram count (\(attemptLatency.totalCount)) != attempts (\(attempts))")
        }
        if latency.totalCount != sent {
            problems.append("latency histogram count (\(latency.totalCount)) != calls sent (\(sent))")
        }
        if serviceTime.totalCount != sent {
            problems.append("service-time histogram count (\(serviceTime.totalCount)) != calls sent (\(sent))")
        }
        if latencyOk.totalCount != ok {
            problems.append("successful-call latency histogram count (\(latencyOk.totalCount)) != ok (\(ok))")
        }
        if serviceTimeOk.totalCount != ok {
            problems.append("successful-call service-time histogram count (\(serviceTimeOk.totalCount)) != ok (\(ok))")
        }
        if attemptErrors.total > attempts {
            problems.append("failed attempts (\(attemptErrors.total)) > attempts (\(attempts))")
        }
        let intervals = timeline.intervals
        if !intervals.isEmpty {
            func sum(_ field: (Timeline.Interval) -> Int64) -> Int64 { intervals.reduce(0) { $0 + field($1) } }
            let totals = [
                ("offered", sum(\.offered), calls), ("ok", sum(\.ok), ok), ("failed", sum(\.failed), failed),
                ("not sent", sum(\.notSent), notSentTotal), ("attempts", sum(\.attempts), attempts),
                ("latencies", sum(\.latency.totalCount), latency.totalCount),
                ("successful latencies", sum(\.latencyOk.totalCount), latencyOk.totalCount),
            ]
            for (name, overTime, total) in totals where overTime != total {
                problems.append("time series \(name) (\(overTime)) != total (\(total))")
            }
        }
        return problems
    }
}
