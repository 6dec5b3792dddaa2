import SchemaRegistry

/// Confluent's `io.confluent.connect.json.JsonSchemaConverter`: a Connect value becomes Confluent's wire format (magic
/// byte 0, the schema's registry id as 4 big-endian bytes, the value as compact UTF-8 JSON), its Connect schema
/// translated to JSON Schema as Confluent's `JsonSchemaData` does and registered (schema type `JSON`) under the
/// subject the subject-name strategy gives. Reading looks the writer's schema up by id and reads the JSON with the
/// Connect schema made from it.
///
/// The registry client blocks on a cache miss (see `HTTPSchemaRegistryClient`): call converters from task
/// threads, never from an event loop. Properties: see docs/connect-converters.md.
public struct JsonSchemaConverter: Converter, HeaderConverter {
    static let schemaType = "JSON"
    /// Confluent's serializer properties that are read and checked; they change nothing for Connect's JSON trees.
    static let failUnknownPropertiesConfig = "json.fail.unknown.properties"
    static let failInvalidSchemaConfig = "json.fail.invalid.schema"
    /// The deepest JSON read from a record (Jackson's default is 1000; a bound keeps recursion within a task's stack).
    static let maximumDepth = 256

    public private(set) var isKey = false
    var config = RegistryConverterConfig()
    var jsonSchemaData = JsonSchemaData()
    private var explicitClient: (any SchemaRegistryClient)?
    private var translations = Cache(capacity: 1000)

    /// A converter that makes its registry client from `schema.registry.url` when configured.
    public init() {}

    /// A converter that uses `client` whatever `schema.registry.url` says (Confluent's constructor for tests).
    public init(client: any SchemaRegistryClient) {
        explicitClient = client
    }

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {
        config = try RegistryConverterConfig(configs, isKey: isKey, client: explicitClient)
        jsonSchemaData = try JsonSchemaData(configs: configs)
        _ = try ConverterConfig.boolean(configs, Self.failUnknownPropertiesConfig, default: true)
        _ = try ConverterConfig.boolean(configs, Self.failInvalidSchemaConfig, default: false)
        translations = Cache(capacity: Int(max(1, config.cacheSize)))
        self.isKey = isKey
    }

    /// The registry client in use (cached).
    public var registryClient: any SchemaRegistryClient { config.client }

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        guard let schema else {
            if value.isNull { return nil }
            throw .data("Failed to serialize JSON data from topic \(topic): JsonSchemaConverter needs a schema "
                        + "(schemaless values are not supported)")
        }
        let translated = try translations.translation(of: schema) { () throws(ConnectError) in
            let document = try jsonSchemaData.fromConnectSchema(schema)
            return Translated(document: document, text: document.serialized)
        }
        // A null value of a required schema without a default is a tombstone; of an optional one, the JSON null.
        guard let json = try withErrorContext("Failed to serialize JSON data from topic \(topic)", { () throws(ConnectError) in
            try jsonSchemaData.fromConnectData(schema, value)
        }) else { return nil }
        let subject = try subjectName(topic: topic, document: translated.document)
        let choice = try config.writerSchema(topic: topic, subject: subject, schemaType: Self.schemaType,
                                             text: translated.text, formatName: "JSON")
        try withErrorContext("Failed to serialize JSON data from topic \(topic)") { () throws(ConnectError) in
            try choice.latest?.requireType(Self.schemaType, described: "the latest schema of \(subject)", formatName: "JSON")
        }
        var output = ConfluentWireFormat.header(schemaId: choice.id)
        // As Jackson writes it: compact, members in order, control characters with upper-case hex escapes.
        json.write(to: &output, uppercaseHex: true)
        return output
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let bytes else { return (nil, .null) }
        return try withErrorContext("Failed to deserialize data for topic \(topic) to JSON") { () throws(ConnectError) in
            let schemaId = try ConfluentWireFormat.schemaId(of: bytes)
            let registered = try withErrorContext("Error retrieving JSON schema for id \(schemaId)") { () throws(ConnectError) in
                try config.client.schema(id: schemaId)
            }
            let document = try translations.registered(id: schemaId) { () throws(ConnectError) in
                try registered.requireType(Self.schemaType, described: "Schema \(schemaId)", formatName: "JSON")
                do {
                    return try JSONParser.parse(registered.schema, maximumDepth: Self.maximumDepth)
                } catch {
                    throw .data("Schema \(schemaId) from the registry is not valid JSON: \(error)")
                }
            }
            let subject = try subjectName(topic: topic, document: document)
            let version = try config.registeredVersion(of: registered, id: schemaId, subject: subject,
                                                       schemaType: Self.schemaType, formatName: "JSON")
            let connectSchema = try translations.connectSchema(id: schemaId, version: version) { () throws(ConnectError) in
                try jsonSchemaData.toConnectSchema(document, version: version)
            }
            let payload = Array(bytes[ConfluentWireFormat.headerSize...])
            let json: JSONValue
            do {
                json = try JSONParser.parse(bytes: payload, maximumDepth: Self.maximumDepth)
            } catch {
                throw .data("the record's JSON is not valid: \(error)")
            }
            return (connectSchema, try jsonSchemaData.toConnectData(connectSchema, json))
        }
    }

    /// The subject of a schema; the record-name strategies use its `title`, as Confluent's `JsonSchema.name()`.
    private func subjectName(topic: String, document: JSONValue) throws(ConnectError) -> String {
        let title = document["title"]?.stringValue
        if config.subjectStrategy != .topicName, title == nil {
            throw .data("\(config.subjectStrategy.className) needs a schema with a name (a JSON schema with a title); "
                        + "an optional or unnamed top-level schema has none")
        }
        return config.subjectStrategy.subject(topic: topic, isKey: isKey, recordName: title ?? "")
    }

    /// The JSON Schema (and its text) made from a Connect schema.
    struct Translated: Sendable {
        var document: JSONValue
        var text: String
    }

    typealias Cache = RegistryConverterCache<Translated, JSONValue>
}
