/// One named variant of an experiment: the base scenario with the variant's overrides applied.
public struct ExperimentVariant: Sendable, Equatable {
    /// The variant's name (unique within the experiment; the row of the table and the `name` in `--json`).
    public var name: String
    /// What the variant changes, in words (optional).
    public var description: String
    /// The complete scenario this variant runs.
    public var scenario: Scenario

    /// Creates a variant.
    public init(name: String, description: String = "", scenario: Scenario) {
        self.name = name
        self.description = description
        self.scenario = scenario
    }
}
