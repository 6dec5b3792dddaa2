/// Confluent's `io.confluent.connect.avro.AvroConverter`: a Connect value becomes Confluent's wire format (magic
/// byte 0, the schema's registry id as 4 big-endian bytes, the value in Avro's binary encoding), its Connect schema
/// translated to Avro as Confluent's `AvroData` does and registered under the subject the subject-name strategy
/// gives. Reading looks the writer's schema up by id and uses it as the reader's schema.
///
/// The registry client blocks on a cache miss (see `HTTPSchemaRegistryClient`): call converters from task
/// threads, never from an event loop. Schemas, ids and translations are cached, so a steady stream makes no
/// registry calls. Properties: see docs/connect-converters.md.
public struct AvroConverter: Converter, HeaderConverter {
    public private(set) var isKey = false
    var config = RegistryConverterConfig()
    var avroData = AvroData()
    private var explicitClient: (any SchemaRegistryClient)?
    private var cache = Cache(capacity: 1000)

    /// A converter that makes its registry client from `schema.registry.url` when configured.
    public init() {}

    /// A converter that uses `client` whatever `schema.registry.url` says (Confluent's constructor for tests).
    public init(client: any SchemaRegistryClient) {
        explicitClient = client
    }

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {
        config = try RegistryConverterConfig(configs, isKey: isKey, client: explicitClient)
        avroData = try AvroData(configs: configs)
        cache = Cache(capacity: Int(max(1, config.cacheSize)))
        self.isKey = isKey
    }

    /// The registry client in use (cached).
    public var registryClient: any SchemaRegistryClient { config.client }

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        guard let schema else {
            if value.isNull { return nil }
            throw .data("Failed to serialize Avro data from topic \(topic): AvroConverter in Vltava needs a schema "
                        + "(schemaless values, Confluent's io.confluent.connect.avro.Anything, are not supported)")
        }
        if value.isNull {
            guard schema.isOptional else {
                throw .data("Failed to serialize Avro data from topic \(topic): Found null value for non-optional schema")
            }
            return nil
        }
        let avroType = try cache.translation(of: schema) { () throws(ConnectError) in
            let type = try avroData.fromConnectSchema(schema)
            return Translated(type: type, text: type.jsonText)
        }
        let subject = config.subjectStrategy.subject(topic: topic, isKey: isKey, recordName: avroType.type.fullName ?? avroType.type.typeName)
        let choice = try config.writerSchema(topic: topic, subject: subject, schemaType: "AVRO", text: avroType.text, formatName: "Avro")
        let schemaId = choice.id
        var writerType = avroType.type
        if let latest = choice.latest {
            writerType = try registeredType(id: schemaId, latest)
        }
        let datum = try withErrorContext("Failed to serialize Avro data from topic \(topic)") { () throws(ConnectError) in
            try avroData.fromConnectData(schema, writerType, value)
        }
        var output = ConfluentWireFormat.header(schemaId: schemaId)
        // Confluent's serializer writes a top-level bytes value as it is, without Avro's length prefix.
        if case .bytes = writerType.kind, case let .bytes(bytes) = datum {
            return output + bytes
        }
        do throws(AvroError) {
            try AvroBinary.encode(datum, as: writerType, into: &output)
        } catch {
            throw .data("Failed to serialize Avro data from topic \(topic): \(error.message)")
        }
        return output
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let bytes else { return (nil, .null) }
        return try withErrorContext("Failed to deserialize data for topic \(topic) to Avro") { () throws(ConnectError) in
            let schemaId = try ConfluentWireFormat.schemaId(of: bytes)
            let registered = try withErrorContext("Error retrieving Avro schema for id \(schemaId)") { () throws(ConnectError) in
                try config.client.schema(id: schemaId)
            }
            let writerType = try registeredType(id: schemaId, registered)
            let subject = config.subjectStrategy.subject(topic: topic, isKey: isKey, recordName: writerType.fullName ?? writerType.typeName)
            let version = try config.registeredVersion(of: registered, id: schemaId, subject: subject, schemaType: "AVRO",
                                                       formatName: "Avro")
            let connectSchema = try cache.connectSchema(id: schemaId, version: version) { () throws(ConnectError) in
                try avroData.toConnectSchema(writerType, version: version)
            }
            let datum: AvroDatum
            if case .bytes = writerType.kind {
                datum = .bytes(Array(bytes[ConfluentWireFormat.headerSize...]))
            } else {
                var reader = AvroBinaryReader(bytes, position: ConfluentWireFormat.headerSize)
                do throws(AvroError) {
                    datum = try AvroBinary.decode(writerType, from: &reader)
                } catch {
                    throw .data("the Avro data does not match schema \(schemaId): \(error.message)")
                }
            }
            return (connectSchema, try avroData.toConnectData(connectSchema, writerType, datum))
        }
    }

    /// The Avro schema (and its text) made from a Connect schema.
    struct Translated: Sendable {
        var type: AvroType
        var text: String
    }

    typealias Cache = RegistryConverterCache<Translated, AvroType>

    /// The parsed Avro schema of a registry id.
    private func registeredType(id: Int32, _ registered: RegistrySchema) throws(ConnectError) -> AvroType {
        try cache.registered(id: id) { () throws(ConnectError) in
            try registered.requireType("AVRO", described: "Schema \(id)", formatName: "Avro")
            do throws(AvroError) {
                return try AvroType.parse(registered.schema)
            } catch {
                throw .data("Schema \(id) from the registry is not a valid Avro schema: \(error.message)")
            }
        }
    }
}
