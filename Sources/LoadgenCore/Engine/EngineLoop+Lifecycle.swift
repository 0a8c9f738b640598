import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - End of run

    /// The run was interrupted (loop thread; `settings.stop` is set): the load ends at the cut. Arrivals due by
    /// then that were not dispatched yet, and calls still waiting for their first attempt, are not sent
    /// (`interrupted`); arrivals due after the cut are not part of the run; closed-loop users stop. Calls
    /// already sent drain as at the normal end, within `drainNanoseconds` from the cut.
    func interrupt() {
        guard started, !reported, !interrupted, let cut = settings.stop.at else { return }
        interrupted = true
        loadFinished = true
        if let arrivalTimer { loop.cancel(arrivalTimer) }
        arrivalTimer = nil
        if let loadEndTimer { loop.cancel(loadEndTimer) }
        loadEndTimer = nil
        let step = Int64(settings.loopCount)
        for stream in streams where !stream.warmup {
            var index = stream.next
            while index < stream.schedule.count {
                let due = stream.base &+ UInt64(stream.schedule.intendedTime(of: index))
                if due > cut { break }
                let arrival = stream.schedule.arrivalIndex(of: index)
                result.record(
                    .notSent(
                        index: arrival, intendedStart: Int64(due), reason: .interrupted,
                        requestIndex: settings.requests.requestIndex(at: arrival)))
                index += step
            }
        }
        streams.removeAll()
        for call in newQueue.removeAll() { finishNotSent(call, reason: .interrupted) }
        let deadline = cut &+ settings.drainNanoseconds
        if deadline < drainDeadline, let drainTimer {
            loop.cancel(drainTimer)
            drainDeadline = deadline
            self.drainTimer = loop.schedule(after: Self.delay(until: deadline, now: EventLoop.now())) {
                [self] in expire()
            }
        }
        checkDone()
    }

    /// The drain period is over: queued calls are not sent, calls in backoff end with their last attempt,
    /// attempts in flight fail with `timeout`.
    func expire() {
        drainTimer = nil
        guard !reported else { return }
        expired = true
        loadFinished = true
        if let arrivalTimer { loop.cancel(arrivalTimer) }
        arrivalTimer = nil
        streams.removeAll()
        let now = EventLoop.now()
        for call in retryQueue.removeAll() + newQueue.removeAll() { finishSent(call, now: now) }
        for call in live where call.phase == .backoff { finishSent(call, now: now) }
        // Closing a connection fails its in-flight attempt (reported as a timeout while expired).
        closeConnections()
        for call in live where call.phase == .connecting || call.phase == .inFlight {
            call.task?.cancel()
            call.task = nil
            call.append(.failure(sent: Int64(call.attemptSent), ended: Int64(now), error: .timeout))
            progress.attempts += 1
            finishSent(call, now: now)
        }
        checkDone()
    }

    func closeConnections() {
        for index in slots.indices {
            if let connection = slots[index].connection {
                slots[index].connection = nil
                connection.close()
            }
        }
        proberConnection?.close()
        proberConnection = nil
    }

    func checkDone() {
        guard started, loadFinished, live.isEmpty, !reported else { return }
        reported = true
        for timer in [drainTimer, loadEndTimer, proberTimer, arrivalTimer] {
            if let timer { loop.cancel(timer) }
        }
        drainTimer = nil
        loadEndTimer = nil
        proberTimer = nil
        arrivalTimer = nil
        closeConnections()
        var outcome = result
        outcome.elapsedNanoseconds = lastEnd > measureStart ? Int64(lastEnd - measureStart) : 0
        onDone(LoopOutcome(result: outcome, lastEnd: lastEnd))
    }
}
