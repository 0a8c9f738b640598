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
    /// The non-zero buckets of every window, one window after the other: entry `i` is `entryCounts[i]` calls
    /// in bucket `entryBuckets[i]` (an index in `bucketValues`); window `w`'s entries are
    /// `entryStarts[w]..<entryStarts[w + 1]`. Flat arrays, so pooling a resample touches only these.
    private let entryBuckets: [Int]
    private let entryCounts: [Int64]
    private let entryStarts: [Int]

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
        // Each window's buckets as (value, count), read from its packed histogram.
        var values: [Int64] = []
        var counts: [Int64] = []
        var starts = [0]
        for window in all {
            if let layout = window.layout, let maxValue = window.latency.maxValue {
                for entry in window.latency.entries {
                    // The exact maximum caps the top bucket, as `Histogram.value(atPercentile:)` does.
                    let value = layout.highestEquivalentValue(layout.value(atIndex: Int(entry.index)))
                    values.append(Swift.min(value, maxValue))
                    counts.append(entry.count)
                }
            }
            starts.append(values.count)
        }
        bucketValues = Array(Set(values)).sorted()
        var position: [Int64: Int] = [:]
        for (index, value) in bucketValues.enumerated() { position[value] = index }
        entryBuckets = values.map { position[$0] ?? 0 }
        entryCounts = counts
        entryStarts = starts
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
        // A window drawn k times adds its counts k-fold, once.
        var draws = [Int64](repeating: 0, count: windows.count)
        for index in selection { draws[index] += 1 }
        var counts = [Int64](repeating: 0, count: bucketValues.count)
        var total: Int64 = 0
        // The bootstrap's inner loop: through buffer pointers, without a bounds check or reference count per
        // entry (a resample pools thousands of entries, and there are thousands of resamples).
        entryBuckets.withUnsafeBufferPointer { buckets in
            entryCounts.withUnsafeBufferPointer { entryCounts in
                counts.withUnsafeMutableBufferPointer { counts in
                    for window in draws.indices where draws[window] > 0 {
                        let times = draws[window]
                        for entry in entryStarts[window]..<entryStarts[window + 1] {
                            let count = times * entryCounts[entry]
                            counts[buckets[entry]] += count
                            total += count
                        }
                    }
                }
            }
        }
        guard total > 0 else { return [:] }
        let ranks = percentiles.map { (percentile: $0, rank: Histogram.rank(percentile: $0, count: total)) }
            .sorted { $0.rank < $1.rank }
        var result: [Double: Double] = [:]
        var next = 0
        var running: Int64 = 0
        var bucket = 0
        while next < ranks.count {
            running += counts[bucket]
            while next < ranks.count, running >= ranks[next].rank {
                result[ranks[next].percentile] = Double(bucketValues[bucket]) / 1000
                next += 1
            }
            bucket += 1
        }
        return result
    }

    /// Every window once.
    var allWindows: [Int] { Array(windows.indices) }
}
