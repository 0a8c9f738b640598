/// The disturbance of an experiment (a load spike, an outage), in time since the measured load started.
/// The time to recover is counted from its end; attempts during it are reported apart.
public struct ExperimentTrigger: Sendable, Equatable {
    /// When the disturbance starts.
    public var start: DurationValue
    /// How long it lasts.
    public var duration: DurationValue

    /// Creates a trigger.
    public init(start: DurationValue, duration: DurationValue) {
        self.start = start
        self.duration = duration
    }

    /// When the disturbance ends.
    public var end: DurationValue { DurationValue(nanoseconds: start.nanoseconds + duration.nanoseconds) }
}
