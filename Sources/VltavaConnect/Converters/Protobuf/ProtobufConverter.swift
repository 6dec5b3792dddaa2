import SchemaRegistry

/// Confluent's `io.confluent.connect.protobuf.ProtobufConverter`: a Connect struct becomes Confluent's wire format
/// (magic byte 0, the schema's registry id as 4 big-endian bytes, the message indexes, the protobuf binary), its
/// Connect schema translated to a proto3 file as Confluent's `ProtobufData` does and registered (schema type
/// `PROTOBUF`) under the subject the subject-name strategy gives. Reading parses the writer's schema, finds the
/// message the indexes name and reads it into a Connect struct.
///
/// The well-known imports (`google/protobuf/*`, `google/type/*`, `confluent/*`) are registered without references,
/// as Confluent's serializer does with `skip.known.types`. Call converters from task threads, never from an event
/// loop (the registry client blocks on a cache miss). Properties: see docs/connect-converters.md.
public struct ProtobufConverter: Converter, HeaderConverter {
    static let schemaType = "PROTOBUF"

    public private(set) var isKey = false
    var config = RegistryConverterConfig()
    var protobufData = ProtobufData()
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
        protobufData = try ProtobufData(configs: configs)
        cache = Cache(capacity: Int(max(1, config.cacheSize)))
        self.isKey = isKey
    }

    /// The registry client in use (cached).
    public var registryClient: any SchemaRegistryClient { config.client }

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        guard let schema else {
            if value.isNull { return nil }
            throw .data("Failed to serialize Protobuf data from topic \(topic): ProtobufConverter needs a schema "
                        + "(schemaless values are not supported)")
        }
        if value.isNull { return nil }
        return try withErrorContext("Failed to serialize Protobuf data from topic \(topic)") { () throws(ConnectError) in
            let text = try cache.translation(of: schema) { () throws(ConnectError) in try protobufData.fromConnectSchema(schema) }
            let recordName = schema.name ?? ProtobufData.defaultSchemaName + "1"
            let subject = config.subjectStrategy.subject(topic: topic, isKey: isKey, recordName: recordName)
            let choice = try config.writerSchema(topic: topic, subject: subject, schemaType: Self.schemaType, text: text,
                                                 formatName: "Protobuf")
            let writerText: String
            if let latest = choice.latest {
                try latest.requireType(Self.schemaType, described: "the latest schema of \(subject)", formatName: "Protobuf")
                writerText = latest.schema
            } else {
                writerText = text
            }
            let pool = try cache.registered(id: choice.id) { () throws(ConnectError) in try Self.pool(writerText, id: choice.id) }
            let indexes = try Self.messageIndexes(of: ProtobufData.splitName(recordName).name, in: pool.file)
            let message = try pool.message(at: indexes)
            let payload = try ProtobufValueWriter(pool: pool).message(schema, value, message)
            return ConfluentWireFormat.header(schemaId: choice.id) + ProtobufMessageIndexes.encode(indexes) + payload
        }
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let bytes else { return (nil, .null) }
        return try withErrorContext("Failed to deserialize data for topic \(topic) to Protobuf") { () throws(ConnectError) in
            let schemaId = try ConfluentWireFormat.schemaId(of: bytes)
            let registered = try withErrorContext("Error retrieving Protobuf schema for id \(schemaId)") { () throws(ConnectError) in
                try config.client.schema(id: schemaId)
            }
            try registered.requireType(Self.schemaType, described: "Schema \(schemaId)", formatName: "Protobuf")
            let pool = try cache.registered(id: schemaId) { () throws(ConnectError) in try Self.pool(registered.schema, id: schemaId) }
            var reader = ProtobufReader(bytes, from: ConfluentWireFormat.headerSize)
            let indexes = try ProtobufMessageIndexes.decode(&reader)
            let message = try pool.message(at: indexes)
            let subject = config.subjectStrategy.subject(topic: topic, isKey: isKey, recordName: message.fullName)
            let version = try config.registeredVersion(of: registered, id: schemaId, subject: subject,
                                                       schemaType: Self.schemaType, formatName: "Protobuf")
            let connectSchema = try cache.connectSchema(id: schemaId, indexes: indexes, version: version) { () throws(ConnectError) in
                try protobufData.toConnectSchema(message, pool: pool, version: version)
            }
            let value = try ProtobufValueReader(pool: pool).message(connectSchema, message, reader)
            return (connectSchema, value)
        }
    }

    static func pool(_ text: String, id: Int32) throws(ConnectError) -> ProtobufDescriptorPool {
        let file: ProtobufFileDescription
        do {
            file = try ProtobufFileDescription.parse(text)
        } catch {
            throw .data("Schema \(id) is not a valid .proto file: \(error)")
        }
        return try ProtobufDescriptorPool(file)
    }

    /// The indexes of the top-level message `name` (the first message when none has that name, as a schema chosen
    /// with `use.latest.version` may name its message differently).
    private static func messageIndexes(of name: String, in file: ProtobufFileDescription) throws(ConnectError) -> [Int] {
        guard !file.messages.isEmpty else { throw .data("The schema has no message") }
        return [file.messages.firstIndex { $0.name == name } ?? 0]
    }

    typealias Cache = RegistryConverterCache<String, ProtobufDescriptorPool>
}
