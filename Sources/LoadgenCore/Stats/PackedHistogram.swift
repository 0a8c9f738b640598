/// A histogram's non-zero counts, kept compactly: what a `Timeline` holds for each interval once it is closed.
///
/// A dense `Histogram.latency()` holds about 24,000 counts (190 KB); an interval of a run touches a few hundred
/// of them. Packing keeps the counts index by index, so `unpacked(like:)` restores the histogram exactly
/// (counts, total, min and max), and two packed histograms of the same layout merge exactly.
public struct PackedHistogram: Sendable, Equatable {
    /// `(counts index, count)` pairs in ascending index order, counts > 0.
    private(set) var entries: [(index: Int32, count: Int64)] = []
    /// Number of recorded values.
    public private(set) var totalCount: Int64 = 0
    /// Exact smallest recorded value, or `nil` when empty.
    public private(set) var minValue: Int64?
    /// Exact largest recorded value, or `nil` when empty.
    public private(set) var maxValue: Int64?
    /// Values clamped at the layout's top (included in `totalCount`).
    public private(set) var clampedCount: Int64 = 0

    /// An empty histogram.
    public init() {}

    /// Packs `histogram`.
    public init(_ histogram: Histogram) {
        // Through a buffer pointer: the dense counts (23,552 for the latency layout) are read once per interval.
        histogram.counts.withUnsafeBufferPointer { counts in
            for index in counts.indices where counts[index] != 0 { entries.append((Int32(index), counts[index])) }
        }
        totalCount = histogram.totalCount
        minValue = histogram.minValue
        maxValue = histogram.maxValue
        clampedCount = histogram.clampedCount
    }

    /// Whether nothing was recorded.
    public var isEmpty: Bool { totalCount == 0 }

    /// The histogram, in the layout of `template` (which must be the layout it was packed from).
    public func unpacked(like template: Histogram) -> Histogram {
        var histogram = template
        histogram.reset()
        for entry in entries where Int(entry.index) < histogram.counts.count {
            histogram.counts[Int(entry.index)] += entry.count
        }
        histogram.totalCount = totalCount
        histogram.minValue = minValue
        histogram.maxValue = maxValue
        histogram.clampedCount = clampedCount
        return histogram
    }

    /// Records one value as `layout` would (clamped to its range), without unpacking.
    public mutating func record(_ value: Int64, layout: Histogram) {
        var value = max(value, 0)
        if value > layout.highestTrackableValue {
            value = layout.highestTrackableValue
            clampedCount += 1
        }
        let index = Int32(layout.countsIndex(of: value))
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].index < index { low = middle + 1 } else { high = middle }
        }
        if low < entries.count && entries[low].index == index {
            entries[low].count += 1
        } else {
            entries.insert((index, 1), at: low)
        }
        totalCount += 1
        minValue = Swift.min(minValue ?? value, value)
        maxValue = Swift.max(maxValue ?? value, value)
    }

    /// Adds `other`'s counts (same layout).
    public mutating func merge(_ other: PackedHistogram) {
        guard !other.isEmpty else { return }
        guard !isEmpty else {
            self = other
            return
        }
        var merged: [(index: Int32, count: Int64)] = []
        merged.reserveCapacity(entries.count + other.entries.count)
        var i = 0
        var j = 0
        while i < entries.count || j < other.entries.count {
            if j == other.entries.count || (i < entries.count && entries[i].index < other.entries[j].index) {
                merged.append(entries[i])
                i += 1
            } else if i == entries.count || other.entries[j].index < entries[i].index {
                merged.append(other.entries[j])
                j += 1
            } else {
                merged.append((entries[i].index, entries[i].count + other.entries[j].count))
                i += 1
                j += 1
            }
        }
        entries = merged
        totalCount += other.totalCount
        clampedCount += other.clampedCount
        minValue = Swift.min(minValue ?? Int64.max, other.minValue ?? Int64.max)
        maxValue = Swift.max(maxValue ?? Int64.min, other.maxValue ?? Int64.min)
    }

    public static func == (lhs: PackedHistogram, rhs: PackedHistogram) -> Bool {
        lhs.totalCount == rhs.totalCount && lhs.minValue == rhs.minValue && lhs.maxValue == rhs.maxValue
            && lhs.clampedCount == rhs.clampedCount && lhs.entries.elementsEqual(rhs.entries, by: { $0 == $1 })
    }
}
