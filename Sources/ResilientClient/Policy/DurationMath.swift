/// Integer nanosecond arithmetic on `Duration`, saturating instead of trapping.
extension Duration {
    /// This duration in whole nanoseconds, clamped to `Int64`'s range.
    var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? Int64.min : Int64.max }
        return sum
    }

    /// A duration from a `Double` count of nanoseconds, clamped to `0...Int64.max` nanoseconds.
    static func clampedNanoseconds(_ value: Double) -> Duration {
        if !(value > 0) { return .zero }
        if value >= 9.2e18 { return .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(value))
    }
}

/// A uniform `Double` in `0..<1` from 53 random bits.
func unitInterval(_ rng: inout some RandomNumberGenerator) -> Double {
    Double(rng.next() >> 11) * 0x1p-53
}
