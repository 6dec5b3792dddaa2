import SchemaRegistry
import Testing
@testable import VltavaConnect

/// A registry that knows fixed schemas by id and nothing else (for bytes written elsewhere).
private struct FixedProtobufRegistry: SchemaRegistryClient {
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

@Suite("ProtobufConverter (Confluent's ProtobufData, message indexes, registry use)")
struct ProtobufConverterTests {
    static func converter(_ registry: any SchemaRegistryClient, _ configs: [String: String] = [:]) throws -> ProtobufConverter {
        var converter = ProtobufConverter(client: registry)
        try converter.configure(["schema.registry.url": "http://unused:8081"].merging(configs) { $1 }, isKey: false)
        return converter
    }

    /// Written by Python's protobuf for the `.proto` below (id 7, message indexes `[0]`).
    static let goldenText = """
        syntax = "proto3";
        package com.example;

        message Order {
          int32 id = 1;
          string name = 2;
          repeated int64 scores = 3;
          map<string, int32> counts = 4;
          bool active = 5;
          double ratio = 6;
          bytes blob = 7;
          Line line = 8;
          message Line { string sku = 1; }
        }
        """
    static let goldenBytes: [UInt8] = [
        0, 0, 0, 0, 7, 0, 8, 254, 255, 255, 255, 255, 255, 255, 255, 255, 1, 18, 6, 104, 195, 169, 108, 108, 111, 26, 3, 1, 172,
        2, 34, 5, 10, 1, 97, 16, 0, 40, 1, 49, 0, 0, 0, 0, 0, 0, 248, 63, 58, 2, 0, 255, 66, 4, 10, 2, 88, 49,
    ]

    @Test func schemaTextForEachConnectType() throws {
        let inner = ConnectSchema.structure(name: "com.example.Item", fields: [("sku", .string)])
        let schema = ConnectSchema.structure(name: "com.example.Order", fields: [
            ("tiny", .int8), ("small", .int16), ("id", .int32), ("big", .int64), ("ratio32", .float32), ("ratio", .float64),
            ("flag", .boolean), ("name", .optionalString), ("blob", .bytes),
            ("tags", .array(of: .string)), ("counts", .map(keys: .string, values: .int64)),
            ("byBytes", .map(keys: .bytes, values: .string)),
            ("item", inner), ("amount", ConnectLogical.decimal(scale: 2)), ("day", ConnectLogical.date()),
            ("at", ConnectLogical.time()), ("when", ConnectLogical.timestamp()),
        ])
        let text = try ProtobufData().fromConnectSchema(schema)
        #expect(text == """
            syntax = "proto3";
            package com.example;

            import "confluent/meta.proto";
            import "confluent/type/decimal.proto";
            import "google/protobuf/timestamp.proto";
            import "google/type/date.proto";
            import "google/type/timeofday.proto";

            message Order {
              int32 tiny = 1 [(confluent.field_meta) = { params: [{ key: "connect.type", value: "int8" }] }];
              int32 small = 2 [(confluent.field_meta) = { params: [{ key: "connect.type", value: "int16" }] }];
              int32 id = 3;
              int64 big = 4;
              float ratio32 = 5;
              double ratio = 6;
              bool flag = 7;
              string name = 8;
              bytes blob = 9;
              repeated string tags = 10;
              map<string, int64> counts = 11;
              repeated ByBytesEntry byBytes = 12;
              Item item = 13;
              confluent.type.Decimal amount = 14 [(confluent.field_meta) = { params: [{ key: "scale", value: "2" }] }];
              google.type.Date day = 15;
              google.type.TimeOfDay at = 16;
              google.protobuf.Timestamp when = 17;
              message ByBytesEntry {
                bytes key = 1;
                string value = 2;
              }
              message Item {
                string sku = 1;
              }
            }

            """)
        // The registry's parser accepts it.
        let file = try ProtobufFileDescription.parse(text)
        #expect(file.messages.first?.messages.map(\.name) == ["ByBytesEntry", "Item"])
    }

    @Test func unnamedStructsTagsAndNullableChoices() throws {
        let nested = ConnectSchema.structure(fields: [("x", .int32)])
        let tagged = ConnectSchema(type: .int64, parameters: [(ProtobufData.tagParameter, "9")])
        let schema = ConnectSchema.structure(fields: [("n", nested), ("count", tagged), ("maybe", .optionalInt32)])
        #expect(try ProtobufData().fromConnectSchema(schema) == """
            syntax = "proto3";

            message ConnectDefault1 {
              ConnectDefault2 n = 1;
              int64 count = 9;
              int32 maybe = 2;
              message ConnectDefault2 {
                int32 x = 1;
              }
            }

            """)
        let optional = try ProtobufData(configs: ["optional.for.nullables": "true"]).fromConnectSchema(schema)
        #expect(optional.contains("  optional int32 maybe = 2;"))
        let wrapped = try ProtobufData(configs: ["wrapper.for.nullables": "true"]).fromConnectSchema(schema)
        #expect(wrapped.contains("import \"google/protobuf/wrappers.proto\";"))
        #expect(wrapped.contains("  google.protobuf.Int32Value maybe = 2;"))
        #expect(throws: ConnectError.self) { try ProtobufData().fromConnectSchema(.string) }
    }

    @Test func roundTripThroughTheMockRegistry() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry)
        let inner = ConnectSchema.structure(name: "Item", fields: [("sku", .string)])
        let schema = ConnectSchema.structure(name: "com.example.Order", fields: [
            ("tiny", .int8), ("small", .int16), ("id", .int32), ("big", .int64), ("ratio32", .float32), ("ratio", .float64),
            ("flag", .boolean), ("name", .optionalString), ("blob", .bytes), ("tags", .array(of: .string)),
            ("scores", .array(of: .int32)), ("counts", .map(keys: .string, values: .int64)),
            ("byBytes", .map(keys: .bytes, values: .string)), ("item", inner),
            ("amount", ConnectLogical.decimal(scale: 2)), ("day", ConnectLogical.date()), ("at", ConnectLogical.time()),
            ("when", ConnectLogical.timestamp()),
        ])
        let values: [ConnectValue] = [
            .int8(-3), .int16(300), .int32(-70000), .int64(1 << 40), .float32(1.25), .float64(-0.5), .boolean(true),
            .string("héllo"), .bytes([0, 1, 255]), .array([.string("a"), .string("")]), .array([.int32(-1), .int32(2)]),
            .map([ConnectMapEntry(key: .string("k"), value: .int64(0))]),
            .map([ConnectMapEntry(key: .bytes([9]), value: .string("v"))]),
            .structure(ConnectStruct(schema: inner, values: [.string("X1")])),
            .bytes([0xFB, 0x2E]), .int32(-719_162), .int32(45_296_789), .int64(-1),
        ]
        let bytes = try #require(try converter.fromConnectData(topic: "orders", schema: schema,
                                                               value: .structure(ConnectStruct(schema: schema, values: values))))
        #expect(Array(bytes.prefix(6)) == [0, 0, 0, 0, 1, 0])
        #expect(registry.subjects == ["orders-value"])
        #expect(try registry.schema(id: 1).schemaType == "PROTOBUF")

        let (readSchema, readValue) = try converter.toConnectData(topic: "orders", bytes: bytes)
        let read = try #require(readSchema)
        #expect(read.name == "Order")
        #expect(read.version == 1)
        #expect(read.fields.map(\.name) == schema.fields.map(\.name))
        #expect(read.fields.allSatisfy { $0.schema.isOptional })
        #expect(read.field("tiny")?.schema.type == .int8)
        #expect(read.field("small")?.schema.type == .int16)
        #expect(read.field("amount")?.schema.name == ConnectLogical.decimalName)
        #expect(read.field("amount")?.schema.parameter("scale") == "2")
        #expect(read.field("when")?.schema.parameter(ProtobufData.tagParameter) == "18")
        let structure = try #require(readValue.structValue)
        for (index, expected) in values.enumerated() where index != 13 {
            #expect(structure.values[index] == expected, "\(schema.fields[index].name)")
        }
        guard case let .structure(item) = structure.values[13] else { Issue.record("item is not a struct"); return }
        #expect(item.values == [.string("X1")])

        // Written again with the schema read, the payload is the same.
        let again = try #require(try converter.fromConnectData(topic: "orders", schema: read, value: readValue))
        #expect(Array(again.dropFirst(6)) == Array(bytes.dropFirst(6)))
    }

    @Test func absentFieldsReadAsProtobufDefaults() throws {
        let registry = InMemorySchemaRegistryClient()
        let converter = try Self.converter(registry, ["optional.for.nullables": "true"])
        let schema = ConnectSchema.structure(name: "R", fields: [("n", .int32), ("s", .optionalString), ("list", .array(of: .int64))])
        let bytes = try #require(try converter.fromConnectData(topic: "t", schema: schema,
                                                               value: .structure(ConnectStruct(schema: schema, values: [.int32(0), .null, .array([])]))))
        #expect(Array(bytes.dropFirst(5)) == [0])
        let read = try #require(try converter.toConnectData(topic: "t", bytes: bytes).value.structValue)
        #expect(read.values == [.int32(0), .null, .array([])])
        #expect(try converter.fromConnectData(topic: "t", schema: schema, value: .null) == nil)
    }

    @Test func goldenBytesFromPythonProtobuf() throws {
        let registry = FixedProtobufRegistry(schemas: [7: RegistrySchema(id: 7, schemaType: "PROTOBUF", schema: Self.goldenText)])
        let converter = try Self.converter(registry)
        let (schema, value) = try converter.toConnectData(topic: "orders", bytes: Self.goldenBytes)
        let read = try #require(schema)
        #expect(read.name == "Order")
        #expect(read.field("counts")?.schema.type == .map)
        let structure = try #require(value.structValue)
        #expect(structure["id"] == .int32(-2))
        #expect(structure["name"] == .string("héllo"))
        #expect(structure["scores"] == .array([.int64(1), .int64(300)]))
        #expect(structure["counts"] == .map([ConnectMapEntry(key: .string("a"), value: .int32(0))]))
        #expect(structure["active"] == .boolean(true))
        #expect(structure["ratio"] == .float64(1.5))
        #expect(structure["blob"] == .bytes([0, 255]))
        #expect(structure["line"]?.structValue?["sku"] == .string("X1"))

        // Vltava writes the same protobuf payload for the value it read.
        let writer = try Self.converter(InMemorySchemaRegistryClient())
        let written = try #require(try writer.fromConnectData(topic: "orders", schema: read, value: value))
        #expect(Array(written.dropFirst(6)) == Array(Self.goldenBytes.dropFirst(6)))
    }

    @Test func messageIndexes() throws {
        #expect(ProtobufMessageIndexes.encode([0]) == [0])
        #expect(ProtobufMessageIndexes.encode([1, 0]) == [4, 2, 0])
        #expect(ProtobufMessageIndexes.encode([2]) == [2, 4])
        for indexes in [[0], [1, 0], [2], [0, 3, 1]] {
            var reader = ProtobufReader(ProtobufMessageIndexes.encode(indexes))
            #expect(try ProtobufMessageIndexes.decode(&reader) == indexes)
            #expect(reader.isAtEnd)
        }
        let text = """
            syntax = "proto3";
            message First { int32 a = 1; }
            message Second { message Inner { string s = 1; } Inner inner = 1; }
            """
        let registry = FixedProtobufRegistry(schemas: [3: RegistrySchema(id: 3, schemaType: "PROTOBUF", schema: text)])
        let converter = try Self.converter(registry)
        let nested = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 3, 4, 2, 0, 10, 2, 104, 105])
        #expect(nested.schema?.name == "Inner")
        #expect(nested.value.structValue?["s"] == .string("hi"))
        let second = try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 3, 2, 2, 10, 3, 10, 1, 120])
        #expect(second.value.structValue?["inner"]?.structValue?["s"] == .string("x"))
        #expect(throws: ConnectError.self) { try converter.toConnectData(topic: "t", bytes: [0, 0, 0, 0, 3, 2, 8]) }
    }

    @Test func badBytesAreRefusedWithReasons() throws {
        let registry = FixedProtobufRegistry(schemas: [
            7: RegistrySchema(id: 7, schemaType: "PROTOBUF", schema: Self.goldenText),
            8: RegistrySchema(id: 8, schemaType: "AVRO", schema: "\"string\""),
        ])
        let converter = try Self.converter(registry)
        func message(_ bytes: [UInt8]) -> String {
            do {
                _ = try converter.toConnectData(topic: "orders", bytes: bytes)
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(message([1, 0, 0, 0, 7, 0]).contains("Unknown magic byte"))
        #expect(message([0, 0, 0, 0, 8, 0]).contains("not a Protobuf one"))
        #expect(message([0, 0, 0, 0, 7, 0, 8, 255]).contains("end inside a varint"))
        #expect(message([0, 0, 0, 0, 7, 0, 18, 10, 65]).contains("claims 10 bytes"))
        #expect(message([0, 0, 0, 0, 7, 0, 18, 2, 0xC3, 0x28]).contains("not valid UTF-8"))
        #expect(message([0, 0, 0, 0, 7, 0, 13, 0, 0, 0, 0]).contains("wrong wire type"))
        #expect(message([0, 0, 0, 0, 7]).contains("end inside a varint"))
        // A Timestamp whose seconds overflow Connect's milliseconds.
        let timestamps = FixedProtobufRegistry(schemas: [5: RegistrySchema(id: 5, schemaType: "PROTOBUF", schema: """
            syntax = "proto3";
            import "google/protobuf/timestamp.proto";
            message T { google.protobuf.Timestamp at = 1; }
            """)])
        let huge: [UInt8] = [0, 0, 0, 0, 5, 0, 10, 10, 8, 255, 255, 255, 255, 255, 255, 255, 255, 127]
        do {
            _ = try Self.converter(timestamps).toConnectData(topic: "t", bytes: huge)
            Issue.record("an overflowing timestamp was read")
        } catch {
            #expect(String(describing: error).contains("does not fit in milliseconds"))
        }
        // Every prefix of the golden record fails cleanly or reads, never traps.
        for end in 0...Self.goldenBytes.count {
            _ = try? converter.toConnectData(topic: "orders", bytes: Array(Self.goldenBytes.prefix(end)))
        }
        #expect(throws: ConnectError.self) { try converter.fromConnectData(topic: "t", schema: nil, value: .int32(1)) }
    }

    @Test func useLatestVersionWritesWithTheRegisteredMessage() throws {
        let registry = InMemorySchemaRegistryClient()
        let text = "syntax = \"proto3\";\nmessage Other { int32 x = 1; }\nmessage Reading { string sensor = 3; double value = 7; }\n"
        _ = try registry.register(subject: "r-value", schemaType: "PROTOBUF", schema: text, normalize: false)
        let converter = try Self.converter(registry, ["auto.register.schemas": "false", "use.latest.version": "true"])
        let schema = ConnectSchema.structure(name: "Reading", fields: [("sensor", .string), ("value", .float64)])
        let bytes = try #require(try converter.fromConnectData(topic: "r", schema: schema,
                                                               value: .structure(ConnectStruct(schema: schema, values: [.string("a"), .float64(2)]))))
        // Id 1, message indexes [1], then field 3 and field 7 as the registered schema numbers them.
        #expect(bytes == [0, 0, 0, 0, 1, 2, 2, 26, 1, 97, 57, 0, 0, 0, 0, 0, 0, 0, 64])
        let read = try converter.toConnectData(topic: "r", bytes: bytes)
        #expect(read.schema?.name == "Reading")
        #expect(read.value.structValue?["sensor"] == .string("a"))
    }

    @Test func anEnumUsedTwiceIsDefinedOnce() throws {
        let color = ConnectSchema(type: .string, name: "Color", parameters: [
            (ProtobufData.enumParameter, "Color"), (ProtobufData.enumParameter + ".RED", "0"), (ProtobufData.enumParameter + ".BLUE", "1"),
        ])
        let schema = ConnectSchema.structure(name: "Paint", fields: [("inside", color), ("outside", color)])
        let text = try ProtobufData().fromConnectSchema(schema)
        #expect(text.components(separatedBy: "enum Color").count == 2)
        let converter = try Self.converter(InMemorySchemaRegistryClient())
        let bytes = try #require(try converter.fromConnectData(topic: "p", schema: schema,
                                                               value: .structure(ConnectStruct(schema: schema, values: [.string("RED"), .string("BLUE")]))))
        #expect(Array(bytes.dropFirst(6)) == [16, 1])
        let read = try converter.toConnectData(topic: "p", bytes: bytes).value.structValue
        #expect(read?["inside"] == .string("RED"))
        #expect(read?["outside"] == .string("BLUE"))
    }

    @Test func registeredInTheConverterRegistry() throws {
        var converter = try ConverterRegistry.make(className: "Protobuf")
        try converter.configure(["schema.registry.url": "mock://protobuf-registry-test"], isKey: true)
        let schema = ConnectSchema.structure(name: "Key", fields: [("id", .int64)])
        let bytes = try #require(try converter.fromConnectData(topic: "k", schema: schema,
                                                               value: .structure(ConnectStruct(schema: schema, values: [.int64(5)]))))
        #expect(try converter.toConnectData(topic: "k", bytes: bytes).value.structValue?["id"] == .int64(5))
        #expect(InMemorySchemaRegistryClient.scope("protobuf-registry-test").subjects == ["k-key"])
    }
}

@Suite("ProtobufConverter with logical types, enums, oneofs and wrappers (Python protobuf golden bytes)")
struct ProtobufLogicalGoldenTests {
    static let text = """
        syntax = "proto3";
        package shop;

        import "confluent/meta.proto";
        import "confluent/type/decimal.proto";
        import "google/protobuf/timestamp.proto";
        import "google/protobuf/wrappers.proto";
        import "google/type/date.proto";
        import "google/type/timeofday.proto";

        message Event {
          confluent.type.Decimal amount = 1 [(confluent.field_meta) = { params: [{ key: "scale", value: "2" }] }];
          google.type.Date day = 2;
          google.type.TimeOfDay at = 3;
          google.protobuf.Timestamp when = 4;
          optional string note = 5;
          Kind kind = 6;
          oneof choice {
            string text = 7;
            int64 number = 8;
          }
          google.protobuf.Int32Value maybe = 9;
          enum Kind { UNKNOWN = 0; BIG = 1; }
        }
        """
    /// Python's protobuf: amount -12.34, 2024-02-29, 12:34:56.789, 1700000000.123 s, note "", kind BIG, number 0,
    /// maybe an empty Int32Value.
    static let bytes: [UInt8] = [
        0, 0, 0, 0, 9, 0, 10, 8, 10, 2, 251, 46, 16, 4, 24, 2, 18, 7, 8, 232, 15, 16, 2, 24, 29, 26, 12, 8, 12, 16, 34, 24, 56,
        32, 192, 222, 156, 248, 2, 34, 11, 8, 128, 226, 207, 170, 6, 16, 192, 169, 211, 58, 42, 0, 48, 1, 64, 0, 74, 0,
    ]

    static func converter(_ configs: [String: String]) throws -> ProtobufConverter {
        let registry = FixedProtobufRegistry(schemas: [9: RegistrySchema(id: 9, schemaType: "PROTOBUF", schema: text)])
        return try ProtobufConverterTests.converter(registry, configs)
    }

    @Test func readsAndWritesTheSameBytes() throws {
        let converter = try Self.converter(["optional.for.nullables": "true"])
        let (schema, value) = try converter.toConnectData(topic: "events", bytes: Self.bytes)
        let read = try #require(schema)
        #expect(read.fields.map(\.name) == ["choice_0", "amount", "day", "at", "when", "note", "kind", "maybe"])
        #expect(read.field("choice_0")?.schema.name == "io.confluent.connect.protobuf.Union.choice")
        #expect(read.field("kind")?.schema.parameter("io.confluent.connect.protobuf.Enum.BIG") == "1")
        guard case let .structure(event) = value else { Issue.record("not a struct"); return }
        #expect(event["amount"] == .bytes([0xFB, 0x2E]))
        #expect(event["day"] == .int32(19782))
        #expect(event["at"] == .int32(45_296_789))
        #expect(event["when"] == .int64(1_700_000_000_123))
        #expect(event["note"] == .string(""))
        #expect(event["kind"] == .string("BIG"))
        guard case let .structure(choice)? = event["choice_0"] else { Issue.record("no oneof"); return }
        #expect(choice["number"] == .int64(0))
        #expect(choice["text"] == .null)

        let writer = try ProtobufConverterTests.converter(InMemorySchemaRegistryClient(), ["optional.for.nullables": "true"])
        let written = try #require(try writer.fromConnectData(topic: "events", schema: read, value: value))
        // The same bytes, but for the wrapper read as a struct: its field, optional in Connect, becomes a proto3
        // `optional int32 value` that carries its 0 (74, 2, 8, 0 where Python wrote the empty message 74, 0).
        #expect(Array(written.dropFirst(6)) == Array(Self.bytes.dropFirst(6).dropLast(2)) + [74, 2, 8, 0])
    }

    @Test func wrappersReadAsOptionalPrimitives() throws {
        let converter = try Self.converter(["wrapper.for.nullables": "true"])
        let (schema, value) = try converter.toConnectData(topic: "events", bytes: Self.bytes)
        #expect(schema?.field("maybe")?.schema.type == .int32)
        #expect(schema?.field("maybe")?.schema.isOptional == true)
        guard case let .structure(event) = value else { Issue.record("not a struct"); return }
        #expect(event["maybe"] == .int32(0))
        // Without the setting a wrapper is a struct with its value field, as in Confluent.
        let plain = try Self.converter([:]).toConnectData(topic: "events", bytes: Self.bytes)
        #expect(plain.schema?.field("maybe")?.schema.type == .structure)
    }
}
