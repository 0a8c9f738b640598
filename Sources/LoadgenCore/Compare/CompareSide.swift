/// One side of a comparison (the baseline or the new runs): its windows, laid out so that any multiset of
/// them (a bootstrap resample) can be pooled quickly. Pooling adds the windows' counters and merges their
/// latency histograms count by count, so a percentile is that of all the calls of the chosen windows.
struct CompareSide: Sendable {
    /// The windows of every run of the side.
    let windows: [CompareWindow]
    /// For each run, the indices of its windows in `windows`.
    let runs: [[Int]]
    /// The distinct latency buckets of the side, ascending: each bucket's highest equivalent value (µs), as
    /// `Histogram.value(atPercentile:)` reports it.
    private let bucketValues: [Int64]
    /// Per window, its non-zero buckets as `(index in bucketValues, count)`.
    private let windowBuckets: [[(bucket: Int, count: Int64)]]

    /// Lays out the windows of `runs` (each run's windows in time order).
    init(runs windowsByRun: [[CompareWindow]]) {
        var all: [CompareWindow] = []
        var runs: [[Int]] = []
        for run in windowsByRun {
            runs.append(Array(all.count..<(all.count + run.count)))
            all += run
        }
        windows = all
        self.runs = runs
        var perWindow: [[(value: Int64, count: Int64)]] = []
        var distinct = Set<Int64>()
        for window in all {
            guard let histogram = window.histogram else {
                perWindow.append([])
                continue
            }
            let counts = histogram.nonZeroCounts().map { (histogram.highestEquivalentValue($0.value), $0.count) }
            // The exact maximum caps the top bucket, as `Histogram.value(atPercentile:)` does.
            let capped = counts.map { (value: Swift.min($0.0, histogram.maxValue ?? $0.0), count: $0.1) }
            for entry in capped { distinct.insert(entry.value) }
            perWindow.append(capped)
        }
        bucketValues = distinct.sorted()
        var position: [Int64: Int] = [:]
        for (index, value) in bucketValues.enumerated() { position[value] = index }
        windowBuckets = perWindow.map { entries in entries.compactMap { entry in position[entry.value].map { ($0, entry.count) } } }
    }

    /// The value of every metric in `metrics` over the windows `selection` (indices into `windows`, repeats
    /// allowed), in the same order; `nil` where undefined (no calls, no time).
    func values(of metrics: [CompareMetric], over selection: [Int]) -> [Double?] {
        var total = CompareWindow()
        for index in selection {
            let window = windows[index]
            total.seconds += window.seconds
            total.offered += window.offered
            total.attempts += window.attempts
            total.retries += window.retries
            total.ok += window.ok
            total.failed += window.failed
            total.notSent += window.notSent
        }
        let percentiles = metrics.compactMap(\.percentile)
        let latencies = percentiles.isEmpty ? [:] : percentileValues(percentiles, over: selection)
        return metrics.map { metric in
            switch metric {
            case .p50, .p99, .p999: return metric.percentile.flatMap { latencies[$0] }
            case .throughput: return total.seconds > 0 ? total.attempts / total.seconds : nil
            case .goodput: return total.seconds > 0 ? total.ok / total.seconds : nil
            case .errorRate:
                let calls = total.offered > 0 ? total.offered : total.ok + total.failed + total.notSent
                return calls > 0 ? Swift.min(1, (total.failed + total.notSent) / calls) : nil
            case .amplification:
                let sent = total.attempts - total.retries
                return sent > 0 ? total.attempts / sent : nil
            case .capacity: return nil
            }
        }
    }

    /// The pooled latency percentiles (ms) of the windows `selection`, by percentile.
    private func percentileValues(_ percentiles: [Double], over selection: [Int]) -> [Double: Double] {
        var counts = [Int64](repeating: 0, count: bucketValues.count)
        var total: Int64 = 0
        for index in selection {
            for entry in windowBuckets[index] {
                counts[entry.bucket] += entry.count
                total += entry.count
            }
        }
        guard total > 0 else { return [:] }
        let ranks = percentiles.map { (percentile: $0, rank: Histogram.rank(percentile: $0, count: total)) }
            .sorted { $0.rank < $1.rank }
        var result: [Double: Double] = [:]
        var next = 0
        var running: Int64 = 0
        for (bucket, count) in counts.enumerated() where count > 0 {
            running += count
            while next < ranks.count, running >= ranks[next].rank {
                result[ranks[next].percentile] = Double(bucketValues[bucket]) / 1000
                next += 1
            }
            if next == ranks.count { break }
        }
        return result
    }

    /// Every window once.
    var allWindows: [Int] { Array(windows.indices) }
}
