import Foundation

/// A capacity step's verdict.
public enum StepVerdict: String, Sendable, Equatable {
    /// Every SLA threshold held, on enough samples.
    case pass
    /// An SLA threshold failed because of the endpoint.
    case fail
    /// Too few calls completed to judge the SLA's percentile (see `StepJudge.requiredSamples`).
    case inconclusive
    /// The SLA failed only because calls waited in the generator: service time from the actual send met it.
    case generatorLimited = "generator-limited"
}

/// Judges one capacity step against the SLA.
///
/// **Samples.** A percentile is only judged on enough calls: for `pN < L` to be meaningful, at least
/// `ln(0.01) / ln(N/100)` calls must complete, the fewest for which *no* call over L would happen by chance
/// with less than 1% probability if the true N-th percentile were over L (459 for p99, 4,603 for p99.9). An
/// `error_rate < E` threshold needs `ln(0.01) / ln(1 - E)` calls the same way (459 for 1%). Fewer completed
/// calls make the step `inconclusive`, never `pass` or `fail`.
///
/// **Generator limits.** Latency is measured from each call's intended start, so a generator that falls
/// behind its schedule makes the endpoint look slow. When a latency threshold fails but the same threshold
/// holds on service time (from the actual send; of the same calls: the successful ones unless the threshold
/// says `{status:any}`), and every other threshold holds, the delay was the
/// generator's: the step is `generator-limited`, and the search never reports that rate as the endpoint's.
public struct StepJudge: Sendable {
    /// The SLA (whole-step thresholds; a `[window]` is judged over the step's windows).
    public var sla: [Threshold]

    /// A judge for `sla`.
    public init(sla: [Threshold]) { self.sla = sla }

    /// Calls that must complete before the SLA can be judged (at least 1).
    public var requiredSamples: Int64 {
        var required: Int64 = 1
        for threshold in sla {
            let quantile: Double
            switch threshold.metric {
            case .latencyPercentile(let p): quantile = p / 100
            case .errorRate: quantile = 1 - threshold.limit
            default: continue
            }
            guard quantile > 0, quantile < 1 else { continue }
            required = max(required, Int64((log(0.01) / log(quantile)).rounded(.up)))
        }
        return min(required, 10_000_000)
    }

    /// The verdict on `result` and, unless it passed, why (one line naming the failed thresholds and values).
    public func judge(_ result: RunResult) -> (verdict: StepVerdict, reason: String) {
        let completed = result.latency.totalCount
        let required = requiredSamples
        if completed < required {
            return (
                .inconclusive,
                "only \(completed) of the \(required) completed calls needed to judge the SLA"
            )
        }
        let outcomes = sla.map { $0.evaluate(result) }
        let failed = outcomes.filter { !$0.pass }
        if failed.isEmpty { return (.pass, "") }
        let reason = failed.map { "\($0.threshold.expression): \($0.observedText)" }.joined(separator: "; ")
        if failed.allSatisfy({ $0.threshold.metric.isLatency && $0.threshold.window == nil }) {
            var sent = result
            sent.latency = result.serviceTime
            sent.latencyOk = result.serviceTimeOk
            if failed.allSatisfy({ $0.threshold.evaluate(sent).pass }) {
                let service = failed.map { "service time \($0.threshold.metric) \($0.threshold.evaluate(sent).observedText)" }
                return (
                    .generatorLimited,
                    "\(reason), but \(service.joined(separator: ", ")): calls waited in the generator, not the endpoint"
                )
            }
        }
        return (.fail, reason)
    }
}
