/// `loadgen call --write-out FORMAT`: text printed on stdout after the body, as curl's `-w`. Variables
/// are written `%{name}`; `%%` is a `%`; `\n`, `\t`, `\r` and `\\` are escapes (as curl reads them).
///
/// | variable | value |
/// | --- | --- |
/// | `%{http_code}` | the final response's status, `000` when no response arrived |
/// | `%{attempts}` | attempts made for the call (`--wait-healthy` probes not counted) |
/// | `%{time_total}` | seconds from the first attempt to the end of the call (retries and backoff included), e.g. `0.012345` |
/// | `%{exitcode}` | the exit code `loadgen call` ends with |
///
/// ```
/// $ loadgen call 127.0.0.1:8080/ping -q -w '%{http_code} %{attempts}\n'
/// {"message":"pong"}
/// 200 1
/// ```
struct CallWriteOut: Sendable, Equatable {
    /// One piece of the format.
    enum Part: Sendable, Equatable {
        case text(String)
        case variable(Variable)
    }

    /// A `%{name}` variable.
    enum Variable: String, Sendable, CaseIterable {
        case httpCode = "http_code"
        case attempts
        case timeTotal = "time_total"
        case exitCode = "exitcode"
    }

    /// The values the variables take for one call.
    struct Values: Sendable {
        var status: Int?
        var attempts: Int
        var seconds: Double
        var exitCode: Int32
    }

    let parts: [Part]

    /// Parses `format`; the error names what is wrong (an unknown or unterminated variable).
    init(parsing format: String) throws(CallWriteOutError) {
        var parts: [Part] = []
        var text = ""
        var rest = Substring(format)
        while let character = rest.first {
            rest = rest.dropFirst()
            switch character {
            case "\\":
                guard let next = rest.first else {
                    text.append("\\")
                    continue
                }
                switch next {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "\\": text.append("\\")
                default: text.append("\\"); text.append(next)
                }
                rest = rest.dropFirst()
            case "%":
                if rest.first == "%" {
                    text.append("%")
                    rest = rest.dropFirst()
                } else if rest.first == "{" {
                    guard let close = rest.firstIndex(of: "}") else {
                        throw CallWriteOutError("unterminated %{ in '\(format)'")
                    }
                    let name = String(rest[rest.index(after: rest.startIndex)..<close])
                    guard let variable = Variable(rawValue: name) else {
                        let known = Variable.allCases.map { "%{\($0.rawValue)}" }.joined(separator: ", ")
                        throw CallWriteOutError("unknown variable %{\(name)} (known: \(known))")
                    }
                    if !text.isEmpty { parts.append(.text(text)) }
                    text = ""
                    parts.append(.variable(variable))
                    rest = rest[rest.index(after: close)...]
                } else {
                    text.append("%")
                }
            default:
                text.append(character)
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// The format with `values` filled in.
    func render(_ values: Values) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .variable(.httpCode):
                let code = values.status ?? 0
                out += code < 10 ? "00\(code)" : code < 100 ? "0\(code)" : "\(code)"
            case .variable(.attempts): out += "\(values.attempts)"
            case .variable(.timeTotal): out += Self.fixed(values.seconds, fractionDigits: 6)
            case .variable(.exitCode): out += "\(values.exitCode)"
            }
        }
        return out
    }

    /// `value` with exactly `fractionDigits` digits after the point.
    private static func fixed(_ value: Double, fractionDigits: Int) -> String {
        var scale = 1.0
        for _ in 0..<fractionDigits { scale *= 10 }
        let scaled = Int64((max(0, value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < fractionDigits { fraction = "0" + fraction }
        return "\(whole).\(fraction)"
    }
}

/// A malformed `--write-out` format.
struct CallWriteOutError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
