import SchemaRegistry

/// A configuration key as validation describes it: Kafka's `ConfigKeyInfo` fields.
struct ValidatedKey: Sendable {
    var definition: ConfigKeyDefinition
    var group: String?
    var order: Int
    var displayName: String
}

/// Kafka's connector config validation (`AbstractHerder.validateConnectorConfig`): the framework's keys
/// (`ConnectorConfig`, `SinkConnectorConfig`) and the plugin's own, each with its value, recommended values and
/// errors, as `PUT /connector-plugins/{plugin}/config/validate` answers and as creating a connector checks.
public struct ConnectorValidation: Sendable {
    /// Validates on the blocking pool: the connector's own checks start it, which may reach its system (a database).
    static func blocking(plugin: ConnectorPlugin, config: [String: String]) async throws(ConnectRestError) -> ConnectorValidation {
        do {
            return try await BlockingCall.run { ConnectorValidation(plugin: plugin, config: config) }
        } catch {
            throw ConnectRestError(500, error.description)
        }
    }

    public let plugin: ConnectorPlugin
    /// Each key's errors, in definition order.
    public private(set) var errors: [(name: String, messages: [String])] = []
    let keys: [ValidatedKey]
    let config: [String: String]

    public var errorCount: Int { errors.reduce(0) { $0 + $1.messages.count } }

    /// Validates `config` for `plugin`.
    public init(plugin: ConnectorPlugin, config: [String: String]) {
        self.plugin = plugin
        self.config = config
        var keys = Self.commonKeys(plugin.type)
        let ownGroup: String? = nil
        for (index, definition) in plugin.configDefinition.enumerated() where !keys.contains(where: { $0.definition.name == definition.name }) {
            keys.append(ValidatedKey(definition: definition, group: ownGroup, order: index + 1, displayName: definition.name))
        }
        self.keys = keys
        var found: [String: [String]] = [:]
        for key in keys {
            found[key.definition.name] = Self.check(key.definition, config[key.definition.name])
        }
        func add(_ error: ConnectError) {
            if case let .config(name, message) = error {
                found[name, default: []].append(message)
            } else {
                found["connector.class", default: []].append(error.description)
            }
        }
        if found["tasks.max"]?.isEmpty ?? true, let text = config["tasks.max"], let value = Int(text.trimmingWhitespace()), value < 1 {
            found["tasks.max", default: []].append("Invalid value \(value) for configuration tasks.max: Value must be at least 1")
        }
        for name in ["key.converter", "value.converter"] where found[name]?.isEmpty ?? true {
            guard let className = config[name] else { continue }
            do {
                var converter = try ConverterRegistry.make(className: className, configName: name)
                try converter.configure(WorkerConfig.withPrefix(config, name + "."), isKey: name == "key.converter")
            } catch {
                add(error)
            }
        }
        if let className = config["header.converter"], !RecordConverters.isSimpleHeaderConverter(className) {
            do {
                _ = try ConverterRegistry.make(className: className, configName: "header.converter")
            } catch {
                add(error)
            }
        }
        do {
            _ = try TransformationChain(config: config)
        } catch {
            add(error)
        }
        do {
            _ = try ErrorTolerance(config: config)
        } catch {
            add(error)
        }
        for (name, message) in Self.loginModuleErrors(config) { found[name, default: []].append(message) }
        if plugin.type == .sink {
            let topics = ConnectConfig.list(config, "topics")
            let regex = config["topics.regex"].map { $0.trimmingWhitespace() } ?? ""
            if !topics.isEmpty, !regex.isEmpty {
                let message = "topics and topics.regex are mutually exclusive options, but both are set."
                found["topics", default: []].append(message)
                found["topics.regex", default: []].append(message)
            } else if topics.isEmpty, regex.isEmpty {
                let message = "Must configure one of topics or topics.regex"
                found["topics", default: []].append(message)
                found["topics.regex", default: []].append(message)
            } else if !regex.isEmpty {
                do {
                    _ = try SinkSubscription(config: config)
                } catch {
                    add(error)
                }
            }
        }
        // The connector's own checks (Kafka's `Connector.validate` runs its ConfigDef's validators): it is started on
        // the configuration and stopped at once, when its keys passed the checks above.
        if plugin.configDefinition.allSatisfy({ found[$0.name]?.isEmpty ?? true }) {
            var connector = plugin.makeConnector()
            do {
                try connector.start(config)
                connector.stop()
            } catch {
                add(error)
            }
        }
        var ordered: [(name: String, messages: [String])] = keys.map { ($0.definition.name, found[$0.definition.name] ?? []) }
        for (name, messages) in found.sorted(by: { $0.key < $1.key }) where !keys.contains(where: { $0.definition.name == name }) {
            ordered.append((name, messages))
        }
        errors = ordered.filter { !$0.messages.isEmpty }
        allErrors = ordered
    }

    private var allErrors: [(name: String, messages: [String])] = []

    /// A JAAS configuration in a connector's config (`sasl.jaas.config`, or with a client override prefix such as
    /// `consumer.override.`) names login modules, which is how CVE-2023-25194 turned a REST call into code run by
    /// the worker (`JndiLoginModule`). Vltava's workers run no JAAS login at all, so every such key is refused;
    /// the message names the modules, never the rest of the value (it holds credentials).
    /// Whether `name` is a JAAS configuration (a password in Kafka's client configs: never shown).
    static func isJaasConfig(_ name: String) -> Bool { name == "sasl.jaas.config" || name.hasSuffix(".sasl.jaas.config") }

    static func loginModuleErrors(_ config: [String: String]) -> [(name: String, message: String)] {
        var errors: [(name: String, message: String)] = []
        for (name, value) in config.sorted(by: { $0.key < $1.key }) where isJaasConfig(name) {
            let modules = value.split(separator: ";").compactMap { entry in
                entry.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).first.map(String.init)
            }
            let named = modules.isEmpty ? "" : " (\(modules.joined(separator: ", ")))"
            errors.append((name, "Invalid value for configuration \(name): a connector's configuration may not name a JAAS "
                + "login module\(named): Vltava's workers run no JAAS login"))
        }
        return errors
    }

    /// Kafka's message for a create or update with errors.
    public var failureMessage: String {
        var message = "Connector configuration is invalid and contains the following \(errorCount) error(s):"
        for (_, messages) in errors {
            for text in messages { message += "\n" + text }
        }
        return message + "\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
    }

    /// Kafka's `ConfigInfos` JSON.
    public var json: JSONValue {
        var groups: [String] = []
        for key in keys { if let group = key.group, !groups.contains(group) { groups.append(group) } }
        var configs: [JSONValue] = []
        for (name, messages) in allErrors {
            let key = keys.first { $0.definition.name == name }
            let definition = key.map { Self.definitionJSON($0) } ?? Self.definitionJSON(ValidatedKey(
                definition: ConfigKeyDefinition(name: name, type: .string, defaultValue: "", importance: .low, documentation: ""),
                group: nil, order: -1, displayName: name))
            let value: JSONValue = .object([
                ("name", .string(name)),
                ("value", .string((key?.definition.type == .password || Self.isJaasConfig(name)) && config[name] != nil
                    ? "[hidden]" : config[name] ?? key?.definition.defaultValue)),
                ("recommended_values", .array(Self.recommendedValues(name).map { .string($0) })),
                ("errors", .array(messages.map { .string($0) })),
                ("visible", .bool(true)),
            ])
            configs.append(.object([("definition", definition), ("value", value)]))
        }
        return .object([
            ("name", .string(plugin.className)), ("error_count", .integer(errorCount)),
            ("groups", .array(groups.map { .string($0) })), ("configs", .array(configs)),
        ])
    }

    static func definitionJSON(_ key: ValidatedKey) -> JSONValue {
        let definition = key.definition
        return .object([
            ("name", .string(definition.name)), ("type", .string(definition.type.rawValue)),
            ("required", .bool(definition.isRequired)), ("default_value", .string(definition.defaultValue)),
            ("importance", .string(definition.importance.rawValue)), ("documentation", .string(definition.documentation)),
            ("group", .string(key.group)), ("width", .string("NONE")), ("display_name", .string(key.displayName)),
            ("dependents", .array([])), ("order", .integer(key.order)),
        ])
    }

    /// The definitions `GET /connector-plugins/{plugin}/config` lists: the plugin's own keys.
    public static func pluginDefinitionsJSON(_ plugin: ConnectorPlugin) -> JSONValue {
        .array(plugin.configDefinition.enumerated().map { index, definition in
            definitionJSON(ValidatedKey(definition: definition, group: nil, order: index + 1, displayName: definition.name))
        })
    }

    private static func recommendedValues(_ name: String) -> [String] {
        switch name {
        case "errors.tolerance": return ["none", "all"]
        case "key.converter", "value.converter": return ConverterRegistry.classNames
        case "header.converter": return ["org.apache.kafka.connect.storage.SimpleHeaderConverter"] + ConverterRegistry.classNames
        default: return []
        }
    }

    /// The checks of Kafka's `ConfigDef`: required keys present, values of the declared type.
    static func check(_ definition: ConfigKeyDefinition, _ value: String?) -> [String] {
        let name = definition.name
        guard let value else {
            return definition.isRequired ? ["Missing required configuration \"\(name)\" which has no default value."] : []
        }
        let trimmed = value.trimmingWhitespace()
        switch definition.type {
        case .int where Int32(trimmed) == nil:
            return ["Invalid value \(value) for configuration \(name): Not a number of type INT"]
        case .long where Int64(trimmed) == nil:
            return ["Invalid value \(value) for configuration \(name): Not a number of type LONG"]
        case .double where Double(trimmed) == nil:
            return ["Invalid value \(value) for configuration \(name): Not a number of type DOUBLE"]
        case .boolean where !["true", "false"].contains(trimmed.lowercased()):
            return ["Invalid value \(value) for configuration \(name): Expected value to be either true or false"]
        default:
            if definition.isRequired, trimmed.isEmpty, definition.type != .password, name != "topics" {
                return ["Missing required configuration \"\(name)\" which has no default value."]
            }
            return []
        }
    }

    /// The framework's keys (Kafka's `ConnectorConfig`, and `SinkConnectorConfig` for sinks).
    static func commonKeys(_ type: ConnectorType) -> [ValidatedKey] {
        func key(_ name: String, _ type: ConfigKeyDefinition.ValueType, _ defaultValue: String?, _ importance: ConfigKeyDefinition.Importance,
                 _ group: String, _ order: Int, _ displayName: String, _ documentation: String) -> ValidatedKey {
            ValidatedKey(definition: ConfigKeyDefinition(name: name, type: type, defaultValue: defaultValue, importance: importance,
                                                         documentation: documentation),
                         group: group, order: order, displayName: displayName)
        }
        var keys = [
            key("name", .string, nil, .high, "Common", 1, "Connector name", "Globally unique name to use for this connector."),
            key("connector.class", .string, nil, .high, "Common", 2, "Connector class",
                "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector."),
            key("tasks.max", .int, "1", .high, "Common", 3, "Tasks max", "Maximum number of tasks to use for this connector."),
            key("key.converter", .class, "", .low, "Common", 5, "Key converter class",
                "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
            key("value.converter", .class, "", .low, "Common", 6, "Value converter class",
                "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
            key("header.converter", .class, "", .low, "Common", 7, "Header converter class",
                "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
            key("transforms", .list, "", .low, "Transforms", 1, "Transforms", "Aliases for the transformations to be applied to records."),
            key("predicates", .list, "", .low, "Predicates", 1, "Predicates", "Aliases for the predicates used by transformations."),
            key("errors.tolerance", .string, "none", .medium, "Error Handling", 3, "Error Tolerance",
                "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records."),
            key("errors.log.enable", .boolean, "false", .medium, "Error Handling", 4, "Log Errors",
                "If true, write each error and the details of the failed operation and problematic record to the Connect application log."),
            key("errors.log.include.messages", .boolean, "false", .medium, "Error Handling", 5, "Log Error Details",
                "Whether to include in the log the Connect record that resulted in a failure."),
        ]
        if type == .sink {
            keys.insert(key("topics", .list, "", .high, "Common", 4, "Topics",
                            "List of topics to consume, separated by commas"), at: 3)
            keys.insert(key("topics.regex", .string, "", .high, "Common", 4, "Topics regex",
                            "Regular expression giving topics to consume."), at: 4)
        }
        return keys
    }
}
