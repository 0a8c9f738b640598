/// HTML text helpers for the report.
public enum HTML {
    /// `text` safe inside HTML or SVG text and double- or single-quoted attribute values: `&`, `<`, `>`, `"`
    /// and `'` become character references.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
