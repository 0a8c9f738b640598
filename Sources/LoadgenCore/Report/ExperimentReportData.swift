/// The result of `loadgen experiment --json` (`kind: "experiment"`), as the report draws it.
public struct ExperimentReportData: Sendable, Equatable {
    /// The experiment's name.
    public var experiment: String
    /// The trigger, in seconds since the load started (`nil`: none).
    public var trigger: ClosedRange<Double>?
    /// The variants in the file's order.
    public var variants: [Variant]
    /// The expectation in words.
    public var expectationText: String
    /// Whether it held (`nil`: not judged).
    public var held: Bool?

    /// One variant's figures and per-second series.
    public struct Variant: Sendable, Equatable {
        /// The variant's name.
        public var name: String
        /// Attempts per sent call.
        public var amplification: Double?
        /// Goodput, calls per second.
        public var goodput: Double?
        /// Seconds to recover (`nil`: never or not measured).
        public var recovery: Double?
        /// Calls the endpoint completed after their client left.
        public var wasted: Double?
        /// Latency of the successful calls.
        public var latency: LatencyFigures
        /// Calls offered per second.
        public var offered: [Double]
        /// Attempts sent per second.
        public var attempts: [Double]
        /// Successful calls within the deadline per second.
        public var goodputPerSecond: [Double]
    }

    init(_ root: JSONFields) throws(ReportInputError) {
        guard root.has("variants") else {
            throw ReportInputError(root.file, "not a loadgen experiment result: no \"variants\"")
        }
        experiment = try root.string("experiment") ?? ""
        if let trigger = try root.object("trigger"), let start = try trigger.number("start_s"),
            let end = try trigger.number("end_s"), start <= end
        {
            self.trigger = start...end
        }
        variants = []
        for variant in try root.objects("variants") {
            let series = try variant.object("timeseries")
            variants.append(
                Variant(
                    name: try variant.string("name") ?? "", amplification: try variant.number("amplification"),
                    goodput: try variant.number("goodput_rps"), recovery: try variant.number("recovery_s"),
                    wasted: try variant.number("wasted"), latency: try LatencyFigures(variant.object("latency_ms")),
                    offered: try series?.numbers("offered") ?? [], attempts: try series?.numbers("attempts") ?? [],
                    goodputPerSecond: try series?.numbers("goodput") ?? []))
        }
        let expectation = try root.object("expectation")
        expectationText = try expectation?.string("text") ?? ""
        held = try expectation?.bool("held")
    }
}
