import SchemaRegistry
import Testing
@testable import VltavaConnect

/// A registry that knows fixed schemas by id and nothing else (for bytes written elsewhere).
private struct FixedJSONRegistry: SchemaRegistryClient {
    var schemas: [Int32: RegistrySchema]

    func register(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> Int32 {
        throw .data("read-only registry")
    }

    func lookup(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> RegistrySchema? { nil }

    func schema(id: Int32) throws(ConnectError) -> RegistrySchema {
        guard let found = schemas[id] else { throw .data("Schema \(id) not found (the schema registry's error 40403)") }
        return found
    }

    func latestVersion(subject: String) throws(ConnectError) -> RegistrySchema { throw .data("Subject '\(subject)' not found") }
}

@Suite("JsonSchemaConverter (Confluent's wire format and registry use)")
struct JsonSchemaConverterTests {
    static func converter(_ registry: any SchemaRegistryClient, _ configs: [String: String] = [:],
                          isKey: Bool = false) throws -> JsonSchemaConverter {
        var converter = JsonSchemaConverter(client: registry)
        try converter.configure(["schema.registry.url": "http://unused:8081"].merging(configs) { $1 }, isKey: isKey)
        return converter
    }

    static let record = ConnectSchema.structure(name: "R", fields: [("id", .int32), ("name", .optionalString)])

    static func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func writesConfluentsFramingAndRegistersTheSchema() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        let value = ConnectValue.structure(ConnectStruct(schema: Self.record, values: [.int32(1), .string("a\u{1}")]))
        let bytes = try #require(try converter.fromConnectData(topic: "t", schema: Self.record, value: value))
        #expect(bytes == [0x00, 0x00, 0x00, 0x00, 0x01] + Array(#"{"id":1,"name":"a\u0001"}"#.utf8))
        #expect(registry.subjects == ["t-value"])
        let registered = try registry.schema(id: 1)
        #expect(registered.schemaType == "JSON")
        #expect(registered.schema == #"{"type":"object","title":"R","properties":{"id":{"type":"integer","connect.index":0,"#
            + #""connect.type":"int32"},"name":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1}}}"#)
        let back = try converter.toConnectData(topic: "t", bytes: bytes)
        // The registry's version 1 becomes the schema's version, as in Confluent's converter.
        #expect(back.schema == ConnectSchema(type: .structure, name: "R", version: 1, fields: Self.record.fields))
        #expect(back.value[field: "id"] == .int32(1) && back.value[field: "name"] == .string("a\u{1}"))
    }

    @Test func readsBytesWrittenByConfluentsPythonSerializer() throws {
        let text = #"{"type":"object","title":"User","properties":{"id":{"type":"integer"},"name":{"type":"string"},"#
            + #""email":{"oneOf":[{"type":"null"},{"type":"string"}]},"score":{"type":"number"},"#
            + #""tags":{"type":"array","items":{"type":"string"}},"#
            + #""attrs":{"type":"object","connect.type":"map","additionalProperties":{"type":"integer"}},"#
            + #""kind":{"enum":["A","B"]}},"required":["id","name"]}"#
        // confluent-kafka 2.16 (its JSON encoder and schema-id prefix) for {"id": -3, "name": "Zoë", "email": "z@x",
        // "score": 1.5, "tags": ["a", "b"], "attrs": {"k": 300}, "kind": "B"} with schema id 7.
        let bytes: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x07] + Array(#"{"id":-3,"name":"Zo"#.utf8) + [0xc3, 0xab]
            + Array(#"","email":"z@x","score":1.5,"tags":["a","b"],"attrs":{"k":300},"kind":"B"}"#.utf8)
        let registry = FixedJSONRegistry(schemas: [7: RegistrySchema(id: 7, schemaType: "JSON", schema: text)])
        let converter = try Self.converter(registry)
        let (schema, value) = try converter.toConnectData(topic: "t", bytes: bytes)
        let read = try #require(schema)
        #expect(read.name == "User" && read.version == nil)
        #expect(read.fields.map(\.schema.type) == [.int64, .string, .string, .float64, .array, .map, .string])
        #expect(value[field: "id"] == .int64(-3) && value[field: "name"] == .string("Zoë") && value[field: "email"] == .string("z@x"))
        #expect(value[field: "score"] == .float64(1.5) && value[field: "tags"] == .array([.string("a"), .string("b")]))
        #expect(value[field: "attrs"] == .map([ConnectMapEntry(key: .string("k"), value: .int64(300))]))
        #expect(value[field: "kind"] == .string("B"))
        // Written back with the schema read, the JSON is the same.
        let written = try Self.converter(InMemorySchemaRegistryClient()).fromConnectData(topic: "t", schema: read, value: value)
        #expect(written.map { Array($0.dropFirst(5)) } == Array(bytes.dropFirst(5)))
    }

    @Test func everyTypeRoundTrips() throws {
        let schema = ConnectSchema.structure(name: "All", fields: [
            ("i8", .int8), ("i16", .int16), ("i32", .int32), ("i64", .int64), ("f32", .float32), ("f64", .float64),
            ("flag", .boolean), ("text", .string), ("raw", .bytes), ("amount", ConnectLogical.decimal(scale: 2)),
            ("day", ConnectLogical.date()), ("at", ConnectLogical.time()), ("stamp", ConnectLogical.timestamp()),
            ("list", .array(of: .optionalInt32)), ("byName", .map(keys: .string, values: .int16)),
            ("byNumber", .map(keys: .int32, values: .string)), ("nested", .structure(name: "N", fields: [("x", .float64)], isOptional: true)),
            ("missing", .optionalInt64),
        ])
        let nested = try #require(schema.field("nested")?.schema)
        let value = ConnectValue.structure(ConnectStruct(schema: schema, values: [
            .int8(-8), .int16(-16), .int32(1 << 30), .int64(-(1 << 60)), .float32(1.25), .float64(-0.1),
            .boolean(true), .string("é\""), .bytes([0, 1, 255]), .bytes([0xFF, 0x64]), .int32(19724), .int32(3_600_000),
            .int64(1_704_164_645_678), .array([.int32(1), .null]),
            .map([ConnectMapEntry(key: .string("a"), value: .int16(2))]),
            .map([ConnectMapEntry(key: .int32(7), value: .string("seven"))]),
            .structure(ConnectStruct(schema: nested, values: [.float64(2.5)])), .null,
        ]))
        for format in ["BASE64", "NUMERIC"] {
            let converter = try Self.converter(InMemorySchemaRegistryClient(), ["decimal.format": format])
            let bytes = try #require(try converter.fromConnectData(topic: "t", schema: schema, value: value))
            let json = String(decoding: bytes.dropFirst(5), as: UTF8.self)
            #expect(json.contains(format == "BASE64" ? #""amount":"/2Q=""# : #""amount":-1.56"#))
            #expect(json.contains(#""byNumber":[{"key":7,"value":"seven"}]"#) && json.contains(#""missing":null"#))
            let back = try converter.toConnectData(topic: "t", bytes: bytes)
            #expect(back.value == .structure(ConnectStruct(schema: try #require(back.schema), values: {
                guard case let .structure(original) = value else { return [] }
                return original.values
            }())))
        }
    }

    @Test func nullsAndTombstones() throws {
        let converter = try Self.converter(InMemorySchemaRegistryClient())
        #expect(try converter.fromConnectData(topic: "t", schema: nil, value: .null) == nil)
        // A required schema without a default has no JSON for null: a tombstone, as Confluent writes it.
        #expect(try converter.fromConnectData(topic: "t", schema: .string, value: .null) == nil)
        // An optional schema's null is the JSON null, framed.
        let framedNull = try converter.fromConnectData(topic: "t", schema: .optionalString, value: .null)
        #expect(framedNull == [0, 0, 0, 0, 1] + Array("null".utf8))
        #expect(try converter.toConnectData(topic: "t", bytes: framedNull).value == .null)
        let tombstone = try converter.toConnectData(topic: "t", bytes: nil)
        #expect(tombstone.schema == nil && tombstone.value == .null)
        #expect(Self.message { _ = try converter.fromConnectData(topic: "t", schema: nil, value: .string("x")) }?
            .contains("needs a schema") == true)
    }

    @Test func refusesBadBytesAndUnknownIds() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        _ = try converter.fromConnectData(topic: "t", schema: .string, value: .string("x"))
        _ = try registry.register(subject: "other", schemaType: "AVRO", schema: #""string""#, normalize: false)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [1, 0, 0, 0, 1]) }?.contains("Unknown magic byte") == true)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [0, 0, 0]) }?.contains("fewer than the 5") == true)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 9] + Array("1".utf8)) }?
            .contains("Error retrieving JSON schema for id 9") == true)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 2] + Array(#""x""#.utf8)) }?
            .contains("is a AVRO schema, not a JSON one") == true)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 1] + Array(#""x"#.utf8)) }?
            .contains("not valid") == true)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 1] + Array("12".utf8)) }?
            .contains("expected a string but found NUMBER") == true)
        #expect(Self.message { _ = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 1]) }?.contains("not valid") == true)
    }

    @Test func registrationChoices() throws {
        let registry = InMemorySchemaRegistryClient()
        let lookupOnly = try Self.converter(registry, ["auto.register.schemas": "false"])
        #expect(Self.message { _ = try lookupOnly.fromConnectData(topic: "t", schema: .string, value: .string("x")) }?
            .contains("not registered under subject t-value") == true)
        _ = try registry.register(subject: "t-value", schemaType: "JSON", schema: #"{"type":"string"}"#, normalize: false)
        #expect(try lookupOnly.fromConnectData(topic: "t", schema: .string, value: .string("x")) == [0, 0, 0, 0, 1] + Array(#""x""#.utf8))

        _ = try registry.register(subject: "t-value", schemaType: "JSON", schema: #"{"type":"string","maxLength":9}"#, normalize: false)
        let latest = try Self.converter(registry, ["auto.register.schemas": "false", "use.latest.version": "true"])
        #expect(try latest.fromConnectData(topic: "t", schema: .string, value: .string("x"))?.prefix(5) == [0, 0, 0, 0, 2])

        let byRecord = try Self.converter(registry, ["value.subject.name.strategy": "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"])
        _ = try byRecord.fromConnectData(topic: "t", schema: Self.record,
                                         value: .structure(ConnectStruct(schema: Self.record, values: [.int32(1), .null])))
        #expect(registry.subjects.contains("t-R"))
        #expect(Self.message { _ = try byRecord.fromConnectData(topic: "t", schema: .string, value: .string("x")) }?
            .contains("needs a schema with a name") == true)
    }

    @Test func isFoundByItsClassNameAndAliases() throws {
        for name in ["io.confluent.connect.json.JsonSchemaConverter", "JsonSchemaConverter", "JsonSchema"] {
            #expect(try ConverterRegistry.make(className: name) is JsonSchemaConverter)
        }
        var converter = try ConverterRegistry.make(className: "JsonSchemaConverter")
        try converter.configure(["schema.registry.url": "mock://json-schema-tests", "json.fail.unknown.properties": "false"], isKey: true)
        let bytes = try converter.fromConnectData(topic: "k", schema: .int64, value: .int64(42))
        #expect(InMemorySchemaRegistryClient.scope("json-schema-tests").subjects == ["k-key"])
        #expect(try converter.toConnectData(topic: "k", bytes: bytes).value == .int64(42))
        InMemorySchemaRegistryClient.dropScope("json-schema-tests")
        #expect(Self.message { try converter.configure(["schema.registry.url": "mock://x", "decimal.format": "HEX"], isKey: false) }?
            .contains("BASE64, NUMERIC") == true)
    }
}
