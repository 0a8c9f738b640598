import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - Open loop

    func fireArrivals() {
        arrivalTimer = nil
        guard !expired else { return }
        let now = EventLoop.now()
        let step = Int64(settings.loopCount)
        while let stream = streams.first {
            guard stream.next < stream.schedule.count else {
                streams.removeFirst()
                continue
            }
            let due = stream.base &+ UInt64(stream.schedule.intendedTime(of: stream.next))
            if due > now {
                arrivalTimer = loop.schedule(after: due - now) { [self] in fireArrivals() }
                return
            }
            // Interrupted: no call starts any more; `interrupt()` (on its way to this loop) accounts for the rest.
            if settings.stop.at != nil { return }
            let index = stream.next
            streams[0].next += step
            dispatch(index: index, intendedStart: due, warmup: stream.warmup, user: -1)
        }
        loadFinished = true
        checkDone()
    }

    // MARK: - Closed loop

    func issueUserCall(_ local: Int) {
        guard !loadFinished, !expired, settings.stop.at == nil, let model = closedModel else { return }
        let now = EventLoop.now()
        guard now < loadEnd else { return }
        let warmup = now < measureStart
        let index: Int64
        if warmup {
            index = model.arrivalIndex(user: users[local], iteration: userWarmupIterations[local])
            userWarmupIterations[local] += 1
        } else {
            index = model.arrivalIndex(user: users[local], iteration: userIterations[local])
            userIterations[local] += 1
        }
        dispatch(index: index, intendedStart: now, warmup: warmup, user: local)
    }

    func userCallEnded(_ local: Int, gateRefused: Bool) {
        guard !loadFinished, !expired, let model = closedModel else { return }
        var pause = UInt64(max(0, model.thinkTime.nanoseconds))
        if gateRefused { pause = max(pause, gateRetryDelay) }
        if pause > 0 || submitting > 0 {
            // A pause, or a call that ended synchronously inside a send: continue from a timer so the loop
            // can run its other work (and a refused target cannot spin the loop).
            loop.schedule(after: pause) { [self] in issueUserCall(local) }
        } else {
            issueUserCall(local)
        }
    }
}
