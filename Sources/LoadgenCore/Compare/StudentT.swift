import Foundation

/// Quantiles of Student's t distribution, for the small-sample confidence intervals of `loadgen compare`.
///
/// Computed rather than tabled, because the level depends on how many metrics are judged together (see
/// `Comparison`): the cumulative distribution is the integral of the density (Simpson's rule), inverted by
/// bisection. Accurate to about 1e-4 for every level up to 0.9999 and every number of degrees of freedom.
enum StudentT {
    /// The quantile at `probability` (in (0.5, 1)) for `degrees` of freedom; `nil` below 1 degree or outside
    /// that range. For a two-sided interval of level L, pass `(1 + L) / 2`.
    static func quantile(_ probability: Double, degrees: Int) -> Double? {
        guard degrees >= 1, probability > 0.5, probability < 1 else { return nil }
        // Bisection on t: P(T ≤ t) − ½ rises from 0 at t = 0. For 1 degree of freedom and p = 0.9999 the quantile
        // is about 3,183, so the bracket widens until it holds the target.
        let target = probability - 0.5
        var low = 0.0
        var high = 8.0
        while centralMass(upTo: high, degrees: degrees) < target && high < 1e7 { high *= 4 }
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if centralMass(upTo: middle, degrees: degrees) < target { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// P(0 ≤ T ≤ t) for t ≥ 0, by Simpson's rule over the density. Substituting x = √ν·tan θ keeps the
    /// integrand bounded and smooth over a finite range even for heavy tails: the mass from 0 to t is
    /// c·√ν ∫₀^atan(t/√ν) cos^(ν−1) θ dθ, c the density's constant.
    private static func centralMass(upTo t: Double, degrees: Int) -> Double {
        let nu = Double(degrees)
        let upper = atan(t / nu.squareRoot())
        let steps = 2_000
        let width = upper / Double(steps)
        var sum = 0.0
        for index in 0...steps {
            let weight: Double = index == 0 || index == steps ? 1 : (index % 2 == 1 ? 4 : 2)
            sum += weight * pow(cos(Double(index) * width), nu - 1)
        }
        let integral = sum * width / 3
        // c·√ν = Γ((ν+1)/2) / (√π · Γ(ν/2)).
        let constant = exp(lgamma((nu + 1) / 2) - lgamma(nu / 2)) / Double.pi.squareRoot()
        return constant * integral
    }
}
