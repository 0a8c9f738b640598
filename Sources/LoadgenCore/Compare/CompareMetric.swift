/// A figure `loadgen compare` judges, with the direction in which it improves.
public enum CompareMetric: String, Sendable, CaseIterable, Equatable {
    /// Median latency from the intended start (ms).
    case p50
    /// 99th percentile latency (ms).
    case p99
    /// 99.9th percentile latency (ms).
    case p999 = "p99.9"
    /// Attempts per second.
    case throughput
    /// Successful calls per second.
    case goodput
    /// Calls that failed or were not sent, as a fraction of calls offered; its change is absolute
    /// (percentage points).
    case errorRate = "error_rate"
    /// Attempts per sent call.
    case amplification
    /// `capacity.last_pass_rps` of a capacity result.
    case capacity

    /// The metrics of a run result, in table order (the default selection).
    public static let runMetrics: [CompareMetric] = [.p50, .p99, .p999, .throughput, .goodput, .errorRate, .amplification]

    /// Parses a `--metric` name (`p50`, `p99`, `p99.9` or `p999`, `throughput`, `goodput`, `error_rate`,
    /// `amplification`, `capacity`).
    public init?(name: String) {
        switch name.lowercased() {
        case "p999": self = .p999
        case "error-rate", "errors": self = .errorRate
        case let other:
            guard let metric = CompareMetric(rawValue: other) else { return nil }
            self = metric
        }
    }

    /// Whether a smaller value is an improvement (latencies, error rate, amplification).
    public var lowerIsBetter: Bool {
        switch self {
        case .p50, .p99, .p999, .errorRate, .amplification: return true
        case .throughput, .goodput, .capacity: return false
        }
    }

    /// Whether the change is a difference in percentage points rather than a relative change in percent.
    public var changeIsAbsolute: Bool { self == .errorRate }

    /// The latency percentile this metric is, if it is one.
    var percentile: Double? {
        switch self {
        case .p50: return 50
        case .p99: return 99
        case .p999: return 99.9
        default: return nil
        }
    }
}
