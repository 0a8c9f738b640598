import Foundation

/// How a shard joins its run's common start `T0` (pure decisions, with the clock passed in).
///
/// The shard prepares (reads the scenario, starts an embedded target), waits until `lead` seconds before the
/// start of its warmup (or of the load), then hands the plan to the engine, which opens its connections and
/// starts the measured load at `T0` exactly (`RunPlan.startAt`). A shard that is ready later than `T0`
/// never shifts its schedule: the arrivals due before it was ready are not sent at all and are counted as not
/// sent with reason `late_start` (`lateStartRecords`); a closed loop's users start at once, and its
/// load still ends at `T0` plus the duration. A warmup that can no longer finish before `T0` is skipped.
public struct ShardStart: Sendable, Equatable {
    /// The run's common start.
    public let startAt: StartTime

    /// Seconds before the start (of the warmup, if any) at which the engine takes over, to open connections.
    public static let lead = 1.0
    /// Seconds the engine is given to open its connections once the shard is ready: the late-start cut is
    /// this long after the moment the shard found itself late.
    public static let allowance = 0.05

    /// Creates the start of a shard.
    public init(startAt: StartTime) { self.startAt = startAt }

    /// Seconds to wait at `now` (seconds since 1970) before handing `plan` to the engine (0: go now).
    public func waitSeconds(now: Double, plan: RunPlan) -> Double {
        let warmup = plan.warmup == nil ? 0 : plan.scenario.warmup.seconds
        return max(0, startAt.seconds - warmup - Self.lead - now)
    }

    /// What the shard runs when it is ready at `now` (seconds since 1970): `plan` started at `T0`, without the
    /// warmup if it can no longer finish by then, and without the open-loop arrivals due before
    /// `now + allowance` if that is after `T0`. `lateBy` is how far after `T0` the cut fell (0: on time).
    public func plan(_ plan: RunPlan, readyAt now: Double) -> (plan: RunPlan, lateBy: Double, warmupSkipped: Bool) {
        var plan = plan
        plan.startAt = startAt.seconds
        let ready = now + Self.allowance
        var warmupSkipped = false
        if plan.warmup != nil, ready > startAt.seconds - plan.scenario.warmup.seconds {
            plan.warmup = nil
            warmupSkipped = true
        }
        let lateBy = max(0, ready - startAt.seconds)
        if lateBy > 0, case .open(let schedule) = plan.load {
            plan.load = .open(schedule.skippingFirst(schedule.arrivals(before: Int64((lateBy * 1e9).rounded(.up)))))
        }
        return (plan, lateBy, warmupSkipped)
    }

    /// The calls a late shard did not send (`plan.load`'s skipped arrivals) as not sent, `late_start`, each
    /// at its intended time after `origin` (the measurement's start on the run's monotonic clock).
    public static func lateStartRecords(_ plan: RunPlan, origin: Int64) -> [CallRecord] {
        guard case .open(let schedule) = plan.load else { return [] }
        return schedule.skippedArrivals.map { arrival in
            .notSent(
                index: arrival.index, intendedStart: origin + arrival.time, reason: .lateStart,
                requestIndex: plan.requests.requestIndex(at: arrival.index))
        }
    }

    /// Sleeps `seconds`, waking early when `interruption` fires (checked every 100 ms).
    public static func sleep(_ seconds: Double, interruption: RunInterruption) async {
        let deadline = Date().timeIntervalSince1970 + seconds
        while !interruption.isInterrupted {
            let remaining = deadline - Date().timeIntervalSince1970
            if remaining <= 0 { return }
            try? await Task.sleep(nanoseconds: UInt64(min(remaining, 0.1) * 1e9))
        }
    }
}
