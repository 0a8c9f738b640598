import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - Open loop

    /// Arrivals one firing starts before the loop serves its sockets again (a rate the loop cannot keep up
    /// with must not starve the answers, which would then time out and be blamed on the target).
    static let arrivalsPerFiring = 128
    /// How late an arrival may still be started. Later ones are not sent (`generator_behind`): the generator,
    /// not the target, could not keep up.
    static let generatorLagLimit: UInt64 = 100_000_000

    func fireArrivals() {
        arrivalTimer = nil
        guard !expired else { return }
        let now = EventLoop.now()
        let step = Int64(settings.loopCount)
        var startedNow = 0
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
            if now - due > Self.generatorLagLimit {
                skipArrivalsBehind(now: now)
                continue
            }
            if startedNow == Self.arrivalsPerFiring {
                arrivalTimer = loop.schedule(after: 0) { [self] in fireArrivals() }
                return
            }
            startedNow += 1
            if !stream.warmup { result.generatorLagMaxNanoseconds = max(result.generatorLagMaxNanoseconds, Int64(now - due)) }
            let index = stream.next
            streams[0].next += step
            dispatch(
                index: stream.schedule.arrivalIndex(of: index), intendedStart: due, warmup: stream.warmup, user: -1)
        }
        loadFinished = true
        checkDone()
    }

    /// Skips the first stream's arrivals due more than `generatorLagLimit` before `now`, counting them as not
    /// sent (`generator_behind`) in bulk, in constant time however many they are (shared among the requests by
    /// weight, not generated one by one: a generator that cannot keep up must not spend more time per arrival
    /// to skip it).
    private func skipArrivalsBehind(now: UInt64) {
        let stream = streams[0]
        let step = Int64(settings.loopCount)
        let cutoff = Int64(clamping: now - Self.generatorLagLimit) - Int64(clamping: stream.base)
        let firstOnTime = min(stream.schedule.count, Int64(stream.schedule.expectedArrivals(at: cutoff).rounded(.up)))
        // This loop's arrivals from `next` up to its first at or after `firstOnTime` (at least one).
        let skipped = max(1, (firstOnTime - stream.next + step - 1) / step)
        let due = Int64(clamping: stream.base &+ UInt64(stream.schedule.intendedTime(of: stream.next)))
        if stream.warmup {
            result.warmupCalls += skipped
        } else {
            for (request, count) in settings.requests.generator.share(skipped).enumerated() {
                result.recordNotSent(count, reason: .generatorBehind, intendedStart: due, requestIndex: request)
            }
        }
        progress.offered += skipped
        streams[0].next += skipped * step
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
