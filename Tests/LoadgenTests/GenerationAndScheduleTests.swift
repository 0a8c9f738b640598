import EndpointSpec
import Testing

@testable import LoadgenCore

@Suite struct RequestGeneratorTests {
    static func template(_ json: String) throws -> ValueTemplate {
        try ValueTemplate.compile(LoadgenJSON.parse(json), path: "body")
    }

    static let mix: [RequestSpec] = [
        RequestSpec(route: "/a", body: try? template(#"{"x": {"$int": [1, 1000000]}, "k": {"$choice": ["a", "b", {"$seq": 5}]}}"#), weight: 3),
        RequestSpec(route: "/b", method: "GET", weight: 1),
    ]

    @Test func deterministicPerIndexWhateverTheOrder() {
        let generator = RequestGenerator(requests: Self.mix, seed: 7)
        let forward = (0..<500).map { generator.request(at: Int64($0)) }
        let backward = (0..<500).reversed().map { generator.request(at: Int64($0)) }.reversed()
        #expect(forward == Array(backward))
        // A second generator (another shard or thread) agrees.
        let other = RequestGenerator(requests: Self.mix, seed: 7)
        #expect(other.request(at: 123) == forward[123])
        #expect(other.requestIndex(at: 321) == forward[321].requestIndex)
        // Another seed differs somewhere.
        let reseeded = RequestGenerator(requests: Self.mix, seed: 8)
        #expect((0..<500).contains { reseeded.request(at: Int64($0)) != forward[$0] })
    }

    @Test func weightsAreRespected() {
        let generator = RequestGenerator(requests: Self.mix, seed: 1)
        let picks = (0..<20_000).map { generator.requestIndex(at: Int64($0)) }
        let share = Double(picks.filter { $0 == 0 }.count) / Double(picks.count)
        #expect(abs(share - 0.75) < 0.02)
        let single = RequestGenerator(requests: [RequestSpec(route: "/only")], seed: 1)
        #expect((0..<100).allSatisfy { single.requestIndex(at: Int64($0)) == 0 })
    }

    @Test func requestShape() throws {
        let generator = RequestGenerator(
            requests: Self.mix, headers: [HTTPHeaderField(name: "X-Run", value: "1")], seed: 3, basePath: "/v1")
        let requests = (0..<50).map { generator.request(at: Int64($0)) }
        let post = try #require(requests.first { $0.requestIndex == 0 })
        #expect(post.method == "POST")
        #expect(post.path == "/v1/a")
        #expect(post.headers == [HTTPHeaderField(name: "X-Run", value: "1"), HTTPHeaderField(name: "Content-Type", value: "application/json")])
        let get = try #require(requests.first { $0.requestIndex == 1 })
        #expect(get.method == "GET")
        #expect(get.body == nil)
        #expect(get.headers == [HTTPHeaderField(name: "X-Run", value: "1")])
        // Bodies are compact JSON with generated values in range.
        for request in requests where request.requestIndex == 0 {
            let body = try LoadgenJSON.parse(try #require(request.body))
            guard case .object(let object) = body, case .number(let x)? = object["x"], let value = Int(x) else {
                Issue.record("unexpected body \(body)")
                continue
            }
            #expect((1...1_000_000).contains(value))
            #expect(object.pairs.map(\.key) == ["x", "k"])
        }
        // A request header overrides a scenario header of the same name, case-insensitively.
        let overriding = RequestGenerator(
            requests: [RequestSpec(route: "/", headers: [HTTPHeaderField(name: "x-run", value: "2"),
                HTTPHeaderField(name: "content-type", value: "text/plain")], body: .literal(.string("s")))],
            headers: [HTTPHeaderField(name: "X-Run", value: "1")], seed: 1)
        #expect(overriding.request(at: 0).headers == [HTTPHeaderField(name: "x-run", value: "2"),
            HTTPHeaderField(name: "content-type", value: "text/plain")])
        #expect(overriding.request(at: 0).body == Array("\"s\"".utf8))
    }

    @Test func generators() throws {
        var rng = SplitMix64(seed: 1, index: 0)
        #expect(try Self.template(#"{"$seq": true}"#).render(index: 41, rng: &rng) == .number("41"))
        #expect(try Self.template(#"{"$seq": 100}"#).render(index: 41, rng: &rng) == .number("141"))
        #expect(try Self.template(#"{"$seq": {"start": 10, "step": -2}}"#).render(index: 3, rng: &rng) == .number("4"))
        #expect(try Self.template(#"{"$concat": ["user-", {"$seq": 1}, "-", true]}"#).render(index: 4, rng: &rng) == .string("user-5-true"))
        #expect(try Self.template(#"{"$literal": {"$int": [1, 2]}}"#).render(index: 0, rng: &rng)
            == .object(JSONObject([.init(key: "$int", value: .array([.number("1"), .number("2")]))])))
        #expect(try Self.template(#"{"$int": [5, 5]}"#).render(index: 0, rng: &rng) == .number("5"))
        #expect(try Self.template(#"[1, {"a": 2}, "x"]"#) == .literal(try LoadgenJSON.parse(#"[1, {"a": 2}, "x"]"#)))
        let floats = try Self.template(#"{"$float": [0.5, 1.5]}"#)
        for index in 0..<200 {
            var local = SplitMix64(seed: 9, index: UInt64(index))
            guard case .number(let text) = floats.render(index: Int64(index), rng: &local), let value = Double(text) else {
                Issue.record("not a number")
                continue
            }
            #expect(value >= 0.5 && value <= 1.5)
            #expect(text.contains("."))
        }
        let choice = try Self.template(#"{"$choice": ["a", "b", "c"]}"#)
        var seen: Set<JSONValue> = []
        for index in 0..<200 {
            var local = SplitMix64(seed: 9, index: UInt64(index))
            seen.insert(choice.render(index: Int64(index), rng: &local))
        }
        #expect(seen == [.string("a"), .string("b"), .string("c")])
        let ints = try Self.template(#"{"$int": [-3, 3]}"#)
        var values: Set<JSONValue> = []
        for index in 0..<500 {
            var local = SplitMix64(seed: 2, index: UInt64(index))
            values.insert(ints.render(index: Int64(index), rng: &local))
        }
        #expect(values == Set((-3...3).map { JSONValue.number(String($0)) }))
    }

    @Test func splitMixIsTheReferenceSequence() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
        var full = SplitMix64(seed: 1)
        _ = full.nextInt(Int64.min, Int64.max)
        #expect(SplitMix64(seed: 5, index: 6) == SplitMix64(seed: 5, index: 6))
        #expect(SplitMix64(seed: 5, index: 6) != SplitMix64(seed: 5, index: 7))
    }
}

@Suite struct ArrivalScheduleTests {
    @Test func constantRate() {
        let schedule = ArrivalSchedule.constant(rate: 200, duration: .seconds(10))
        #expect(schedule.count == 2000)
        #expect(schedule.intendedTime(of: 0) == 0)
        #expect(schedule.intendedTime(of: 1) == 5_000_000)
        #expect(schedule.intendedTime(of: 1999) == 9_995_000_000)
        #expect(schedule.length == 10_000_000_000)
        #expect(ArrivalSchedule.constant(rate: 3, duration: .milliseconds(500)).count == 2)  // at 0 and 333ms
        #expect(ArrivalSchedule.constant(rate: 0.5, duration: .seconds(1)).count == 1)
        #expect(ArrivalSchedule.constant(rate: 0, duration: .seconds(1)).count == 0)
        #expect(ArrivalSchedule(startRate: 0, stages: []).count == 0)
        #expect(ArrivalSchedule(startRate: 0, stages: []).intendedTime(of: 0) == 0)
        #expect(ArrivalSchedule(load: .closed(users: 1, duration: .seconds(1), thinkTime: .seconds(0))) == nil)
    }

    @Test func rampIntegratesExactly() {
        // 0 → 100/s over 10s: Λ(t) = 5 t², 500 arrivals; arrival i at sqrt(i / 5).
        let schedule = ArrivalSchedule(startRate: 0, stages: [RampStage(target: 100, duration: .seconds(10))])
        #expect(schedule.count == 500)
        for index in [0, 1, 5, 20, 245, 499] {
            let expected = (Double(index) / 5).squareRoot() * 1e9
            #expect(abs(Double(schedule.intendedTime(of: Int64(index))) - expected) <= 1, "arrival \(index)")
        }
        #expect(abs(schedule.expectedArrivals(at: 4_000_000_000) - 80) < 1e-9)
        #expect(schedule.rate(at: 5_000_000_000) == 50)
        #expect(schedule.rate(at: 20_000_000_000) == 0)
    }

    @Test func multiStageRampWithDescentAndHold() {
        let schedule = ArrivalSchedule(startRate: 10, stages: [
            RampStage(target: 10, duration: .seconds(2)),  // 20 arrivals
            RampStage(target: 30, duration: .seconds(2)),  // 40
            RampStage(target: 0, duration: .seconds(2)),  // 30
            RampStage(target: 0, duration: .seconds(5)),  // 0
        ])
        #expect(schedule.count == 90)
        #expect(schedule.length == 11_000_000_000)
        // Due times increase strictly and agree with Λ.
        var previous: Int64 = -1
        for index in 0..<schedule.count {
            let time = schedule.intendedTime(of: index)
            #expect(time > previous)
            #expect(abs(schedule.expectedArrivals(at: time) - Double(index)) < 1e-6, "arrival \(index)")
            previous = time
        }
        #expect(schedule.intendedTime(of: 20) == 2_000_000_000)
        #expect(schedule.intendedTime(of: 60) == 4_000_000_000)
        // The last arrivals are squeezed into the descent, none in the zero hold.
        #expect(schedule.intendedTime(of: 89) < 6_000_000_000)
        #expect(schedule.intendedTime(of: 1000) == 11_000_000_000)
    }

    @Test func scheduleFromLoad() {
        #expect(ArrivalSchedule(load: .constantRate(rate: 50, duration: .seconds(2)))?.count == 100)
        #expect(ArrivalSchedule(load: .rampingRate(startRate: 0, stages: [RampStage(target: 20, duration: .seconds(2))]))?.count == 20)
        let model = ClosedLoopModel(users: 4, duration: .seconds(1), thinkTime: .milliseconds(0))
        #expect(model.arrivalIndex(user: 3, iteration: 2) == 11)
        #expect(LoadShape(.closed(users: 4, duration: .seconds(1), thinkTime: .milliseconds(0))) == .closed(model))
    }
}
