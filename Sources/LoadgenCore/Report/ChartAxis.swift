import Foundation

/// One axis of a chart: its label, scale and tick format. The domain comes from the data unless fixed.
public struct ChartAxis: Sendable, Equatable {
    /// How values map to positions.
    public enum Scale: Sendable, Equatable {
        /// Equal steps for equal differences.
        case linear
        /// Equal steps for equal ratios (powers of ten as major ticks); values ≤ 0 are not drawn.
        case log
    }

    /// How tick labels are written.
    public enum TickFormat: Sendable, Equatable {
        /// A plain number (`0.5`, `200`, `12k`).
        case number
        /// Milliseconds (`0.5ms`, `12ms`, `1.2s`).
        case milliseconds
        /// A value `v = 1/(1−p)` written as the percentile `p` (`0%`, `90%`, `99.9%`): the x axis of an
        /// HdrHistogram percentile plot.
        case inversePercentile
    }

    /// The axis title.
    public var label: String
    /// Linear or log.
    public var scale: Scale
    /// Tick label format.
    public var format: TickFormat
    /// For a linear axis: whether the domain reaches down to 0.
    public var includeZero: Bool
    /// A fixed domain instead of one fitted to the data.
    public var domain: ClosedRange<Double>?

    /// Creates an axis.
    public init(
        _ label: String, scale: Scale = .linear, format: TickFormat = .number, includeZero: Bool = true,
        domain: ClosedRange<Double>? = nil
    ) {
        self.label = label
        self.scale = scale
        self.format = format
        self.includeZero = includeZero
        self.domain = domain
    }

    /// The domain that shows `values` with round ends, and its ticks. Non-finite values (and values ≤ 0 on a
    /// log axis) are ignored; with no usable value the domain is a default one.
    func fitted(to values: [Double]) -> (domain: ClosedRange<Double>, ticks: [Double]) {
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        switch scale {
        case .linear:
            var low = domain?.lowerBound ?? usable.min() ?? 0
            var high = domain?.upperBound ?? usable.max() ?? 1
            if domain == nil, includeZero { low = Swift.min(low, 0); high = Swift.max(high, 0) }
            if high <= low { high = low + (low == 0 ? 1 : abs(low) * 0.1) }
            let step = Self.niceStep((high - low) / 5)
            if domain == nil {
                low = (low / step).rounded(.down) * step
                high = (high / step).rounded(.up) * step
            }
            var ticks: [Double] = []
            var tick = (low / step).rounded(.up) * step
            while tick <= high + step * 1e-9 {
                ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
                tick += step
            }
            return (low...high, ticks)
        case .log:
            var low = domain?.lowerBound ?? usable.min() ?? 1
            var high = domain?.upperBound ?? usable.max() ?? 10
            if domain == nil {
                low = pow(10, (log10(low)).rounded(.down))
                high = pow(10, (log10(high)).rounded(.up))
            }
            if high <= low { high = low * 10 }
            let firstDecade = Int(log10(low).rounded(.down))
            let lastDecade = Int(log10(high).rounded(.up))
            let subTicks: [Double] = format != .inversePercentile && lastDecade - firstDecade <= 2 ? [1, 2, 5] : [1]
            var ticks: [Double] = []
            for decade in firstDecade...Swift.max(firstDecade, lastDecade) {
                for factor in subTicks {
                    let tick = factor * pow(10, Double(decade))
                    if tick >= low * (1 - 1e-9), tick <= high * (1 + 1e-9) { ticks.append(tick) }
                }
            }
            return (low...high, ticks)
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        for factor in [1.0, 2, 5, 10] where factor * magnitude >= raw * (1 - 1e-9) { return factor * magnitude }
        return 10 * magnitude
    }

    /// The position of `value` in `domain` as a fraction 0...1 (`nil` for values a log axis cannot show).
    func fraction(of value: Double, in domain: ClosedRange<Double>) -> Double? {
        guard value.isFinite else { return nil }
        switch scale {
        case .linear:
            return (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
        case .log:
            guard value > 0 else { return nil }
            return (log10(value) - log10(domain.lowerBound)) / (log10(domain.upperBound) - log10(domain.lowerBound))
        }
    }

    /// A tick label.
    func label(for value: Double) -> String {
        switch format {
        case .number: return Self.compact(value)
        case .milliseconds: return formatMilliseconds(value)
        case .inversePercentile:
            guard value >= 1 else { return "" }
            let percentile = 100 * (1 - 1 / value)
            let digits = Swift.max(0, Int(log10(value).rounded()) - 2)
            return formatNumber(percentile, digits: digits) + "%"
        }
    }

    /// `0.25`, `40`, `1.5k`, `2M`.
    static func compact(_ value: Double) -> String {
        let size = abs(value)
        if size >= 1e6 { return formatNumber(value / 1e6, digits: 2) + "M" }
        if size >= 1e4 { return formatNumber(value / 1e3, digits: 1) + "k" }
        if size >= 10 || size == 0 { return formatNumber(value, digits: 1) }
        return formatNumber(value, digits: 4)
    }
}
