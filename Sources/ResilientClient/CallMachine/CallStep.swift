/// What an attempt's end produced: the next action, and the gate's change of state if the outcome caused
/// one (the driver tells observers, wakes calls waiting at the gate, and starts the prober when it closed).
public struct CallStep: Sendable, Equatable {
    /// What to do next.
    public var action: CallAction
    /// The gate's transition, if any.
    public var transition: HealthGate.Transition?

    /// Creates a step.
    public init(action: CallAction, transition: HealthGate.Transition? = nil) {
        self.action = action
        self.transition = transition
    }
}
