/// `ssl.principal.mapping.rules`: Kafka's rules turning a client certificate's distinguished name into a user
/// name. Rules are tried in order and the first whose pattern matches the whole name wins:
/// `RULE:pattern/replacement/` (with `$1`… for the pattern's groups, and an optional `L` or `U` after the last
/// slash to lower- or upper-case the result) or `DEFAULT` (the whole name). A name no rule matches is refused.
public struct SslPrincipalMapper: Sendable {
    enum Rule: Sendable {
        case whole
        case pattern(source: String, replacement: String, caseChange: Character?)
    }

    let rules: [Rule]

    public static let `default` = SslPrincipalMapper(rules: [.whole])

    init(rules: [Rule]) {
        self.rules = rules
    }

    /// Parses the rules text (`DEFAULT` when empty).
    public init(parsing text: String) throws(SecurityError) {
        var rules: [Rule] = []
        var rest = Substring(text)
        while true {
            rest = rest.drop(while: \.isWhitespace)
            if rest.isEmpty { break }
            if rest.hasPrefix("DEFAULT") {
                rules.append(.whole)
                rest = rest.dropFirst("DEFAULT".count)
            } else if rest.hasPrefix("RULE:") {
                rest = rest.dropFirst(5)
                guard let source = Self.field(&rest), let replacement = Self.field(&rest) else {
                    throw .invalidConfiguration("ssl.principal.mapping.rules: a RULE needs pattern/replacement/ (at '\(rest.prefix(40))')")
                }
                var caseChange: Character?
                if let first = rest.first, first == "L" || first == "U" {
                    caseChange = first
                    rest = rest.dropFirst()
                }
                do {
                    _ = try Regex(source)
                } catch {
                    throw .invalidConfiguration("ssl.principal.mapping.rules: '\(source)' is not a valid regular expression")
                }
                rules.append(.pattern(source: source, replacement: replacement, caseChange: caseChange))
            } else {
                throw .invalidConfiguration("ssl.principal.mapping.rules: expected RULE:... or DEFAULT at '\(rest.prefix(40))'")
            }
            rest = rest.drop(while: \.isWhitespace)
            if rest.isEmpty { break }
            guard rest.first == "," else {
                throw .invalidConfiguration("ssl.principal.mapping.rules: rules are separated by commas (at '\(rest.prefix(40))')")
            }
            rest = rest.dropFirst()
        }
        self.rules = rules.isEmpty ? [.whole] : rules
    }

    /// Reads up to the next unescaped `/` (consumed); `\/` stands for `/`, other escapes are kept for the regex.
    private static func field(_ rest: inout Substring) -> String? {
        var value = ""
        var index = rest.startIndex
        while index < rest.endIndex {
            let character = rest[index]
            if character == "\\" {
                let next = rest.index(after: index)
                guard next < rest.endIndex else { return nil }
                if rest[next] != "/" { value.append("\\") }
                value.append(rest[next])
                index = rest.index(after: next)
                continue
            }
            if character == "/" {
                rest = rest[rest.index(after: index)...]
                return value
            }
            value.append(character)
            index = rest.index(after: index)
        }
        return nil
    }

    /// The user name for a certificate's distinguished name, or nil when no rule matches it.
    public func name(for distinguishedName: String) -> String? {
        for rule in rules {
            switch rule {
            case .whole:
                return distinguishedName
            case let .pattern(source, replacement, caseChange):
                guard let regex = try? Regex(source), let match = try? regex.wholeMatch(in: distinguishedName) else { continue }
                var result = ""
                var characters = replacement[...]
                while let character = characters.first {
                    characters = characters.dropFirst()
                    if character == "\\", let escaped = characters.first {
                        result.append(escaped)
                        characters = characters.dropFirst()
                    } else if character == "$", let digit = characters.first?.wholeNumberValue {
                        characters = characters.dropFirst()
                        if digit < match.output.count, let group = match.output[digit].substring { result += group }
                    } else {
                        result.append(character)
                    }
                }
                switch caseChange {
                case "L": return result.lowercased()
                case "U": return result.uppercased()
                default: return result
                }
            }
        }
        return nil
    }
}
