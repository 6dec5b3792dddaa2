/// Topic subscriptions by regular expression (KIP-848's `SubscribedTopicRegex`), with Kafka's semantics: the
/// whole topic name must match (RE2's full match, so `^topic` alone matches only "topic"), internal topics are
/// never matched, and what RE2 does not have (lookaround, backreferences, atomic groups, possessive quantifiers)
/// is refused as Kafka refuses it.
public enum TopicRegex {
    /// Kafka's internal topics, which a pattern never subscribes to.
    static let internalTopics: Set<String> = ["__consumer_offsets", "__transaction_state"]

    /// Why the pattern is refused (INVALID_REGULAR_EXPRESSION), nil when it compiles.
    public static func problem(_ pattern: String) -> String? {
        for construct in ["(?=", "(?!", "(?<=", "(?<!", "(?>"] where pattern.contains(construct) {
            return "Invalid regular expression \(pattern): \(construct) is not supported (RE2 syntax)."
        }
        if containsBackreference(pattern) {
            return "Invalid regular expression \(pattern): backreferences are not supported (RE2 syntax)."
        }
        for possessive in ["*+", "++", "?+", "}+"] where pattern.contains(possessive) {
            return "Invalid regular expression \(pattern): possessive quantifiers are not supported (RE2 syntax)."
        }
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "Invalid regular expression \(pattern)."
        }
    }

    private static func containsBackreference(_ pattern: String) -> Bool {
        var escaped = false
        for character in pattern {
            if escaped {
                if let digit = character.wholeNumberValue, digit > 0 { return true }
                if character == "k" || character == "g" { return true }
                escaped = false
            } else if character == "\\" {
                escaped = true
            }
        }
        return false
    }

    /// The names that the pattern matches whole, internal topics left out; none for a pattern that does not
    /// compile.
    public static func matching<Names: Sequence>(_ pattern: String, in names: Names) -> [String] where Names.Element == String {
        guard problem(pattern) == nil, let regex = try? Regex(pattern) else { return [] }
        return names.filter { !internalTopics.contains($0) && (try? regex.wholeMatch(in: $0)) != nil }
    }

    public static func matches(_ pattern: String, _ name: String) -> Bool {
        !matching(pattern, in: [name]).isEmpty
    }
}
