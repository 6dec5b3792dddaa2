/// A JAAS login configuration as Kafka reads it, from `sasl.jaas.config` text
/// (`org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret";`) or from a JAAS file's
/// sections (`KafkaServer { ... };`). Vltava runs no login module: it reads the options of Kafka's own three
/// (PLAIN, SCRAM, OAUTHBEARER) and refuses any other class name, so no configuration can make it load code.
public struct JaasConfiguration: Equatable, Sendable {
    public struct LoginModule: Equatable, Sendable {
        public var className: String
        public var flag: String
        public var options: [String: String]
    }

    public static let plainModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
    public static let scramModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
    public static let oauthBearerModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
    public static let knownModules: Set<String> = [plainModule, scramModule, oauthBearerModule]
    /// Jetty's property-file login module, as Confluent's REST services name it (Jetty 12, then Jetty 9).
    public static let jettyPropertyFileModules: Set<String> = [
        "org.eclipse.jetty.security.jaas.spi.PropertyFileLoginModule", "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule",
    ]

    /// The JAAS file a JVM's options name (`-Djava.security.auth.login.config=/etc/.../jaas.conf` in `KAFKA_OPTS`,
    /// `SCHEMA_REGISTRY_OPTS`, ...), if any.
    public static func loginConfigPath(javaOptions: String) -> String? {
        let flag = "-Djava.security.auth.login.config="
        return javaOptions.split(whereSeparator: \.isWhitespace).last { $0.hasPrefix(flag) }.map { String($0.dropFirst(flag.count)) }
    }
    static let flags: Set<String> = ["required", "requisite", "sufficient", "optional"]

    public var modules: [LoginModule]

    /// The users of a `PlainLoginModule` (`user_<name>="<password>"`).
    public var plainUsers: [String: String] {
        var users: [String: String] = [:]
        for module in modules where module.className == Self.plainModule {
            for (key, value) in module.options where key.hasPrefix("user_") && key.count > 5 {
                users[String(key.dropFirst(5))] = value
            }
        }
        return users
    }

    /// Parses `sasl.jaas.config` text: one or more `ClassName flag key=value ... ;`.
    public init(parsing text: String) throws(SecurityError) {
        var tokens = try JaasTokenizer(text).tokens()[...]
        modules = try Self.modules(from: &tokens, until: nil, allowing: Self.knownModules)
        if modules.isEmpty { throw .invalidConfiguration("JAAS configuration has no login module") }
    }

    /// Parses a JAAS file and returns its sections by name (`KafkaServer`, `sasl_ssl.KafkaServer`, ...).
    /// `allowing` names the login modules whose options may be read (Kafka's three unless said otherwise).
    public static func sections(
        parsingFile text: String, allowing allowed: Set<String> = knownModules
    ) throws(SecurityError) -> [String: JaasConfiguration] {
        let tokens = try JaasTokenizer(text).tokens()
        var rest = tokens[...]
        var sections: [String: JaasConfiguration] = [:]
        while let name = rest.first {
            rest = rest.dropFirst()
            guard case let .word(sectionName) = name, rest.first == .symbol("{") else {
                throw .invalidConfiguration("JAAS file: expected a section name and '{'")
            }
            rest = rest.dropFirst()
            let modules = try Self.modules(from: &rest, until: "}", allowing: allowed)
            guard rest.first == .symbol("}") else { throw .invalidConfiguration("JAAS file: section \(sectionName) has no closing '}'") }
            rest = rest.dropFirst()
            if rest.first == .symbol(";") { rest = rest.dropFirst() }
            sections[sectionName] = JaasConfiguration(modules: modules)
        }
        return sections
    }

    init(modules: [LoginModule]) {
        self.modules = modules
    }

    private static func modules(
        from tokens: inout ArraySlice<JaasTokenizer.Token>, until end: Character?, allowing allowed: Set<String>
    ) throws(SecurityError) -> [LoginModule] {
        var modules: [LoginModule] = []
        while let first = tokens.first {
            if let end, first == .symbol(end) { break }
            guard case let .word(className) = first else { throw .invalidConfiguration("JAAS configuration: expected a login module class name") }
            guard allowed.contains(className) else {
                if allowed == knownModules {
                    throw .invalidConfiguration("JAAS login module \(className) is not supported: Vltava reads the options of "
                        + "Kafka's PlainLoginModule, ScramLoginModule and OAuthBearerLoginModule and runs no other")
                }
                throw .invalidConfiguration("JAAS login module \(className) is not supported: Vltava reads the options of "
                    + allowed.sorted().joined(separator: " or ") + " and runs no other")
            }
            tokens = tokens.dropFirst()
            guard case let .word(flag)? = tokens.first, flags.contains(flag.lowercased()) else {
                throw .invalidConfiguration("JAAS configuration: \(className) needs a flag (required, requisite, sufficient or optional)")
            }
            tokens = tokens.dropFirst()
            var options: [String: String] = [:]
            while true {
                guard let token = tokens.first else { throw .invalidConfiguration("JAAS configuration: \(className) is not ended by ';'") }
                if token == .symbol(";") {
                    tokens = tokens.dropFirst()
                    break
                }
                let parts = Array(tokens.prefix(3))
                guard parts.count == 3, case let .word(key) = parts[0], parts[1] == .symbol("=") else {
                    throw .invalidConfiguration("JAAS configuration: expected key=value options after \(className)")
                }
                switch parts[2] {
                case let .word(value), let .quoted(value): options[key] = value
                case .symbol: throw .invalidConfiguration("JAAS configuration: option \(key) has no value")
                }
                tokens = tokens.dropFirst(3)
            }
            modules.append(LoginModule(className: className, flag: flag.lowercased(), options: options))
        }
        return modules
    }
}

/// Splits JAAS text into words, quoted strings (with `\` escapes), and the symbols `{ } ; =`; `//` and `/* */`
/// comments are skipped, as Java's `StreamTokenizer` does for JAAS files.
struct JaasTokenizer {
    enum Token: Equatable {
        case word(String)
        case quoted(String)
        case symbol(Character)
    }

    private let characters: [Character]

    init(_ text: String) {
        characters = Array(text)
    }

    func tokens() throws(SecurityError) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character == "/" && index + 1 < characters.count && characters[index + 1] == "/" {
                while index < characters.count && !characters[index].isNewline { index += 1 }
            } else if character == "/" && index + 1 < characters.count && characters[index + 1] == "*" {
                index += 2
                while index + 1 < characters.count && !(characters[index] == "*" && characters[index + 1] == "/") { index += 1 }
                index += 2
            } else if "{};=".contains(character) {
                tokens.append(.symbol(character))
                index += 1
            } else if character == "\"" || character == "'" {
                var value = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    if next == character {
                        closed = true
                        index += 1
                        break
                    }
                    if next == "\\" && index + 1 < characters.count {
                        index += 1
                        value.append(characters[index])
                    } else {
                        value.append(next)
                    }
                    index += 1
                }
                guard closed else { throw .invalidConfiguration("JAAS configuration: a quoted value is not closed") }
                tokens.append(.quoted(value))
            } else {
                var word = ""
                while index < characters.count, !characters[index].isWhitespace, !"{};=\"'".contains(characters[index]) {
                    word.append(characters[index])
                    index += 1
                }
                tokens.append(.word(word))
            }
        }
        return tokens
    }
}
