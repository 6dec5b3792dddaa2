/// A configured regular expression used as Kafka uses `java.util.regex.Pattern` for topics: whole matches and
/// `replaceFirst` with Java's replacement syntax (`$1`, `${name}`, `\` escaping the next character). Compiled with
/// Swift's regex engine, whose syntax agrees with Java's for the expressions connector configs use.
struct JavaRegex: @unchecked Sendable {
    // Swift's Regex is not declared Sendable; this one is never mutated after it is compiled.
    let pattern: String
    private let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        self.pattern = pattern
        self.regex = try Regex(pattern)
    }

    func matchesWhole(_ text: String) -> Bool {
        (try? regex.wholeMatch(in: text)) != nil
    }

    /// The text with its first match replaced, as Java's `Matcher.replaceFirst`.
    func replaceFirst(in text: String, with replacement: String) throws(ConnectError) -> String {
        guard let match = try? regex.firstMatch(in: text) else { return text }
        var expanded = ""
        let chars = Array(replacement)
        var index = 0
        let output = match.output
        while index < chars.count {
            let char = chars[index]
            if char == "\\" {
                index += 1
                guard index < chars.count else { throw .data("character to be escaped is missing") }
                expanded.append(chars[index])
                index += 1
            } else if char == "$" {
                index += 1
                guard index < chars.count else { throw .data("Illegal group reference: group index is missing") }
                if chars[index] == "{" {
                    guard let close = chars[index...].firstIndex(of: "}") else { throw .data("named capturing group is missing trailing '}'") }
                    let name = String(chars[(index + 1)..<close])
                    guard let group = output[name] else { throw .data("No group with name {\(name)}") }
                    expanded += group.substring.map(String.init) ?? ""
                    index = close + 1
                } else {
                    guard let first = chars[index].wholeNumberValue else { throw .data("Illegal group reference") }
                    var group = first
                    index += 1
                    while index < chars.count, let digit = chars[index].wholeNumberValue, group * 10 + digit < output.count {
                        group = group * 10 + digit
                        index += 1
                    }
                    guard group < output.count else { throw .data("No group \(group)") }
                    expanded += output[group].substring.map(String.init) ?? ""
                }
            } else {
                expanded.append(char)
                index += 1
            }
        }
        return String(text[..<match.range.lowerBound]) + expanded + String(text[match.range.upperBound...])
    }
}
