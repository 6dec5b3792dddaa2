/// A `name=value` config, as written after `--config` on a command line.
public struct ConfigAssignment: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Parses `name=value`: the name ends at the first `=`, the value may contain more of them and may be empty.
    public init(parsing text: String) throws(KafkaClientError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw .invalidArgument("config '\(text)' is not of the form name=value")
        }
        let name = text[..<equals].trimmingWhitespace()
        guard !name.isEmpty else { throw .invalidArgument("config '\(text)' has an empty name") }
        self.init(name: String(name), value: String(text[text.index(after: equals)...]))
    }

    public var description: String { "\(name)=\(value)" }
}
