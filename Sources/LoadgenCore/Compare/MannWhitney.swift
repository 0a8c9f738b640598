import Foundation

/// The Mann–Whitney U test (Wilcoxon rank-sum) of two independent samples, as benchstat uses it to tell
/// whether two sets of runs differ: no assumption about the distribution, only that the values of one run
/// do not depend on another's.
public enum MannWhitney {
    /// The test's outcome.
    public struct Result: Sendable, Equatable {
        /// U of the first sample: the number of pairs `(x, y)` with `x > y`, ties counting ½
        /// (`R₁ − n₁(n₁+1)/2`, what `scipy.stats.mannwhitneyu(x, y)` reports).
        public var u: Double
        /// The two-sided p-value.
        public var pValue: Double
        /// Whether `pValue` comes from the exact distribution of U (no ties, a sample smaller than 8) rather
        /// than the normal approximation (tie-corrected, with continuity correction).
        public var exact: Bool
    }

    /// Tests `x` against `y` (two-sided). The p-value is exact when there are no ties and either sample has
    /// fewer than 8 values, otherwise from the normal approximation with tie and continuity corrections
    /// (`scipy.stats.mannwhitneyu(x, y, method="auto")`). Empty samples give U = 0 and p = 1.
    public static func test(_ x: [Double], _ y: [Double]) -> Result {
        let n1 = x.count
        let n2 = y.count
        guard n1 > 0, n2 > 0 else { return Result(u: 0, pValue: 1, exact: true) }
        // Mid-ranks of the pooled values.
        let pooled = (x.map { ($0, true) } + y.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var rankSumX = 0.0
        var tieTerm = 0.0
        var start = 0
        while start < pooled.count {
            var end = start
            while end + 1 < pooled.count, pooled[end + 1].0 == pooled[start].0 { end += 1 }
            let rank = Double(start + end + 2) / 2
            for index in start...end where pooled[index].1 { rankSumX += rank }
            let tied = Double(end - start + 1)
            tieTerm += tied * tied * tied - tied
            start = end + 1
        }
        let u1 = rankSumX - Double(n1 * (n1 + 1)) / 2
        let u2 = Double(n1 * n2) - u1
        let larger = Swift.max(u1, u2)
        if tieTerm == 0, Swift.min(n1, n2) < 8 {
            let tail = exactUpperTail(Int(larger.rounded()), n1, n2)
            return Result(u: u1, pValue: Swift.min(1, 2 * tail), exact: true)
        }
        let n = Double(n1 + n2)
        let mean = Double(n1 * n2) / 2
        let variance = Double(n1 * n2) / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        guard variance > 0 else { return Result(u: u1, pValue: 1, exact: false) }
        let z = (larger - mean - 0.5) / variance.squareRoot()
        let p = erfc(z / 2.0.squareRoot())  // 2 × P(Z > z)
        return Result(u: u1, pValue: Swift.min(1, Swift.max(0, p)), exact: false)
    }

    /// P(U ≥ u) for samples of sizes `n1` and `n2` without ties: the share of the C(n1+n2, n1) orderings whose
    /// U is at least `u`, counted with the recurrence f(m, n, u) = f(m−1, n, u−n) + f(m, n−1, u).
    static func exactUpperTail(_ u: Int, _ n1: Int, _ n2: Int) -> Double {
        let maxU = n1 * n2
        guard u > 0 else { return 1 }
        guard u <= maxU else { return 0 }
        // counts[m][n] is the distribution of U for sizes m and n; built up to (n1, n2).
        var table = [[[Double]]](repeating: [[Double]](repeating: [], count: n2 + 1), count: n1 + 1)
        for m in 0...n1 {
            for n in 0...n2 {
                if m == 0 || n == 0 {
                    table[m][n] = [1]
                    continue
                }
                var distribution = [Double](repeating: 0, count: m * n + 1)
                // The largest value is an x (it beats all n y's) or a y.
                for (value, count) in table[m - 1][n].enumerated() { distribution[value + n] += count }
                for (value, count) in table[m][n - 1].enumerated() { distribution[value] += count }
                table[m][n] = distribution
            }
        }
        let distribution = table[n1][n2]
        let total = distribution.reduce(0, +)
        let upper = distribution[u...].reduce(0, +)
        return upper / total
    }
}
