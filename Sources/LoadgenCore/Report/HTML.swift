/// Escaping for markup: the HTML report and the JUnit XML file.
public enum HTML {
    /// `text` safe inside HTML, SVG or XML text and double- or single-quoted attribute values: `&`, `<`, `>`, `"`
    /// and `'` become character references (`&#39;`, which HTML 4 and XML both read); tab, newline and carriage
    /// return become references too (an attribute keeps them), and the other characters XML 1.0 forbids
    /// (C0 controls, U+FFFE, U+FFFF) are dropped.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out += "&#\(scalar.value);"
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
