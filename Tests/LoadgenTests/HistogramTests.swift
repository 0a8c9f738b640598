import Testing

@testable import LoadgenCore

@Suite struct HistogramTests {
    static func randomValues(seed: UInt64, count: Int) -> [Int64] {
        var rng = TestRNG(state: seed)
        return (0..<count).map { index in
            // Mix magnitudes: microseconds to tens of seconds.
            switch index % 4 {
            case 0: return rng.int(0...2_000)
            case 1: return rng.int(0...200_000)
            case 2: return rng.int(1_000...5_000_000)
            default: return rng.int(0...60_000_000)
            }
        }
    }

    @Test(arguments: [UInt64(1), 42, 2024])
    func percentilesMatchBruteForce(seed: UInt64) {
        let values = Self.randomValues(seed: seed, count: 5_000)
        var histogram = Histogram.latency()
        for value in values { histogram.record(value) }
        let sorted = values.sorted()
        #expect(histogram.totalCount == Int64(values.count))
        #expect(histogram.minValue == sorted.first)
        #expect(histogram.maxValue == sorted.last)
        for percentile in [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100] {
            let rank = Int(Histogram.rank(percentile: percentile, count: Int64(values.count)))
            let truth = sorted[rank - 1]
            let observed = histogram.value(atPercentile: percentile)
            #expect(observed == min(histogram.highestEquivalentValue(truth), sorted.last ?? 0), "p\(percentile)")
            // Within 0.1% of the true value (3 significant digits).
            #expect(Double(observed - truth) <= Double(truth) / 1000 + 1, "p\(percentile)")
            #expect(observed >= truth)
        }
    }

    @Test func rankIsNearestRank() {
        #expect(Histogram.rank(percentile: 50, count: 10) == 5)
        #expect(Histogram.rank(percentile: 99.9, count: 1000) == 999)
        #expect(Histogram.rank(percentile: 99, count: 1000) == 990)
        #expect(Histogram.rank(percentile: 99.9, count: 10) == 10)
        #expect(Histogram.rank(percentile: 0, count: 10) == 1)
        #expect(Histogram.rank(percentile: 100, count: 7) == 7)
        #expect(Histogram.rank(percentile: 150, count: 7) == 7)
    }

    @Test func layoutMatchesHdrHistogram() throws {
        let histogram = Histogram.latency()
        #expect(histogram.subBucketCount == 2048)
        #expect(histogram.subBucketHalfCount == 1024)
        // 2048 << 21 = 4.29e9 > 3.6e9, so 22 buckets.
        #expect(histogram.bucketCount == 22)
        // Exact below 2048, resolution 2 in [2048, 4096), 1024 from 2^20.
        #expect(histogram.sizeOfEquivalentRange(2047) == 1)
        #expect(histogram.sizeOfEquivalentRange(2048) == 2)
        #expect(histogram.lowestEquivalentValue(2049) == 2048)
        #expect(histogram.highestEquivalentValue(2048) == 2049)
        #expect(histogram.sizeOfEquivalentRange(1 << 20) == 1024)
        #expect(histogram.valuesAreEquivalent(1_000_000, 1_000_100))
        #expect(!histogram.valuesAreEquivalent(1_000, 1_001))
        let coarse = try Histogram(lowestDiscernibleValue: 1000, highestTrackableValue: 1_000_000, significantDigits: 2)
        #expect(coarse.subBucketCount == 256)
        #expect(coarse.sizeOfEquivalentRange(5) == 512)
    }

    @Test func invalidLayoutsAreRejected() {
        #expect(throws: HistogramError.self) { try Histogram(lowestDiscernibleValue: 0, highestTrackableValue: 10) }
        #expect(throws: HistogramError.self) { try Histogram(lowestDiscernibleValue: 10, highestTrackableValue: 15) }
        #expect(throws: HistogramError.self) { try Histogram(highestTrackableValue: 1000, significantDigits: 6) }
        #expect(throws: HistogramError.self) { try Histogram(highestTrackableValue: 1000, significantDigits: 0) }
    }

    @Test func emptyHistogram() {
        let histogram = Histogram.latency()
        #expect(histogram.totalCount == 0)
        #expect(histogram.value(atPercentile: 99) == 0)
        #expect(histogram.mean == 0)
        #expect(histogram.minValue == nil)
        #expect(histogram.percentileDistribution().contains("Total count    =            0"))
    }

    @Test func clampsAndNegatives() throws {
        var histogram = try Histogram(highestTrackableValue: 10_000)
        histogram.record(50_000)
        histogram.record(-5)
        #expect(histogram.clampedCount == 1)
        #expect(histogram.maxValue == 10_000)
        #expect(histogram.minValue == 0)
        #expect(histogram.totalCount == 2)
        histogram.record(7, count: 0)
        #expect(histogram.totalCount == 2)
    }

    @Test func mergeEqualsRecordingAll() {
        let values = Self.randomValues(seed: 7, count: 3_000)
        var all = Histogram.latency()
        var parts = [Histogram.latency(), Histogram.latency(), Histogram.latency()]
        for (index, value) in values.enumerated() {
            all.record(value)
            parts[index % 3].record(value)
        }
        var merged = Histogram.latency()
        for part in parts { merged.merge(part) }
        #expect(merged == all)
        #expect(merged.value(atPercentile: 99.9) == all.value(atPercentile: 99.9))
        // Merging an empty histogram changes nothing.
        merged.merge(Histogram.latency())
        #expect(merged == all)
    }

    @Test func mergeAcrossLayoutsReRecords() throws {
        var coarse = try Histogram(highestTrackableValue: 1_000_000, significantDigits: 2)
        var fine = Histogram.latency()
        fine.record(1_500)
        fine.record(90)
        coarse.merge(fine)
        #expect(coarse.totalCount == 2)
        #expect(coarse.maxValue == 1_500)
        #expect(coarse.minValue == 90)
    }

    @Test func serializationRoundTrips() throws {
        var histogram = Histogram.latency()
        for value in Self.randomValues(seed: 99, count: 2_000) { histogram.record(value) }
        histogram.record(9_000_000_000)  // clamped
        let text = histogram.serialized()
        #expect(text.hasPrefix("{\"unit\":\"us\""))
        let restored = try Histogram(serialized: text)
        #expect(restored == histogram)
        let empty = try Histogram(serialized: Histogram.latency().serialized())
        #expect(empty == Histogram.latency())
    }

    @Test func badSerializationsAreRejected() {
        let cases = [
            "not json",
            "[]",
            "{\"lowest\":1,\"highest\":1000,\"digits\":3}",
            "{\"lowest\":1,\"highest\":1000,\"digits\":3,\"count\":1,\"counts\":[[5,2]],\"min\":5,\"max\":5}",
            "{\"lowest\":1,\"highest\":1000,\"digits\":3,\"count\":1,\"counts\":[[5]],\"min\":5,\"max\":5}",
            "{\"lowest\":1,\"highest\":1000,\"digits\":3,\"count\":1,\"counts\":[[5,1]]}",
            "{\"lowest\":\"1\",\"highest\":1000,\"digits\":3,\"count\":0,\"counts\":[]}",
            "{\"lowest\":1,\"highest\":1000,\"digits\":9,\"count\":0,\"counts\":[]}",
        ]
        for text in cases {
            #expect(throws: HistogramError.self, "\(text)") { try Histogram(serialized: text) }
        }
    }

    @Test func meanAndDeviation() {
        var histogram = Histogram.latency()
        histogram.record(100)
        histogram.record(300)
        #expect(histogram.mean == 200)
        #expect(histogram.standardDeviation == 100)
    }

    @Test func percentileDistributionFormat() {
        var histogram = Histogram.latency()
        for value in 1...1000 { histogram.record(Int64(value) * 1000) }  // 1ms ... 1000ms
        let text = histogram.percentileDistribution()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "       Value     Percentile TotalCount 1/(1-Percentile)")
        #expect(lines[1] == "")
        #expect(lines[2] == "       1.000 0.000000000000          1           1.00")
        #expect(text.contains("     500.223 0.500000000000        500           2.00"))
        #expect(text.contains("    1000.447 1.000000000000       1000\n"))
        #expect(text.contains("#[Mean    =      500.505, StdDeviation   =      288.676]"))
        #expect(text.contains("#[Max     =     1000.447, Total count    =         1000]"))
        #expect(text.contains("#[Buckets =           22, SubBuckets     =         2048]"))
        // Levels: 5 ticks per halving.
        #expect(text.contains(" 0.100000000000 "))
        #expect(text.contains(" 0.550000000000 "))
        #expect(text.contains(" 0.775000000000 "))
    }
}
