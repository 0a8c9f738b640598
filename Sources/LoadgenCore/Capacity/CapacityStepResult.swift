/// One step of a capacity search as it ran: the rate offered, what came back, and the verdict.
public struct CapacityStepResult: Sendable {
    /// Constant arrival rate offered (calls/s).
    public var rate: Double
    /// Why the step ran.
    public var phase: CapacitySearch.Phase
    /// The step's measured result (its warm-up excluded).
    public var result: RunResult
    /// The verdict against the SLA.
    public var verdict: StepVerdict
    /// Why it did not pass (empty when it passed).
    public var reason: String

    /// Creates a step.
    public init(rate: Double, phase: CapacitySearch.Phase, result: RunResult, verdict: StepVerdict, reason: String) {
        self.rate = rate
        self.phase = phase
        self.result = result
        self.verdict = verdict
        self.reason = reason
    }

    /// Planned length of the step's load, in seconds.
    public var durationSeconds: Double {
        Double(result.plannedNanoseconds > 0 ? result.plannedNanoseconds : result.elapsedNanoseconds) / 1e9
    }

    /// Successful calls per second that completed *during* the step: over the whole intervals of the time
    /// series that lie inside the planned window. Calls that complete in the drain after an overloaded step
    /// are not counted, so an endpoint that holds 48/s shows 48/s at an offered 96/s, not 96/s.
    public var achievedRate: Double {
        let timeline = result.timeline
        let whole = Int(Double(result.plannedNanoseconds) / Double(timeline.intervalNanoseconds))
        let intervals = timeline.intervals
        guard whole > 0, intervals.count >= whole else {
            return durationSeconds > 0 ? Double(result.ok) / durationSeconds : 0
        }
        let ok = intervals[0..<whole].reduce(Int64(0)) { $0 + $1.ok }
        return Double(ok) / (Double(whole) * Double(timeline.intervalNanoseconds) / 1e9)
    }

    /// End-to-end latency at `percentile`, in milliseconds; `nil` when no call completed.
    public func latencyMilliseconds(_ percentile: Double) -> Double? {
        result.latency.totalCount > 0 ? Double(result.latency.value(atPercentile: percentile)) / 1000 : nil
    }
}
