import EndpointSpec

extension Histogram {
    /// The percentile distribution in HdrHistogram's `outputPercentileDistribution` format: columns
    /// `Value`, `Percentile`, `TotalCount`, `1/(1-Percentile)`, reporting `ticksPerHalfDistance` steps per
    /// halving of the distance to 100%, then the mean, standard deviation, max, count and layout lines.
    /// Values are divided by `valueScale` (1000 prints microsecond recordings as milliseconds).
    public func percentileDistribution(ticksPerHalfDistance: Int = 5, valueScale: Double = 1000) -> String {
        let digits = significantDigits
        var text = pad("Value", 12) + " " + pad("Percentile", 14) + " " + pad("TotalCount", 10) + " "
            + pad("1/(1-Percentile)", 14) + "\n\n"
        func line(_ value: Int64, _ level: Double, _ cumulative: Int64) {
            text += pad(fixed(Double(value) / valueScale, digits: digits), 12) + " "
            text += pad(fixed(level / 100, digits: 12), 2) + " " + pad(String(cumulative), 10)
            if level != 100 {
                text += " " + pad(fixed(1 / (1 - level / 100), digits: 2), 14)
            }
            text += "\n"
        }
        if totalCount > 0 {
            var level = 0.0
            var cumulative: Int64 = 0
            var lastIndex = 0
            outer: for index in counts.indices where counts[index] != 0 {
                cumulative += counts[index]
                lastIndex = index
                while 100 * Double(cumulative) / Double(totalCount) >= level {
                    line(highestEquivalentValue(value(atIndex: index)), level, cumulative)
                    let halvings = Int((100 / (100 - level)).log2Floor) + 1
                    let ticks = Double(ticksPerHalfDistance) * Double(1 << min(halvings, 62))
                    level += 100 / ticks
                    if cumulative == totalCount { break outer }
                }
            }
            line(highestEquivalentValue(value(atIndex: lastIndex)), 100, totalCount)
        }
        let mean = fixed(self.mean / valueScale, digits: digits)
        let deviation = fixed(standardDeviation / valueScale, digits: digits)
        let maximum = fixed(Double(highestEquivalentValue(maxValue ?? 0)) / valueScale, digits: digits)
        text += "#[Mean    = \(pad(mean, 12)), StdDeviation   = \(pad(deviation, 12))]\n"
        text += "#[Max     = \(pad(maximum, 12)), Total count    = \(pad(String(totalCount), 12))]\n"
        text += "#[Buckets = \(pad(String(bucketCount), 12)), SubBuckets     = \(pad(String(subBucketCount), 12))]\n"
        return text
    }

    /// Compact, lossless serialization for merging shards later:
    /// `{"unit":"us","lowest":1,"highest":3600000000,"digits":3,"count":N,"clamped":0,"min":..,"max":..,
    /// "counts":[[value,count],...]}` where each `value` is the lowest value of a non-zero count.
    public func serialized() -> String { LoadgenJSON.serialize(jsonValue) }

    var jsonValue: JSONValue {
        var object = JSONObject()
        object["unit"] = .string("us")
        object["lowest"] = .int(Int(lowestDiscernibleValue))
        object["highest"] = .int(Int(highestTrackableValue))
        object["digits"] = .int(significantDigits)
        object["count"] = .int(Int(totalCount))
        object["clamped"] = .int(Int(clampedCount))
        object["min"] = minValue.map { .int(Int($0)) } ?? .null
        object["max"] = maxValue.map { .int(Int($0)) } ?? .null
        object["counts"] = .array(nonZeroCounts().map { .array([.int(Int($0.value)), .int(Int($0.count))]) })
        return .object(object)
    }

    /// Restores a histogram from `serialized()` output; the result equals the original.
    public init(serialized text: String) throws(HistogramError) {
        let value: JSONValue
        do {
            value = try LoadgenJSON.parse(text)
        } catch {
            throw .invalidSerialization(error.description)
        }
        try self.init(json: value)
    }

    init(json value: JSONValue) throws(HistogramError) {
        guard case .object(let object) = value else { throw .invalidSerialization("expected an object") }
        func integer(_ key: String) throws(HistogramError) -> Int64? {
            switch object[key] {
            case .none, .null?: return nil
            case .number(let literal)?:
                guard let number = Int64(literal) else {
                    throw .invalidSerialization("\(key) must be an integer, got \(literal)")
                }
                return number
            case let other?: throw .invalidSerialization("\(key) must be an integer, got \(other.errorDescription)")
            }
        }
        guard let lowest = try integer("lowest"), let highest = try integer("highest"),
            let digits = try integer("digits"), let count = try integer("count")
        else { throw .invalidSerialization("missing lowest, highest, digits or count") }
        try self.init(lowestDiscernibleValue: lowest, highestTrackableValue: highest, significantDigits: Int(digits))
        guard case .array(let pairs)? = object["counts"] else { throw .invalidSerialization("missing counts") }
        for pair in pairs {
            guard case .array(let items) = pair, items.count == 2, case .number(let v) = items[0],
                case .number(let c) = items[1], let value = Int64(v), let number = Int64(c), value >= 0,
                value <= highest, number > 0
            else { throw .invalidSerialization("counts entries must be [value, count] with count > 0") }
            counts[countsIndex(of: value)] += number
            totalCount += number
        }
        guard totalCount == count else {
            throw .invalidSerialization("count is \(count) but the counts add up to \(totalCount)")
        }
        clampedCount = try integer("clamped") ?? 0
        minValue = try integer("min")
        maxValue = try integer("max")
        if totalCount > 0, minValue == nil || maxValue == nil {
            throw .invalidSerialization("min and max are required when count > 0")
        }
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

extension Double {
    /// `floor(log2(self))` for positive finite values.
    fileprivate var log2Floor: Double {
        guard self.isFinite, self >= 1 else { return 0 }
        return Double(Int(self.exponent))
    }
}
