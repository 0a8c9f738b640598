/// The fingerprint of a scenario as run (after the command line's overrides): a hash of its normalised form,
/// so that `loadgen merge` can tell that shard results come from the same run.
///
/// The normalised form is a canonical text of the scenario's value, built by reflection so that every field
/// (present and future) takes part: structures and enumerations field by field, sets and dictionaries in
/// sorted order (their iteration order differs from process to process). The scenario file's directory is
/// left out (shards may run from different directories). The hash is 64-bit FNV-1a, written as
/// `fnv1a64:` and 16 hex digits: it detects mismatched shards, it does not protect against forgery.
public enum ScenarioFingerprint {
    /// The fingerprint of `scenario`.
    public static func of(_ scenario: Scenario) -> String {
        var normalised = scenario
        normalised.baseDirectory = ""
        return "fnv1a64:" + hex(fnv1a64(canonicalText(normalised)))
    }

    /// The canonical text of any value (see the type's documentation).
    static func canonicalText(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first else { return "nil" }
            return canonicalText(wrapped.value)
        case .set:
            return "{" + mirror.children.map { canonicalText($0.value) }.sorted().joined(separator: ",") + "}"
        case .dictionary:
            // Each child is a (key, value) tuple.
            return "[" + mirror.children.map { canonicalText($0.value) }.sorted().joined(separator: ",") + "]"
        case .collection, .tuple:
            return "(" + mirror.children.map { canonicalText($0.value) }.joined(separator: ",") + ")"
        case .enum:
            guard let payload = mirror.children.first else { return "\(mirror.subjectType).\(value)" }
            return "\(mirror.subjectType).\(payload.label ?? "")" + canonicalText(payload.value)
        case .struct, .class:
            let fields = mirror.children.map { "\($0.label ?? ""):" + canonicalText($0.value) }
            return "\(mirror.subjectType){" + fields.joined(separator: ",") + "}"
        default:
            if let text = value as? String { return text.debugDescription }
            return "\(value)"
        }
    }

    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
