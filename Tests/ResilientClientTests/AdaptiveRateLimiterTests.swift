import Foundation
import Testing

@testable import ResilientClient

@Suite struct AdaptiveRateLimiterTests {
    /// Sends at `rate`/s from `start` for `seconds`, recording each answer as a success.
    static func sendSuccesses(
        _ limiter: inout AdaptiveRateLimiter, rate: Int, from start: Duration, seconds: Int
    ) -> Duration {
        var now = start
        let step = Duration.seconds(1) / rate
        for _ in 0..<(rate * seconds) {
            now += step
            limiter.record(throttled: false, now: now)
        }
        return now
    }

    @Test("off until the first throttling answer: every send goes at once")
    func offUntilThrottled() {
        var limiter = AdaptiveRateLimiter(now: .zero)
        let end = Self.sendSuccesses(&limiter, rate: 100, from: .zero, seconds: 3)
        #expect(!limiter.isEnabled)
        for _ in 0..<1_000 { #expect(limiter.reserve(now: end) == .zero) }
    }

    @Test("a throttle cuts the rate to 70% of the measured sending rate, and sends queue behind one another")
    func throttleCutsTheRate() {
        var limiter = AdaptiveRateLimiter(now: .zero)
        let end = Self.sendSuccesses(&limiter, rate: 100, from: .zero, seconds: 5)
        #expect(abs(limiter.measuredRate - 100) < 2, "measured \(limiter.measuredRate)")
        limiter.record(throttled: true, now: end)
        #expect(limiter.isEnabled)
        #expect(abs(limiter.fillRate - 0.7 * limiter.measuredRate) < 1, "fill rate \(limiter.fillRate)")
        // The bucket starts empty: ten sends reserved at one instant wait 1, 2, … 10 intervals of 1/fillRate.
        let interval = 1 / limiter.fillRate
        for index in 1...10 {
            let wait = limiter.reserve(now: end)
            let seconds = Double(wait.components.attoseconds) * 1e-18 + Double(wait.components.seconds)
            #expect(abs(seconds - Double(index) * interval) < 1e-6, "send \(index) waits \(seconds) s")
        }
    }

    @Test("after a throttle the rate climbs back along the cubic: back at the old maximum after K seconds")
    func cubicRecovery() {
        var limiter = AdaptiveRateLimiter(now: .zero)
        var now = Self.sendSuccesses(&limiter, rate: 100, from: .zero, seconds: 5)
        limiter.record(throttled: true, now: now)
        let maximum = limiter.fillRate / 0.7
        // K = cbrt(maximum × (1 − beta) / scale): about 4.2 s for a maximum near 100/s.
        let k = cbrt(maximum * 0.3 / 0.4)
        var rates: [Double] = []
        // Keep sending at 100/s: the measured rate stays near 100, so 2 × measured does not cap the curve.
        for _ in 0..<8 {
            now = Self.sendSuccesses(&limiter, rate: 100, from: now, seconds: 1)
            rates.append(limiter.fillRate)
        }
        // The rate never falls after the throttle, flattens near the old maximum around K, then passes it.
        for (earlier, later) in zip(rates, rates.dropFirst()) { #expect(later >= earlier - 1e-9, "\(rates)") }
        #expect(rates[0] < maximum * 0.9, "\(rates)")
        let nearK = rates[Int(k.rounded()) - 1]
        #expect(abs(nearK - maximum) < 0.1 * maximum, "at ~K=\(k) s: \(nearK) vs \(maximum)")
        #expect(rates[7] > maximum, "\(rates)")
        // Capped at twice the measured sending rate.
        #expect(rates[7] <= 2 * limiter.measuredRate + 1e-9)
    }

    @Test("repeated throttles never take the rate below the floor of 0.5/s")
    func floor() {
        var limiter = AdaptiveRateLimiter(now: .zero)
        var now = Duration.zero
        for _ in 0..<200 {
            now += .milliseconds(300)
            limiter.record(throttled: true, now: now)
        }
        #expect(limiter.fillRate == 0.5)
        // At most one token is banked (capacity 1); past it, each send waits 1 / 0.5 = 2 s more.
        let first = limiter.reserve(now: now)
        let second = limiter.reserve(now: now)
        #expect(first <= .seconds(2))
        #expect(second - first == .seconds(2))
    }

    @Test("against a simulated endpoint that takes 50/s, a client wanting 100/s stops being throttled half the time")
    func convergesBelowTheEndpointsCapacity() {
        // The endpoint admits a call when its own bucket (50/s, burst 5) has a token, and answers 503 otherwise.
        // Without the limiter half of the client's sends are throttled; with it the client learns the rate.
        func run(limited: Bool) -> (throttled: Int, accepted: Int) {
            var limiter = AdaptiveRateLimiter(now: .zero)
            var serverTokens = 5.0
            var serverClock = Duration.zero
            var intended = Duration.zero
            var sendTime = Duration.zero
            var throttled = 0
            var accepted = 0
            for _ in 0..<3_000 {  // 30 s of intended arrivals at 100/s
                intended += .milliseconds(10)
                sendTime = max(sendTime, intended)
                if limited { sendTime += limiter.reserve(now: sendTime) }
                let elapsed = Double((sendTime - serverClock).clampedNanoseconds) * 1e-9
                serverTokens = min(5, serverTokens + elapsed * 50)
                serverClock = sendTime
                let isThrottled = serverTokens < 1
                if !isThrottled { serverTokens -= 1 }
                limiter.record(throttled: isThrottled, now: sendTime)
                if sendTime >= .seconds(10) {  // judge the last 20 s, after the limiter has learnt
                    if isThrottled { throttled += 1 } else { accepted += 1 }
                }
                if sendTime > .seconds(60) { break }
            }
            return (throttled, accepted)
        }
        let plain = run(limited: false)
        let adaptive = run(limited: true)
        #expect(Double(plain.throttled) / Double(plain.throttled + plain.accepted) > 0.4, "\(plain)")
        let fraction = Double(adaptive.throttled) / Double(adaptive.throttled + adaptive.accepted)
        #expect(fraction < 0.15, "throttled \(adaptive)")
        // It does not starve: most of the endpoint's 50/s is still used.
        #expect(adaptive.accepted > plain.accepted * 7 / 10, "accepted \(adaptive.accepted) vs \(plain.accepted)")
    }
}
