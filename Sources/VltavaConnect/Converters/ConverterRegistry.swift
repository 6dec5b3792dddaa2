/// Finds a converter by the class name a worker or connector configures (`key.converter`, `value.converter`,
/// `header.converter`): Kafka's full class names, and the aliases Kafka's plugin scanning gives them (the simple
/// class name, `JsonConverter`, and the name without its `Converter` suffix, `Json`).
///
/// Confluent's Avro, JSON Schema and Protobuf converters are provided (`AvroConverter`, `JsonSchemaConverter`,
/// `ProtobufConverter`). A Confluent schema-registry converter that is known by name but not provided would give a
/// `ConnectError.config` that names the class and says so, rather than "not found"; there is none left.
public enum ConverterRegistry {
    /// Makes an unconfigured converter for `className`. `configName` is the property being resolved, used in the
    /// error (Kafka: `Invalid value X for configuration value.converter: Class X could not be found.`).
    public static func make(className: String, configName: String = "converter") throws(ConnectError) -> any Converter {
        let name = String(className.trimmingSpaces)
        if let factory = factories[name] ?? aliases[name].flatMap({ factories[$0] }) { return factory() }
        if schemaRegistryClassNames.contains(name) {
            throw .config(name: configName, message: "\(name): the Confluent schema-registry converter \(name) is not supported by "
                          + "Vltava Connect yet; use one of \(classNames.joined(separator: ", "))")
        }
        throw .config(name: configName, message: "\(name): Class \(name) could not be found.")
    }

    /// The full class names of the converters provided.
    public static var classNames: [String] { factories.keys.sorted() }

    /// Confluent's schema-registry converters, recognised but not provided.
    public static let schemaRegistryClassNames: Set<String> = []

    private static let factories: [String: @Sendable () -> any Converter] = {
        var factories: [String: @Sendable () -> any Converter] = [
            "org.apache.kafka.connect.json.JsonConverter": { JsonConverter() },
            "org.apache.kafka.connect.storage.StringConverter": { StringConverter() },
            "org.apache.kafka.connect.converters.ByteArrayConverter": { ByteArrayConverter() },
            "org.apache.kafka.connect.converters.BooleanConverter": { BooleanConverter() },
            "io.confluent.connect.avro.AvroConverter": { AvroConverter() },
            "io.confluent.connect.json.JsonSchemaConverter": { JsonSchemaConverter() },
            "io.confluent.connect.protobuf.ProtobufConverter": { ProtobufConverter() },
        ]
        for numberType in NumberConverter.NumberType.allCases {
            factories[numberType.className] = { NumberConverter(numberType) }
        }
        return factories
    }()

    /// Short names → full class names.
    private static let aliases: [String: String] = {
        var aliases: [String: String] = [:]
        for className in factories.keys {
            let simpleName = String(className.split(separator: ".").last ?? "")
            aliases[simpleName] = className
            aliases[String(simpleName.dropLast("Converter".count))] = className
        }
        return aliases
    }()
}
