import Synchronization

/// `run --abort-on-fail`: judges the windowed thresholds during the run, on the time series each progress
/// snapshot carries, and stops the run (as Ctrl-C does, through `RunInterruption`) when a window fails.
///
/// Each report at `elapsed = k` intervals judges, for every windowed threshold, the window of whole intervals
/// that ends at `k` (every window is judged once, when it is complete; a window shorter than its length is
/// never judged during the run). Calls that end later are recorded in the interval they end in, so a window
/// judged during the run can only miss failures still in flight: the early stop never fires on data the final
/// evaluation would not also see.
final class AbortWatcher: Sendable {
    /// Why the run was stopped.
    struct Trip: Sendable, Equatable {
        /// The failed window's outcome.
        var outcome: ThresholdOutcome
        /// When the window ended (from the start of measurement), in seconds.
        var at: Double

        /// `stopped early at 3s by --abort-on-fail: p99[1s] < 100ms failed in the 1s window from 2s (observed 120ms)`.
        var note: String {
            let threshold = outcome.threshold
            let window = threshold.window.map { "\($0)" } ?? ""
            let start = formatNumber(outcome.worstWindowStart ?? 0, digits: 3)
            let observed = outcome.observed.map { threshold.metric.format($0) }
                ?? (threshold.metric.isLatency && threshold.calls == .successful ? "no successful call" : "no data")
            return "stopped early at \(formatNumber(at, digits: 3))s by --abort-on-fail: \(threshold.expression) failed "
                + "in the \(window) window from \(start)s (observed \(observed)); the report covers the time run"
        }
    }

    private let thresholds: [Threshold]
    private let tripped = Mutex<Trip?>(nil)

    /// Watches the windowed ones of `thresholds`.
    init(_ thresholds: [Threshold]) {
        self.thresholds = thresholds.filter { $0.window != nil }
    }

    /// Whether there is any windowed threshold to watch.
    var isEmpty: Bool { thresholds.isEmpty }

    /// Why the run was stopped, if it was.
    var trip: Trip? { tripped.withLock { $0 } }

    /// Judges the windows that end at `snapshot`; returns the trip the first time a window fails.
    func check(_ snapshot: ProgressSnapshot) -> Trip? {
        guard !snapshot.warmingUp, let timeline = snapshot.timeline, tripped.withLock({ $0 == nil }) else { return nil }
        let step = timeline.intervalNanoseconds
        guard snapshot.elapsed.nanoseconds % step == 0 else { return nil }
        let end = Int(snapshot.elapsed.nanoseconds / step)
        for threshold in thresholds {
            guard let outcome = threshold.latestWindow(of: timeline, endingAt: end), !outcome.pass else { continue }
            let trip = Trip(outcome: outcome, at: Double(snapshot.elapsed.nanoseconds) / 1e9)
            let first = tripped.withLock { state -> Bool in
                guard state == nil else { return false }
                state = trip
                return true
            }
            return first ? trip : nil
        }
        return nil
    }
}
