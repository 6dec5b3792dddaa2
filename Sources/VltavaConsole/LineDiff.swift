import SchemaRegistry

/// A line diff (longest common subsequence) between two schema texts, as `diff -u` marks lines: `+` added, `-`
/// removed, ` ` kept. JSON schemas (AVRO, JSON Schema) are pretty-printed first, so a change inside a compact
/// one-line schema shows as the lines that changed.
enum LineDiff {
    enum Kind: String, Sendable {
        case kept = "keep", added = "add", removed = "del"

        var marker: String {
            switch self {
            case .kept: return " "
            case .added: return "+"
            case .removed: return "-"
            }
        }
    }

    /// Texts with more lines than this are compared as wholly replaced (the table is lines × lines).
    static let maximumLines = 3000

    static func diff(_ old: String, _ new: String) -> [(kind: Kind, text: String)] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard a.count <= maximumLines, b.count <= maximumLines else {
            return a.map { (.removed, $0) } + b.map { (.added, $0) }
        }
        // lengths[i][j]: the longest common subsequence of a[i...] and b[j...].
        let width = b.count + 1
        var lengths = [Int32](repeating: 0, count: (a.count + 1) * width)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lengths[i * width + j] = a[i] == b[j]
                    ? lengths[(i + 1) * width + j + 1] + 1
                    : max(lengths[(i + 1) * width + j], lengths[i * width + j + 1])
            }
        }
        var result: [(kind: Kind, text: String)] = []
        var (i, j) = (0, 0)
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                result.append((.kept, a[i]))
                i += 1
                j += 1
            } else if j < b.count, i == a.count || lengths[i * width + j + 1] >= lengths[(i + 1) * width + j] {
                result.append((.added, b[j]))
                j += 1
            } else {
                result.append((.removed, a[i]))
                i += 1
            }
        }
        return result
    }

    /// A JSON text pretty-printed with two-space indents; other text as it is.
    static func readable(_ schema: String) -> String {
        guard let first = schema.first(where: { !$0.isWhitespace }), first == "{" || first == "[" || first == "\"",
              let parsed = try? JSONParser.parse(schema) else { return schema }
        var out = ""
        pretty(parsed, indent: 0, into: &out)
        return out
    }

    static func pretty(_ value: JSONValue, indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closing = String(repeating: "  ", count: indent)
        switch value {
        case let .array(items) where !items.isEmpty:
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += pad
                pretty(item, indent: indent + 1, into: &out)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += closing + "]"
        case let .object(members) where !members.isEmpty:
            out += "{\n"
            for (index, (name, member)) in members.enumerated() {
                out += pad
                JSONValue.writeString(name, to: &out)
                out += ": "
                pretty(member, indent: indent + 1, into: &out)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += closing + "}"
        default:
            value.write(to: &out)
        }
    }
}
