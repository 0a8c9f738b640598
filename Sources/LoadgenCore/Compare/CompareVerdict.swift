/// The verdict on one metric: an improvement, a regression, or no difference beyond noise and tolerance.
public enum CompareVerdict: String, Sendable, Equatable {
    /// Better than the baseline by more than the tolerance, and statistically significant.
    case better
    /// Worse than the baseline by more than the tolerance, and statistically significant.
    case worse
    /// Within the tolerance or within the noise.
    case same = "~"
}
