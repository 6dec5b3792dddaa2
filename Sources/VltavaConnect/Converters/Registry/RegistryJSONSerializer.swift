import SchemaRegistry

/// Writes JSON as a person types it with a registry subject's latest schema, in the bytes Confluent's serializers
/// write (`KafkaAvroSerializer`, `KafkaProtobufSerializer`, `KafkaJsonSchemaSerializer` with `use.latest.version`):
/// the web console's produce form.
///
/// AVRO and PROTOBUF: the schema becomes a Connect schema as the matching converter reads it, the JSON a Connect value
/// of that schema (`TypedJSONReader`: an Avro union takes its value as it is, `{"name": "x"}`, or in Avro's JSON
/// encoding, `{"string": "x"}`; a Protobuf oneof member stands beside the other fields), and the converter writes it
/// with `use.latest.version`, framed with the latest version's id (and the first message's index for Protobuf).
/// JSON: the value is checked against the schema (`JSONSchemaValidator`) and written as typed, compact, as
/// Confluent's serializer writes the object it is given.
///
/// The registry client blocks: call it from a thread pool, never from an event loop.
public struct RegistryJSONSerializer: Sendable {
    let client: any SchemaRegistryClient

    /// The deepest JSON read (as the converters bound it).
    static let maximumDepth = 256

    /// A serializer asking `client` for each subject's latest version (give it a client whose latest versions are
    /// not cached for long, so a version registered since is the one written).
    public init(client: any SchemaRegistryClient) {
        self.client = client
    }

    /// The framed bytes of `json` written with the latest schema of `subject`; a value that does not fit the schema
    /// throws `ConnectError.data` naming the field (`field 'amount': expected a number, got "abc"`).
    public func serialize(json: String, subject: String, topic: String, isKey: Bool) throws(ConnectError) -> [UInt8] {
        // One answer for the latest version during the call: the converter asks for it again.
        let registry = CachedSchemaRegistryClient(client)
        let latest = try withErrorContext("Cannot read the latest schema of subject \(subject)") { () throws(ConnectError) in
            try registry.latestVersion(subject: subject)
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(json, maximumDepth: Self.maximumDepth)
        } catch {
            throw .data("The value is not JSON: \(error)")
        }
        let configs = [RegistryConverterConfig.useLatestVersionConfig: "true",
                       RegistryConverterConfig.autoRegisterConfig: "false",
                       RegistryConverterConfig.latestCompatibilityStrictConfig: "false"]
        switch latest.schemaType.uppercased() {
        case "AVRO":
            var converter = AvroConverter(client: registry)
            try converter.configure(configs, isKey: isKey)
            converter.config.writerSubject = subject
            let type: AvroType
            do throws(AvroError) {
                type = try AvroType.parse(latest.schema)
            } catch {
                throw .data("The latest schema of \(subject) is not a valid Avro schema: \(error.message)")
            }
            let schema = try converter.avroData.toConnectSchema(type, version: latest.version)
            let connectValue = try TypedJSONReader(.avro).value(schema, value)
            return try Self.written(converter, topic: topic, schema: schema, value: connectValue)
        case ProtobufConverter.schemaType:
            var converter = ProtobufConverter(client: registry)
            try converter.configure(configs, isKey: isKey)
            converter.config.writerSubject = subject
            let pool = try ProtobufConverter.pool(latest.schema, id: latest.id ?? 0)
            // Confluent's serializer writes the schema's first message unless told another.
            let schema = try converter.protobufData.toConnectSchema(try pool.message(at: [0]), pool: pool, version: latest.version)
            let connectValue = try TypedJSONReader(.protobuf).value(schema, value)
            return try Self.written(converter, topic: topic, schema: schema, value: connectValue)
        case JsonSchemaConverter.schemaType:
            guard let id = latest.id else { throw .data("The registry gave no id for the latest version of \(subject)") }
            let document: JSONValue
            do {
                document = try JSONParser.parse(latest.schema, maximumDepth: Self.maximumDepth)
            } catch {
                throw .data("The latest schema of \(subject) is not valid JSON: \(error)")
            }
            try JSONSchemaValidator(root: document).validate(value)
            var output = ConfluentWireFormat.header(schemaId: id)
            value.write(to: &output, uppercaseHex: true)
            return output
        default:
            throw .data("Subject \(subject) holds a \(latest.schemaType) schema; only AVRO, PROTOBUF and JSON are written")
        }
    }

    private static func written(_ converter: some Converter, topic: String, schema: ConnectSchema,
                                value: ConnectValue) throws(ConnectError) -> [UInt8] {
        guard let bytes = try converter.fromConnectData(topic: topic, schema: schema, value: value) else {
            throw .data("The value is null: send a null value (a tombstone) with the null option instead")
        }
        return bytes
    }
}
