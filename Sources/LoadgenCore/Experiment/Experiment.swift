/// An experiment (`loadgen experiment FILE.json`): one base scenario run once per named variant, each against a
/// fresh embedded endpoint, with the metrics of `VariantMetrics` and an expectation judged on them. See
/// docs/experiments.md for the file format.
public struct Experiment: Sendable, Equatable {
    /// The experiment's name (default: the file name without extension).
    public var name: String
    /// Why the experiment's numbers produce its effect (the file's `description`).
    public var description: String
    /// The variants in file order, each a complete scenario (the base with the variant's overrides).
    public var variants: [ExperimentVariant]
    /// The disturbance whose end starts the recovery clock (`nil`: recovery is not measured).
    public var trigger: ExperimentTrigger?
    /// A call counts towards goodput only when it succeeded within this time from its intended start
    /// (`nil`: every successful call counts).
    public var deadline: DurationValue?
    /// What the experiment should show, judged after the run.
    public var expectation: Expectation

    /// Creates an experiment.
    public init(
        name: String, description: String = "", variants: [ExperimentVariant], trigger: ExperimentTrigger? = nil,
        deadline: DurationValue? = nil, expectation: Expectation = Expectation()
    ) {
        self.name = name
        self.description = description
        self.variants = variants
        self.trigger = trigger
        self.deadline = deadline
        self.expectation = expectation
    }

    /// Whether the table shows the makespan instead of the time to recover: experiments without a trigger
    /// (a population of calls that all start together) are judged by when the last call ended.
    public var reportsMakespan: Bool { trigger == nil }
}
