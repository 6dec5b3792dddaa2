import SchemaRegistry
import Testing
import VltavaHTTP
@testable import VltavaConnect

/// A registry that knows fixed schemas by id and nothing else (for bytes written elsewhere).
private struct FixedRegistry: SchemaRegistryClient {
    var schemas: [Int32: String]

    func register(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> Int32 {
        throw .data("read-only registry")
    }

    func lookup(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> RegistrySchema? { nil }

    func schema(id: Int32) throws(ConnectError) -> RegistrySchema {
        guard let text = schemas[id] else { throw .data("Schema \(id) not found") }
        return RegistrySchema(id: id, schemaType: "AVRO", schema: text)
    }

    func latestVersion(subject: String) throws(ConnectError) -> RegistrySchema { throw .data("Subject '\(subject)' not found") }
}

@Suite("AvroConverter (Confluent's wire format and registry use)")
struct AvroConverterTests {
    static func converter(_ registry: any SchemaRegistryClient, _ configs: [String: String] = [:],
                          isKey: Bool = false) throws -> AvroConverter {
        var converter = AvroConverter(client: registry)
        try converter.configure(["schema.registry.url": "http://unused:8081"].merging(configs) { $1 }, isKey: isKey)
        return converter
    }

    static let record = ConnectSchema.structure(name: "R", fields: [("id", .int32), ("name", .string)])

    @Test func writesConfluentsBytesForASimpleRecord() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        let value = ConnectValue.structure(ConnectStruct(schema: Self.record, values: [.int32(1), .string("a")]))
        let bytes = try converter.fromConnectData(topic: "t", schema: Self.record, value: value)
        // What confluent-kafka's AvroSerializer writes for {"id": 1, "name": "a"} with schema id 1.
        #expect(bytes == [0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x02, 0x61])
        #expect(registry.subjects == ["t-value"])
        let registered = try registry.schema(id: 1)
        #expect(registered.schema == #"{"type":"record","name":"R","fields":[{"name":"id","type":"int"},{"name":"name","type":"string"}],"#
            + #""connect.name":"R"}"#)
        let back = try converter.toConnectData(topic: "t", bytes: bytes)
        // The registry's version 1 becomes the schema's version, as in Confluent's converter.
        #expect(back.schema == ConnectSchema(type: .structure, name: "R", version: 1, fields: Self.record.fields))
        #expect(back.value[field: "id"] == .int32(1) && back.value[field: "name"] == .string("a"))
    }

    @Test func readsBytesWrittenByConfluentsPythonSerializer() throws {
        let text = #"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"int"},"#
            + #"{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null},{"name":"score","type":"double"},"#
            + #"{"name":"tags","type":{"type":"array","items":"string"}},{"name":"attrs","type":{"type":"map","values":"long"}},"#
            + #"{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},"#
            + #"{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},"#
            + #"{"name":"day","type":{"type":"int","logicalType":"date"}},{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#
        // confluent-kafka 2.x (fastavro) for {"id": -3, "name": "Zoë", "email": "z@x", "score": 1.5, "tags": ["a", "b"],
        // "attrs": {"k": 300}, "kind": "B", "amount": Decimal("-1.56"), "day": date(2024, 1, 2),
        // "at": datetime(2024, 1, 2, 3, 4, 5, 678000, UTC)} with schema id 7.
        let bytes: [UInt8] = [
            0x00, 0x00, 0x00, 0x00, 0x07, 0x05, 0x08, 0x5a, 0x6f, 0xc3, 0xab, 0x02, 0x06, 0x7a, 0x40, 0x78, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0xf8, 0x3f, 0x04, 0x02, 0x61, 0x02, 0x62, 0x00, 0x02, 0x02, 0x6b, 0xd8, 0x04, 0x00, 0x02, 0x04, 0xff, 0x64,
            0x98, 0xb4, 0x02, 0xdc, 0xec, 0x86, 0x82, 0x99, 0x63,
        ]
        let converter = try Self.converter(FixedRegistry(schemas: [7: text]))
        let (schema, value) = try converter.toConnectData(topic: "users", bytes: bytes)
        let connect = try #require(schema)
        #expect(connect.name == "com.example.User" && connect.version == nil)
        #expect(connect.fields.map(\.name) == ["id", "name", "email", "score", "tags", "attrs", "kind", "amount", "day", "at"])
        #expect(connect.field("email")?.schema == .optionalString)
        #expect(connect.field("attrs")?.schema == .map(keys: .string, values: .int64))
        #expect(connect.field("kind")?.schema.parameter("io.confluent.connect.avro.Enum") == "com.example.Kind")
        #expect(connect.field("amount")?.schema.parameter("connect.decimal.precision") == "10")
        #expect(connect.field("day")?.schema == ConnectLogical.date())
        #expect(connect.field("at")?.schema == ConnectLogical.timestamp())
        let expected: [ConnectValue] = [
            .int32(-3), .string("Zoë"), .string("z@x"), .float64(1.5), .array([.string("a"), .string("b")]),
            .map([ConnectMapEntry(key: .string("k"), value: .int64(300))]), .string("B"), .bytes([0xFF, 0x64]),
            .int32(19724), .int64(1_704_164_645_678),
        ]
        guard case let .structure(structValue) = value else { Issue.record("not a struct"); return }
        #expect(structValue.values == expected)

        // Written back with the same Avro schema, the bytes are the same (the registry gives id 1 here).
        var latest = try Self.converter(InMemorySchemaRegistryClient(), ["auto.register.schemas": "false", "use.latest.version": "true"])
        _ = try latest.registryClient.register(subject: "users-value", schemaType: "AVRO", schema: text, normalize: false)
        let written = try latest.fromConnectData(topic: "users", schema: connect, value: value)
        #expect(written.map { Array($0.dropFirst(5)) } == Array(bytes.dropFirst(5)))
        latest = try Self.converter(FixedRegistry(schemas: [:]))
        #expect(throws: ConnectError.self) { try latest.fromConnectData(topic: "users", schema: connect, value: value) }
    }

    @Test func everyTypeRoundTrips() throws {
        let point = ConnectSchema.structure(name: "com.example.Point", fields: [("x", .float32), ("y", .float32)])
        let schema = ConnectSchema.structure(name: "com.example.All", fields: [
            ("i8", .int8), ("i16", .int16), ("i32", .int32), ("i64", .int64), ("f32", .float32), ("f64", .float64),
            ("flag", .boolean), ("text", .string), ("raw", .bytes), ("opt", .optionalString),
            ("withDefault", ConnectSchema(type: .int64, isOptional: true, defaultValue: .int64(7))),
            ("list", .array(of: point)), ("byName", .map(keys: .string, values: .optionalInt32)),
            ("byNumber", .map(keys: .int64, values: point)), ("nested", point.with(isOptional: true)),
            ("amount", ConnectLogical.decimal(scale: 2)), ("day", ConnectLogical.date()), ("time", ConnectLogical.time()),
            ("at", ConnectLogical.timestamp()),
        ])
        let onePoint = ConnectValue.structure(ConnectStruct(schema: point, values: [.float32(1.5), .float32(-2)]))
        let value = ConnectStruct(schema: schema, values: [
            .int8(-8), .int16(300), .int32(Int32.min), .int64(Int64.max), .float32(0.25), .float64(-1e300), .boolean(true),
            .string("héllo"), .bytes([0, 1, 255]), .null, .int64(9), .array([onePoint, onePoint]),
            .map([ConnectMapEntry(key: .string("a"), value: .int32(1)), ConnectMapEntry(key: .string("b"), value: .null)]),
            .map([ConnectMapEntry(key: .int64(-1), value: onePoint)]),
            .structure(ConnectStruct(schema: point.with(isOptional: true), values: [.float32(0), .float32(1)])), .bytes([0xFF, 0x64]), .int32(19724),
            .int32(3_600_000), .int64(-1),
        ])
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        let bytes = try #require(try converter.fromConnectData(topic: "all", schema: schema, value: .structure(value)))
        let back = try converter.toConnectData(topic: "all", bytes: bytes)
        guard case let .structure(backValue) = back.value else { Issue.record("not a struct"); return }
        #expect(backValue.values == value.values)
        #expect(back.schema?.fields.map(\.schema) == schema.fields.map(\.schema))

        // A null field with a default is written as the default (Kafka's Struct.get).
        let defaulted = value.putting("withDefault", .null)
        let defaultedBack = try converter.toConnectData(
            topic: "all", bytes: try converter.fromConnectData(topic: "all", schema: schema, value: .structure(defaulted)))
        #expect(defaultedBack.value[field: "withDefault"] == .int64(7))

        // Top-level primitives, and bytes written without Avro's length prefix as Confluent's serializer does.
        for (primitive, sample) in [(ConnectSchema.int8, ConnectValue.int8(5)), (.string, .string("s")), (.optionalFloat64, .float64(2)),
                                    (ConnectLogical.timestamp(), .int64(1))] {
            let written = try converter.fromConnectData(topic: "p", schema: primitive, value: sample)
            #expect(try converter.toConnectData(topic: "p", bytes: written).value == sample)
        }
        let rawBytes = try converter.fromConnectData(topic: "b", schema: .bytes, value: .bytes([9, 8]))
        #expect(rawBytes.map { Array($0.dropFirst(5)) } == [9, 8])
        #expect(try converter.toConnectData(topic: "b", bytes: rawBytes).value == .bytes([9, 8]))
    }

    @Test func unionsAndEnumsWithEnhancedSupport() throws {
        let text = #"{"type":"record","name":"E","fields":[{"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","BLUE"]}},"#
            + #"{"name":"either","type":["int","string",{"type":"record","name":"P","fields":[{"name":"v","type":"long"}]}]}]}"#
        let registry = InMemorySchemaRegistryClient()
        let id = try registry.register(subject: "e-value", schemaType: "AVRO", schema: text, normalize: false)
        // BLUE (symbol 1), union branch 1 (string), "h".
        let written = ConfluentWireFormat.header(schemaId: id) + [0x02, 0x02, 0x02, 0x68]
        let converter = try Self.converter(registry, ["enhanced.avro.schema.support": "true"])
        let (schema, value) = try converter.toConnectData(topic: "e", bytes: written)
        let either = try #require(schema?.field("either")?.schema)
        #expect(either.name == "io.confluent.connect.avro.Union" && either.fields.map(\.name) == ["int", "string", "P"])
        #expect(value[field: "color"] == .string("BLUE"))
        #expect(value[field: "either"]?[field: "string"] == .string("h"))
        // Written back, the enum is an enum and the union the string branch again.
        let again = try converter.fromConnectData(topic: "e", schema: schema, value: value)
        #expect(again.map { Array($0.dropFirst(5)) } == Array(written.dropFirst(5)))
        var notASymbol = try #require(value.structValue)
        notASymbol["color"] = .string("GREEN")
        #expect(throws: ConnectError.self) { try converter.fromConnectData(topic: "e", schema: schema, value: .structure(notASymbol)) }
    }

    @Test func tombstonesAndNulls() throws {
        let converter = try Self.converter(InMemorySchemaRegistryClient())
        #expect(try converter.fromConnectData(topic: "t", schema: nil, value: .null) == nil)
        #expect(try converter.fromConnectData(topic: "t", schema: Self.record.with(isOptional: true), value: .null) == nil)
        let back = try converter.toConnectData(topic: "t", bytes: nil)
        #expect(back.schema == nil && back.value == .null)
        #expect(throws: ConnectError.data("Failed to serialize Avro data from topic t: Found null value for non-optional schema")) {
            try converter.fromConnectData(topic: "t", schema: Self.record, value: .null)
        }
        #expect(throws: ConnectError.self) { try converter.fromConnectData(topic: "t", schema: nil, value: .int32(1)) }
        #expect(throws: ConnectError.data("Failed to serialize Avro data from topic t: Invalid type for INT32: class java.lang.String")) {
            try converter.fromConnectData(topic: "t", schema: .int32, value: .string("x"))
        }
    }

    @Test func badBytesAreRefusedWithClearMessages() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        let good = try #require(try converter.fromConnectData(
            topic: "t", schema: Self.record, value: .structure(ConnectStruct(schema: Self.record, values: [.int32(1), .string("abc")]))))
        func message(_ bytes: [UInt8]) -> String {
            do {
                _ = try converter.toConnectData(topic: "t", bytes: bytes)
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(message([0x01, 0, 0, 0, 1, 2]).hasPrefix("Failed to deserialize data for topic t to Avro: Unknown magic byte!"))
        #expect(message(Array("{\"a\":1}".utf8)).contains("starts with 0x7b"))
        #expect(message([0x00, 0, 1]).contains("fewer than the 5 of Confluent's header"))
        #expect(message([0x00, 0, 0, 0, 99, 2]).contains("Error retrieving Avro schema for id 99: Schema 99 not found"))
        #expect(message(Array(good.dropLast(2))).contains("does not match schema 1: the Avro data ends too early"))
        #expect(message(Array(good.prefix(5)) + [0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).contains("invalid Avro"))
        _ = try registry.register(subject: "x", schemaType: "PROTOBUF", schema: "syntax = \"proto3\";", normalize: false)
        #expect(message([0x00, 0, 0, 0, 2]).contains("Schema 2 is a PROTOBUF schema, not an Avro one"))
    }

    @Test func subjectNameStrategies() throws {
        let user = ConnectSchema.structure(name: "com.example.User", fields: [("id", .int32)])
        let value = ConnectValue.structure(ConnectStruct(schema: user, values: [.int32(1)]))
        let cases: [([String: String], Bool, String)] = [
            ([:], false, "orders-value"),
            ([:], true, "orders-key"),
            (["value.subject.name.strategy": "io.confluent.kafka.serializers.subject.RecordNameStrategy"], false, "com.example.User"),
            (["key.subject.name.strategy": "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"], true, "orders-com.example.User"),
            (["value.subject.name.strategy": "TopicNameStrategy"], false, "orders-value"),
        ]
        for (configs, isKey, subject) in cases {
            let registry = InMemorySchemaRegistryClient()
            let converter = try Self.converter(registry, configs, isKey: isKey)
            _ = try converter.fromConnectData(topic: "orders", schema: user, value: value)
            #expect(registry.subjects == [subject], "\(configs)")
        }
        #expect(throws: ConnectError.self) { try Self.converter(InMemorySchemaRegistryClient(), ["value.subject.name.strategy": "com.Nope"]) }
    }

    @Test func withoutAutoRegisterAMissingSchemaNamesTheSubject() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry, ["auto.register.schemas": "false"])
        let value = ConnectValue.structure(ConnectStruct(schema: Self.record, values: [.int32(1), .string("a")]))
        do {
            _ = try converter.fromConnectData(topic: "t", schema: Self.record, value: value)
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("not registered under subject t-value"))
        }
        // Registered by someone else, it is found and used.
        let text = try AvroData().fromConnectSchema(Self.record).jsonText
        _ = try registry.register(subject: "other", schemaType: "AVRO", schema: "\"string\"", normalize: false)
        let id = try registry.register(subject: "t-value", schemaType: "AVRO", schema: text, normalize: false)
        #expect(try converter.fromConnectData(topic: "t", schema: Self.record, value: value)?.prefix(5) == ConfluentWireFormat.header(schemaId: id)[...])
    }

    @Test func useLatestVersionWritesWithTheSubjectsLatestSchema() throws {
        let registry = InMemorySchemaRegistryClient()
        let latest = #"{"type":"record","name":"R","fields":[{"name":"id","type":"int"},{"name":"extra","type":"long","default":5},"#
            + #"{"name":"name","type":"string"}]}"#
        let id = try registry.register(subject: "t-value", schemaType: "AVRO", schema: latest, normalize: false)
        let converter = try Self.converter(registry, ["auto.register.schemas": "false", "use.latest.version": "true"])
        let value = ConnectValue.structure(ConnectStruct(schema: Self.record, values: [.int32(1), .string("a")]))
        let bytes = try converter.fromConnectData(topic: "t", schema: Self.record, value: value)
        #expect(bytes == ConfluentWireFormat.header(schemaId: id) + [0x02, 0x0A, 0x02, 0x61])
    }

    @Test func aSteadyStreamMakesNoRegistryCalls() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        let value = ConnectValue.structure(ConnectStruct(schema: Self.record, values: [.int32(1), .string("a")]))
        let bytes = try converter.fromConnectData(topic: "t", schema: Self.record, value: value)
        _ = try converter.toConnectData(topic: "t", bytes: bytes)
        let calls = registry.calls
        for _ in 0..<20 {
            let again = try converter.fromConnectData(topic: "t", schema: Self.record, value: value)
            _ = try converter.toConnectData(topic: "t", bytes: again)
        }
        #expect(registry.calls == calls)
        // Copies of a configured converter share the caches.
        let copy = converter
        _ = try copy.toConnectData(topic: "t", bytes: bytes)
        #expect(registry.calls == calls)
    }

    @Test func configuration() throws {
        var converter = AvroConverter()
        #expect(throws: ConnectError.config(name: "schema.registry.url",
                                            message: "Missing required configuration \"schema.registry.url\" which has no default value.")) {
            try converter.configure([:], isKey: false)
        }
        #expect(throws: ConnectError.self) { try converter.configure(["schema.registry.url": "ftp://secure:8081"], isKey: false) }
        #expect(throws: ConnectError.self) {
            try converter.configure(["schema.registry.url": "https://secure:8081",
                                     "schema.registry.ssl.truststore.location": "/nonexistent/ca.pem"], isKey: false)
        }
        #expect(throws: ConnectError.self) {
            try converter.configure(["schema.registry.url": "http://r:8081", "basic.auth.credentials.source": "USER_INFO"], isKey: false)
        }
        #expect(throws: ConnectError.self) { try converter.configure(["schema.registry.url": "http://r", "auto.register.schemas": "maybe"], isKey: false) }
        try converter.configure(["schema.registry.url": " http://a:1, http://b:2/base/ "], isKey: true)
        let client = try #require((converter.registryClient as? CachedSchemaRegistryClient)?.underlying as? HTTPSchemaRegistryClient)
        #expect(client.endpoints.map { "\($0.host):\($0.port)\($0.basePath)" } == ["a:1", "b:2/base"])
        try converter.configure(["schema.registry.url": "https://secure/base"], isKey: false)
        let secure = try #require((converter.registryClient as? CachedSchemaRegistryClient)?.underlying as? HTTPSchemaRegistryClient)
        #expect(secure.endpoints.map { "\($0.host):\($0.port)\($0.basePath) \($0.usesTLS)" } == ["secure:443/base true"])
        #expect(secure.tls != nil, "https with the system's trust roots")

        // mock:// scopes are shared in-memory registries, as in Confluent's serializers.
        var first = AvroConverter()
        try first.configure(["schema.registry.url": "mock://avro-tests"], isKey: false)
        var second = AvroConverter()
        try second.configure(["schema.registry.url": "mock://avro-tests"], isKey: false)
        let value = ConnectValue.structure(ConnectStruct(schema: Self.record, values: [.int32(2), .string("b")]))
        let bytes = try first.fromConnectData(topic: "m", schema: Self.record, value: value)
        #expect(try second.toConnectData(topic: "m", bytes: bytes).value == value.withSchemaVersion(1))
        InMemorySchemaRegistryClient.dropScope("avro-tests")
    }

    @Test func httpClientRequestsAndAddresses() throws {
        let client = try HTTPSchemaRegistryClient(urls: ["http://user:p%40ss@registry.local/sr"], userInfoFromURL: true)
        #expect(client.endpoints == [HTTPSchemaRegistryClient.Endpoint(host: "registry.local", port: 80, basePath: "/sr", userInfo: "user:p@ss")])
        #expect(client.authorization == "Basic dXNlcjpwQHNz")
        let explicit = try HTTPSchemaRegistryClient(urls: ["http://[::1]:8081"], userInfo: "a:b")
        #expect(explicit.endpoints.first?.host == "::1" && explicit.endpoints.first?.port == 8081)
        #expect(explicit.authorization == "Basic YTpi")
        #expect(HTTPSchemaRegistryClient.schemaBody(schemaType: "AVRO", schema: "\"int\"") == #"{"schema":"\"int\""}"#)
        #expect(HTTPSchemaRegistryClient.schemaBody(schemaType: "JSON", schema: "{}") == #"{"schemaType":"JSON","schema":"{}"}"#)
        #expect(HTTPEndpoint.encodePathSegment("a b/c") == "a%20b%2Fc")
        // Nothing listens on port 9 of the loopback: the error says which registry could not be reached.
        let unreachable = try HTTPSchemaRegistryClient(urls: ["http://127.0.0.1:9"], connectTimeout: .seconds(2), requestTimeout: .seconds(2))
        #expect(throws: ConnectError.self) { try unreachable.schema(id: 1) }
    }
}

extension ConnectValue {
    var structValue: ConnectStruct? {
        if case let .structure(value) = self { return value }
        return nil
    }

    /// The same struct value with its schema given a version (what reading back through a registry adds).
    func withSchemaVersion(_ version: Int32) -> ConnectValue {
        guard let value = structValue else { return self }
        let schema = ConnectSchema(type: .structure, name: value.schema.name, version: version, fields: value.schema.fields)
        return .structure(ConnectStruct(schema: schema, values: value.values))
    }
}
