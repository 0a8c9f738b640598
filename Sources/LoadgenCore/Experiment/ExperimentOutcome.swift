/// An experiment's measured outcome: each variant's runs and the judged expectation.
public struct ExperimentOutcome: Sendable, Equatable {
    /// The experiment.
    public var experiment: Experiment
    /// One summary per variant, in the experiment's order.
    public var variants: [VariantSummary]
    /// Runs per variant.
    public var runsPerVariant: Int

    /// Creates an outcome.
    public init(experiment: Experiment, variants: [VariantSummary], runsPerVariant: Int) {
        self.experiment = experiment
        self.variants = variants
        self.runsPerVariant = runsPerVariant
    }

    /// The mean of `metric` for the variant named `name` (`nil`: missing, or no such variant).
    public func value(_ metric: ExperimentMetric, _ name: String) -> Double? {
        variants.first(where: { $0.name == name })?.mean(metric)
    }

    /// Each check of the expectation, judged on the means.
    public var checks: [ExpectationCheck.Outcome] {
        experiment.expectation.checks.map { check in check.judge { value($0, $1) } }
    }

    /// Whether the expectation held: every check held (`nil`: the expectation has no checks, or a variant has
    /// no runs because the experiment was interrupted).
    public var held: Bool? {
        let outcomes = checks
        guard !outcomes.isEmpty, variants.allSatisfy({ !$0.runs.isEmpty }) else { return nil }
        return outcomes.allSatisfy(\.held)
    }
}
