import Foundation
import Testing

@testable import LoadgenCore
@testable import ResilientClient

/// `client.adaptiveRateLimit` in scenarios.
@Suite struct AdaptiveRateLimitScenarioTests {
    static func variant(_ replacement: String) -> String {
        ScenarioTests.quickstart.replacingOccurrences(of: "\"healthGate\": true", with: replacement)
    }

    @Test func offByDefaultOnWithTrueAndTheConstantsCanBeChanged() throws {
        #expect(try ScenarioTests.decode(ScenarioTests.quickstart).client.adaptiveRateLimit == nil)
        #expect(try ScenarioTests.decode(Self.variant("\"adaptiveRateLimit\": false")).client.adaptiveRateLimit == nil)
        let on = try ScenarioTests.decode(Self.variant("\"adaptiveRateLimit\": true"))
        #expect(on.client.adaptiveRateLimit == AdaptiveRateLimiter.Configuration())
        let tuned = try ScenarioTests.decode(Self.variant("\"adaptiveRateLimit\": {\"beta\": 0.5, \"minimumRate\": 20}"))
        #expect(tuned.client.adaptiveRateLimit == AdaptiveRateLimiter.Configuration(beta: 0.5, minimumRate: 20))
        let all = try ScenarioTests.decode(
            Self.variant("\"adaptiveRateLimit\": {\"beta\": 0.6, \"scale\": 0.5, \"smoothing\": 0.9, \"minimumRate\": 1}"))
        #expect(all.client.adaptiveRateLimit
            == AdaptiveRateLimiter.Configuration(beta: 0.6, scale: 0.5, smoothing: 0.9, minimumRate: 1))
    }

    @Test func theEngineGetsTheConstants() throws {
        var client = ClientSpec()
        #expect(EnginePolicy(client, loops: 2).adaptiveRateLimit == nil)
        client.adaptiveRateLimit = AdaptiveRateLimiter.Configuration(minimumRate: 3)
        #expect(EnginePolicy(client, loops: 2).adaptiveRateLimit == AdaptiveRateLimiter.Configuration(minimumRate: 3))
    }

    @Test func badSettingsAreAClearError() {
        let cases: [(String, String)] = [
            ("\"adaptiveRateLimit\": \"yes\"", "client.adaptiveRateLimit: expected true, false or an object, got \"yes\""),
            ("\"adaptiveRateLimit\": {\"beta\": 1.5}",
                "client.adaptiveRateLimit.beta: expected a number from 0.01 to 1 (the share of the rate kept after a throttle), got 1.5"),
            ("\"adaptiveRateLimit\": {\"beta\": 0}",
                "client.adaptiveRateLimit.beta: expected a number from 0.01 to 1"),
            ("\"adaptiveRateLimit\": {\"scale\": -1}", "client.adaptiveRateLimit.scale: expected a number >= 0.001"),
            ("\"adaptiveRateLimit\": {\"smoothing\": 2}", "client.adaptiveRateLimit.smoothing: expected a number from 0.01 to 1"),
            ("\"adaptiveRateLimit\": {\"minimumRate\": 0}",
                "client.adaptiveRateLimit.minimumRate: expected a number >= 0.01 (the lowest rate, in sends per second)"),
            ("\"adaptiveRateLimit\": {\"minimumRate\": \"fast\"}", "client.adaptiveRateLimit.minimumRate: expected a number"),
            ("\"adaptiveRateLimit\": {\"bta\": 0.5}", "client.adaptiveRateLimit.bta: unknown field; did you mean \"beta\"?"),
            ("\"adaptiveRateLimits\": true", "client.adaptiveRateLimits: unknown field; did you mean \"adaptiveRateLimit\"?"),
        ]
        for (replacement, expected) in cases {
            let message = ScenarioTests.error(Self.variant(replacement))
            #expect(message.hasPrefix(expected), "\(replacement): \(message)")
        }
    }
}
