import Foundation

/// The percentile spectrum of a histogram, HdrHistogram style: x is `1/(1−p)` (so 90%, 99%, 99.9% are evenly
/// spaced on a log axis), y the latency at that percentile.
enum PercentileSpectrum {
    /// The step curve of serialized histogram `counts` (values in microseconds, plotted in milliseconds):
    /// each bucket's value holds from the percentile where it starts to the one where it ends. The last value
    /// runs on to the next power of ten at or above the count (the finest percentile the data resolves).
    /// Empty when the histogram has no recordings.
    static func points(_ counts: [HistogramCount], scale: Double = 1000) -> [SVGChart.Point] {
        let sorted = counts.filter { $0.count > 0 }.sorted { $0.value < $1.value }
        let total = sorted.reduce(0) { $0 + $1.count }
        guard total > 0 else { return [] }
        let end = max(10, pow(10, log10(total).rounded(.up)))
        var points: [SVGChart.Point] = []
        var cumulative = 0.0
        for (index, bucket) in sorted.enumerated() {
            let value = bucket.value / scale
            let startX = 1 / (1 - cumulative / total)
            points.append(SVGChart.Point(x: startX, y: value, note: note(cumulative / total, value)))
            cumulative += bucket.count
            let last = index == sorted.count - 1
            let endX = last ? max(end, startX) : 1 / (1 - cumulative / total)
            let percentile = last ? 1 : cumulative / total
            points.append(SVGChart.Point(x: endX, y: value, note: note(percentile, value)))
        }
        return points
    }

    private static func note(_ fraction: Double, _ value: Double) -> String {
        "p" + formatNumber(fraction * 100, digits: 4) + ": " + formatMilliseconds(value)
    }
}
