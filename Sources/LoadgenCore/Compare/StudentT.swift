/// Quantiles of Student's t distribution, for the small-sample confidence intervals of `loadgen compare`.
enum StudentT {
    /// The 97.5th percentiles for 1...30 degrees of freedom.
    private static let table975: [Double] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]

    /// The 97.5th percentile (the half-width factor of a two-sided 95% interval) for `degrees` of freedom;
    /// `nil` below 1. Beyond 30 the Cornish–Fisher expansion around the normal quantile (error < 0.001).
    static func quantile975(degrees: Int) -> Double? {
        guard degrees >= 1 else { return nil }
        if degrees <= table975.count { return table975[degrees - 1] }
        let z = 1.959964
        let n = Double(degrees)
        let z3 = z * z * z
        let z5 = z3 * z * z
        return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n)
    }
}
