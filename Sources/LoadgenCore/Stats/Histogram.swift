import EndpointSpec

/// A high-dynamic-range histogram with HdrHistogram's log-linear bucket layout.
///
/// Values are non-negative integers; loadgen records **microseconds**. With `significantDigits` = 3 every
/// recorded value is kept within 0.1% (the bucket holding `v` spans at most `v / 1000`). Values above
/// `highestTrackableValue` are clamped to it and counted in `clampedCount`; negative values are recorded as 0.
///
/// Layout (as HdrHistogram): `subBucketCount = 2^ceil(log2(2 * 10^digits))` linear sub-buckets per bucket;
/// bucket `b` covers `[subBucketHalfCount << (b + unitMagnitude), subBucketCount << (b + unitMagnitude))`
/// with resolution `1 << (b + unitMagnitude)`; bucket 0 also covers `[0, subBucketHalfCount)`.
/// Two histograms with the same layout merge exactly, count by count (`merge(_:)`), and `serialized()` /
/// `init(serialized:)` keep every non-zero count so shards can be merged later without loss.
public struct Histogram: Sendable, Equatable {
    /// The smallest value distinguishable from 0 (a power-of-two floor of it sets the unit).
    public let lowestDiscernibleValue: Int64
    /// The largest value tracked without clamping.
    public let highestTrackableValue: Int64
    /// Decimal digits of precision kept (1...5).
    public let significantDigits: Int

    let unitMagnitude: Int
    let subBucketHalfCountMagnitude: Int
    let subBucketCount: Int
    let subBucketHalfCount: Int
    let subBucketMask: Int64
    /// `64 - unitMagnitude - subBucketHalfCountMagnitude - 1`: the bucket of a value is this minus its leading zeros.
    let leadingZeroCountBase: Int
    /// Number of buckets.
    public let bucketCount: Int
    var counts: [Int64]

    /// Number of recorded values.
    public internal(set) var totalCount: Int64 = 0
    /// Values recorded above `highestTrackableValue` (included in `totalCount`, at the top value).
    public internal(set) var clampedCount: Int64 = 0
    /// Exact smallest recorded value (after clamping), or `nil` when empty.
    public internal(set) var minValue: Int64?
    /// Exact largest recorded value (after clamping), or `nil` when empty.
    public internal(set) var maxValue: Int64?

    /// The default layout for latencies in microseconds: 1 µs to 1 hour, 3 significant digits.
    public static func latency() -> Histogram { Histogram(layout: 1, 3_600_000_000, 3) }

    /// Creates an empty histogram. Throws when `lowest < 1`, `highest < 2 * lowest` or digits are not 1...5.
    public init(lowestDiscernibleValue: Int64 = 1, highestTrackableValue: Int64, significantDigits: Int = 3)
        throws(HistogramError)
    {
        guard lowestDiscernibleValue >= 1 else { throw .invalidLayout("lowestDiscernibleValue must be >= 1") }
        guard highestTrackableValue >= 2 * lowestDiscernibleValue else {
            throw .invalidLayout("highestTrackableValue must be >= 2 * lowestDiscernibleValue")
        }
        guard (1...5).contains(significantDigits) else { throw .invalidLayout("significantDigits must be 1...5") }
        self.init(layout: lowestDiscernibleValue, highestTrackableValue, significantDigits)
    }

    private init(layout lowest: Int64, _ highest: Int64, _ digits: Int) {
        lowestDiscernibleValue = lowest
        highestTrackableValue = highest
        significantDigits = digits
        var largestSingleUnitResolution: Int64 = 2
        for _ in 0..<digits { largestSingleUnitResolution *= 10 }
        // ceil(log2(2 * 10^digits))
        let subBucketCountMagnitude = 64 - (largestSingleUnitResolution - 1).leadingZeroBitCount
        subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
        unitMagnitude = 63 - lowest.leadingZeroBitCount
        subBucketCount = 1 << (subBucketHalfCountMagnitude + 1)
        subBucketHalfCount = subBucketCount / 2
        subBucketMask = Int64(subBucketCount - 1) << unitMagnitude
        leadingZeroCountBase = 64 - unitMagnitude - subBucketHalfCountMagnitude - 1
        var smallestUntrackable = Int64(subBucketCount) << unitMagnitude
        var buckets = 1
        while smallestUntrackable <= highest {
            if smallestUntrackable > Int64.max / 2 {
                buckets += 1
                break
            }
            smallestUntrackable <<= 1
            buckets += 1
        }
        bucketCount = buckets
        counts = [Int64](repeating: 0, count: (buckets + 1) * (subBucketCount / 2))
    }

    // MARK: Index arithmetic

    func bucketIndex(of value: Int64) -> Int {
        leadingZeroCountBase &- (value | subBucketMask).leadingZeroBitCount
    }

    /// The index in `counts` of a value in `0...highestTrackableValue`. It runs for every recorded value, so its
    /// arithmetic is unchecked (`&`-operators): for such values every shift count is in 0..<64 and nothing
    /// overflows, and Swift's checked shifts and additions made it three times as long.
    func countsIndex(of value: Int64) -> Int {
        let bucket = bucketIndex(of: value)
        let subBucket = Int(value &>> Int64(bucket &+ unitMagnitude))
        return ((bucket &+ 1) &<< subBucketHalfCountMagnitude) &+ (subBucket &- subBucketHalfCount)
    }

    func value(atIndex index: Int) -> Int64 {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            subBucket -= subBucketHalfCount
            bucket = 0
        }
        return Int64(subBucket) << Int64(bucket + unitMagnitude)
    }

    /// The width of the range of values that are recorded in the same count as `value`.
    public func sizeOfEquivalentRange(_ value: Int64) -> Int64 {
        let bucket = bucketIndex(of: value)
        let subBucket = Int(value >> Int64(bucket + unitMagnitude))
        let adjusted = subBucket >= subBucketCount ? bucket + 1 : bucket
        return Int64(1) << Int64(unitMagnitude + adjusted)
    }

    /// The smallest value recorded in the same count as `value`.
    public func lowestEquivalentValue(_ value: Int64) -> Int64 {
        let bucket = bucketIndex(of: value)
        let subBucket = Int(value >> Int64(bucket + unitMagnitude))
        return Int64(subBucket) << Int64(bucket + unitMagnitude)
    }

    /// The largest value recorded in the same count as `value` (at most `Int64.max`: the top bucket of a
    /// layout reaching `Int64.max` would otherwise end past it).
    public func highestEquivalentValue(_ value: Int64) -> Int64 {
        let (highest, overflow) = lowestEquivalentValue(value).addingReportingOverflow(sizeOfEquivalentRange(value) - 1)
        return overflow ? Int64.max : highest
    }

    /// The middle of the range of values recorded in the same count as `value`.
    public func medianEquivalentValue(_ value: Int64) -> Int64 {
        lowestEquivalentValue(value) + sizeOfEquivalentRange(value) / 2
    }

    /// Whether two values share a count.
    public func valuesAreEquivalent(_ a: Int64, _ b: Int64) -> Bool {
        lowestEquivalentValue(a) == lowestEquivalentValue(b)
    }

    // MARK: Recording

    /// Records `value` `count` times (count must be positive; zero or negative counts are ignored).
    public mutating func record(_ value: Int64, count: Int64 = 1) {
        guard count > 0 else { return }
        var value = max(value, 0)
        if value > highestTrackableValue {
            value = highestTrackableValue
            clampedCount += count
        }
        counts[countsIndex(of: value)] += count
        totalCount += count
        minValue = min(minValue ?? value, value)
        maxValue = max(maxValue ?? value, value)
    }

    /// Records a duration given in nanoseconds, as microseconds (truncated).
    public mutating func recordNanoseconds(_ nanoseconds: Int64) { record(nanoseconds / 1000) }

    /// Records `microseconds` into `histogram` in place, starting it as `latency()` at the first value.
    /// (`histogram?.record` is `nil` only when there is no histogram yet; comparing the optional itself with
    /// `nil` would copy it each time.)
    static func recordLatency(_ microseconds: Int64, into histogram: inout Histogram?) {
        if histogram?.record(microseconds) == nil {
            var first = latency()
            first.record(microseconds)
            histogram = first
        }
    }

    /// Adds every count of `other` to this histogram, bucket by bucket. When the layouts are equal this is
    /// exact; otherwise each of `other`'s counts is re-recorded at its bucket's lowest equivalent value
    /// (so the result is as if those values had been recorded here).
    public mutating func merge(_ other: Histogram) {
        guard other.totalCount > 0 else { return }
        if sameLayout(as: other) {
            for index in other.counts.indices where other.counts[index] != 0 {
                counts[index] += other.counts[index]
            }
            totalCount += other.totalCount
            clampedCount += other.clampedCount
            if let otherMin = other.minValue { minValue = min(minValue ?? otherMin, otherMin) }
            if let otherMax = other.maxValue { maxValue = max(maxValue ?? otherMax, otherMax) }
        } else {
            for (value, count) in other.nonZeroCounts() { record(value, count: count) }
            if let otherMin = other.minValue, totalCount > 0 {
                minValue = min(minValue ?? otherMin, min(otherMin, highestTrackableValue))
            }
            if let otherMax = other.maxValue, totalCount > 0 {
                maxValue = max(maxValue ?? otherMax, min(otherMax, highestTrackableValue))
            }
        }
    }

    /// Removes every recorded value.
    public mutating func reset() {
        for index in counts.indices { counts[index] = 0 }
        totalCount = 0
        clampedCount = 0
        minValue = nil
        maxValue = nil
    }

    func sameLayout(as other: Histogram) -> Bool {
        lowestDiscernibleValue == other.lowestDiscernibleValue && highestTrackableValue == other.highestTrackableValue
            && significantDigits == other.significantDigits
    }

    /// `(lowest equivalent value, count)` of every non-zero count, in increasing value order.
    public func nonZeroCounts() -> [(value: Int64, count: Int64)] {
        var result: [(value: Int64, count: Int64)] = []
        for index in counts.indices where counts[index] != 0 {
            result.append((value(atIndex: index), counts[index]))
        }
        return result
    }

    // MARK: Queries

    /// The 1-based rank of the value at `percentile` among `count` sorted values (nearest-rank:
    /// `ceil(percentile / 100 * count)`, at least 1), as HdrHistogram computes it.
    public static func rank(percentile: Double, count: Int64) -> Int64 {
        let clamped = min(max(percentile, 0), 100)
        let exact = clamped / 100 * Double(count)
        var rank = exact.rounded(.up)
        // 99.9 / 100 * 1000 is 999.0000000000001 in binary; treat near-integers as integers.
        if abs(exact - exact.rounded()) < 1e-9 * max(1, exact) { rank = exact.rounded() }
        return max(1, min(Int64(rank), count))
    }

    /// The value at `percentile` (0...100): the highest value equivalent to the value of nearest rank, so
    /// it is never below the true value and at most one bucket width above it. `percentile` 0 gives the
    /// lowest equivalent of the minimum. Returns 0 when empty.
    public func value(atPercentile percentile: Double) -> Int64 {
        guard totalCount > 0 else { return 0 }
        if percentile <= 0 { return lowestEquivalentValue(minValue ?? 0) }
        let target = Self.rank(percentile: percentile, count: totalCount)
        // Through a buffer pointer: wide layouts have millions of counts.
        let found: Int? = counts.withUnsafeBufferPointer { counts in
            var running: Int64 = 0
            for index in counts.indices where counts[index] != 0 {
                running += counts[index]
                if running >= target { return index }
            }
            return nil
        }
        guard let found else { return maxValue ?? 0 }
        let value = highestEquivalentValue(value(atIndex: found))
        return min(value, maxValue ?? value)
    }

    /// The mean, computed from bucket midpoints as HdrHistogram does (0 when empty).
    public var mean: Double {
        guard totalCount > 0 else { return 0 }
        var sum = 0.0
        for index in counts.indices where counts[index] != 0 {
            sum += Double(medianEquivalentValue(value(atIndex: index))) * Double(counts[index])
        }
        return sum / Double(totalCount)
    }

    /// The standard deviation from bucket midpoints (0 when empty).
    public var standardDeviation: Double {
        guard totalCount > 0 else { return 0 }
        let mean = self.mean
        var sum = 0.0
        for index in counts.indices where counts[index] != 0 {
            let deviation = Double(medianEquivalentValue(value(atIndex: index))) - mean
            sum += deviation * deviation * Double(counts[index])
        }
        return (sum / Double(totalCount)).squareRoot()
    }
}

/// An invalid histogram layout or serialized form.
public enum HistogramError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The parameters do not describe a valid layout.
    case invalidLayout(String)
    /// The serialized text is not a histogram.
    case invalidSerialization(String)
    /// The bytes are not a histogram in HdrHistogram's V2 encoding we can read (see `init(hdrEncoded:)`).
    case invalidHdrEncoding(HdrDecodingError)

    /// A human-readable message.
    public var description: String {
        switch self {
        case .invalidLayout(let message): return "invalid histogram layout: \(message)"
        case .invalidSerialization(let message): return "invalid serialized histogram: \(message)"
        case .invalidHdrEncoding(let error): return "invalid HdrHistogram encoding: \(error)"
        }
    }
}
