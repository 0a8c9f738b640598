/// The one way durations are written, on every command line and in every scenario file: a number and a unit,
/// `250ns`, `100us` (or `µs`), `500ms`, `10s`, `1.5s`, `2m`, `1h`, or compound forms like `1m30s`.
///
/// LoadgenCore's `DurationValue` parses with this, and so do the endpoint's `--timeout` and `--delay`, so a
/// duration that a scenario accepts is accepted on the command line too.
public enum DurationText {
    /// Units by suffix.
    private static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    /// The nanoseconds `text` denotes, or `nil` for anything else: bare numbers, negative values, unknown units
    /// and values longer than about 292 years.
    public static func nanoseconds(parsing text: String) -> Int64? {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        var rest = Substring(text)
        while let first = rest.first, isSpace(first) { rest = rest.dropFirst() }
        while let last = rest.last, isSpace(last) { rest = rest.dropLast() }
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
            guard numberEnd != rest.startIndex, let number = Double(rest[..<numberEnd]) else { return nil }
            rest = rest[numberEnd...]
            let unitEnd = rest.firstIndex { $0.isASCII && ($0.isNumber || $0 == ".") } ?? rest.endIndex
            var unit = rest[..<unitEnd]
            while let first = unit.first, isSpace(first) { unit = unit.dropFirst() }
            while let last = unit.last, isSpace(last) { unit = unit.dropLast() }
            guard let scale = units.first(where: { $0.0 == unit })?.1 else { return nil }
            total += number * scale
            rest = rest[unitEnd...]
        }
        guard total.isFinite, total < 9.2e18 else { return nil }
        return Int64(total.rounded())
    }
}

/// The unit a bare number means for a duration option that predates units (`--timeout 60` is seconds,
/// `--delay 10` milliseconds), kept so that existing command lines still work.
public enum BareDurationUnit: Sendable, Equatable {
    /// A bare number is seconds.
    case seconds
    /// A bare number is milliseconds.
    case milliseconds

    /// Nanoseconds per unit.
    var scale: Double {
        switch self {
        case .seconds: return 1e9
        case .milliseconds: return 1e6
        }
    }

    /// `"seconds"` or `"milliseconds"`.
    var name: String {
        switch self {
        case .seconds: return "seconds"
        case .milliseconds: return "milliseconds"
        }
    }
}

extension ParsedArguments {
    /// A duration option: `10ms`, `1.5s`, `1m30s` (``DurationText``), or a bare number in `bareUnit`.
    /// Returns nanoseconds; `positive` rejects zero; `maximum` bounds the value (in nanoseconds).
    public func duration(
        _ name: String, bareUnit: BareDurationUnit, positive: Bool = false, maximum: Int64? = nil
    ) throws(CommandLineError) -> Int64? {
        var expected = positive ? "a duration greater than 0" : "a duration"
        expected += " like 10ms or 5s (a bare number is \(bareUnit.name))"
        return try value(name, expected: expected) { raw in
            var nanos = DurationText.nanoseconds(parsing: raw)
            if nanos == nil, let number = Double(raw), number.isFinite, number >= 0, number * bareUnit.scale < 9.2e18 {
                nanos = Int64((number * bareUnit.scale).rounded())
            }
            guard let nanos else { return nil }
            if positive, nanos <= 0 { return nil }
            if let maximum, nanos > maximum { return nil }
            return nanos
        }
    }
}
