/// A transformation's or predicate's configuration read as Kafka's `SimpleConfig`/`ConfigDef` reads it: typed
/// getters with defaults, Kafka's messages for missing and malformed values.
struct TransformConfig: Sendable {
    let configs: [String: String]

    init(_ configs: [String: String]) {
        self.configs = configs
    }

    static func missing(_ name: String) -> ConnectError {
        .config(name: name, message: "Missing required configuration \"\(name)\" which has no default value.")
    }

    /// A STRING config; nil when absent and the default is null.
    func string(_ name: String, default defaultValue: String? = nil) -> String? {
        configs[name].map { $0.trimmingWhitespace() } ?? defaultValue
    }

    /// A STRING config with no default.
    func requiredString(_ name: String) throws(ConnectError) -> String {
        guard let value = configs[name] else { throw Self.missing(name) }
        return value.trimmingWhitespace()
    }

    /// A STRING config that must be one of `allowed` (ConfigDef.ValidString).
    func oneOf(_ name: String, _ allowed: [String], default defaultValue: String? = nil) throws(ConnectError) -> String {
        guard let value = configs[name].map({ $0.trimmingWhitespace() }) ?? defaultValue else { throw Self.missing(name) }
        guard allowed.contains(value) else {
            throw .config(name: name, message: "String must be one of: \(allowed.joined(separator: ", "))")
        }
        return value
    }

    /// A LIST config: comma-separated, each item trimmed, an empty string being the empty list.
    func list(_ name: String, default defaultValue: [String]? = nil) throws(ConnectError) -> [String] {
        guard let raw = configs[name] else {
            guard let defaultValue else { throw Self.missing(name) }
            return defaultValue
        }
        return Self.parseList(raw)
    }

    /// A LIST config that must not be empty (Kafka's NonEmptyListValidator).
    func nonEmptyList(_ name: String) throws(ConnectError) -> [String] {
        let value = try list(name)
        guard !value.isEmpty else { throw .config(name: name, message: "Empty list") }
        return value
    }

    /// A BOOLEAN config ("true"/"false" in any case, as Kafka parses them).
    func bool(_ name: String, default defaultValue: Bool) throws(ConnectError) -> Bool {
        guard let raw = configs[name]?.trimmingWhitespace() else { return defaultValue }
        switch raw.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .config(name: name, message: "Expected value to be either true or false")
        }
    }

    /// An INT config; nil when absent.
    func int32(_ name: String) throws(ConnectError) -> Int32? {
        guard let raw = configs[name]?.trimmingWhitespace() else { return nil }
        guard let value = Int32(raw) else { throw .config(name: name, message: "Not a number of type INT") }
        return value
    }

    static func parseList(_ raw: String) -> [String] {
        let trimmed = raw.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        return trimmed.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
    }
}

extension String {
    /// Java's `String.trim()` for the whitespace a config carries.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
