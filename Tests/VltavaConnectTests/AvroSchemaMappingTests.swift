import SchemaRegistry
import Testing
@testable import VltavaConnect

/// Connect schemas ↔ Avro schemas as Confluent's AvroData maps them; the expected texts are what Avro's Java
/// library writes for the schemas Confluent's code builds (property order included).
@Suite("Avro schema mapping (Confluent's AvroData)")
struct AvroSchemaMappingTests {
    static func avro(_ schema: ConnectSchema, _ data: AvroData = AvroData()) throws -> String {
        try data.fromConnectSchema(schema).jsonText
    }

    static func connect(_ text: String, version: Int32? = nil, _ data: AvroData = AvroData()) throws -> ConnectSchema {
        try data.toConnectSchema(try AvroType.parse(text), version: version)
    }

    @Test func primitivesAndTheirConnectTypeAnnotations() throws {
        #expect(try Self.avro(.int32) == #""int""#)
        #expect(try Self.avro(.int64) == #""long""#)
        #expect(try Self.avro(.float32) == #""float""#)
        #expect(try Self.avro(.float64) == #""double""#)
        #expect(try Self.avro(.boolean) == #""boolean""#)
        #expect(try Self.avro(.string) == #""string""#)
        #expect(try Self.avro(.bytes) == #""bytes""#)
        #expect(try Self.avro(.int8) == #"{"type":"int","connect.type":"int8"}"#)
        #expect(try Self.avro(.int16) == #"{"type":"int","connect.type":"int16"}"#)
        #expect(try Self.avro(.optionalInt16) == #"["null",{"type":"int","connect.type":"int16"}]"#)
        #expect(try Self.avro(.optionalString) == #"["null","string"]"#)
        for schema in [ConnectSchema.int8, .int16, .int32, .int64, .float32, .float64, .boolean, .string, .bytes,
                       .optionalInt8, .optionalInt64, .optionalBytes] {
            #expect(try Self.connect(try Self.avro(schema)) == schema, "\(schema)")
        }
    }

    @Test func logicalTypes() throws {
        #expect(try Self.avro(ConnectLogical.decimal(scale: 2)) == #"{"type":"bytes","scale":2,"precision":64,"connect.version":1,"#
            + #""connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}"#)
        let precise = ConnectSchema(type: .bytes, name: ConnectLogical.decimalName, version: 1,
                                    parameters: [("scale", "3"), ("connect.decimal.precision", "10")])
        #expect(try Self.avro(precise) == #"{"type":"bytes","scale":3,"precision":10,"connect.version":1,"#
            + #""connect.parameters":{"scale":"3","connect.decimal.precision":"10"},"#
            + #""connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}"#)
        #expect(try Self.avro(ConnectLogical.date()) == #"{"type":"int","connect.version":1,"#
            + #""connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}"#)
        #expect(try Self.avro(ConnectLogical.time()) == #"{"type":"int","connect.version":1,"#
            + #""connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}"#)
        #expect(try Self.avro(ConnectLogical.timestamp(isOptional: true)) == #"["null",{"type":"long","connect.version":1,"#
            + #""connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}]"#)
        for schema in [ConnectLogical.decimal(scale: 2), precise, ConnectLogical.date(), ConnectLogical.time(),
                       ConnectLogical.timestamp(isOptional: true)] {
            #expect(try Self.connect(try Self.avro(schema)) == schema, "\(schema)")
        }
        // Plain Avro logical types, as other producers write them.
        #expect(try Self.connect(#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#)
            == ConnectSchema(type: .bytes, name: ConnectLogical.decimalName, version: 1,
                             parameters: [("scale", "2"), ("connect.decimal.precision", "10")]))
        #expect(try Self.connect(#"{"type":"int","logicalType":"date"}"#) == ConnectLogical.date())
        #expect(try Self.connect(#"{"type":"int","logicalType":"time-millis"}"#) == ConnectLogical.time())
        #expect(try Self.connect(#"{"type":"long","logicalType":"timestamp-millis"}"#) == ConnectLogical.timestamp())
        #expect(try Self.connect(#"{"type":"long","logicalType":"timestamp-micros"}"#) == .int64)
        // The registry's version must agree with a logical type's own.
        #expect(throws: ConnectError.self) { try Self.connect(#"{"type":"int","logicalType":"date"}"#, version: 3) }
    }

    @Test func structsAreRecordsNamedByTheSchemaOrConnectDefault() throws {
        let inner = ConnectSchema.structure(fields: [("x", .int32)])
        let outer = ConnectSchema.structure(fields: [("id", .int32), ("name", .optionalString), ("inner", inner)])
        #expect(try Self.avro(outer) == #"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":["#
            + #"{"name":"id","type":"int"},{"name":"name","type":["null","string"],"default":null},"#
            + #"{"name":"inner","type":{"type":"record","name":"ConnectDefault2","fields":[{"name":"x","type":"int"}]}}]}"#)
        // Unnamed records come back unnamed.
        #expect(try Self.connect(try Self.avro(outer)) == outer)

        let user = ConnectSchema(type: .structure, name: "com.example.User", version: 2, doc: "a user",
                                 fields: [ConnectField(name: "id", index: 0, schema: .int64)])
        let text = try Self.avro(user)
        #expect(text == #"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"}],"#
            + #""connect.doc":"a user","connect.version":2,"connect.name":"com.example.User"}"#)
        #expect(try Self.connect(text) == user)
        #expect(try Self.avro(user.with(isOptional: true)) == "[\"null\",\(text)]")

        // A type used twice is defined once, then named.
        let twice = ConnectSchema.structure(name: "com.example.Pair", fields: [("a", user), ("b", user)])
        #expect(try Self.avro(twice).contains(#"{"name":"b","type":"User"}"#))
        #expect(try Self.connect(try Self.avro(twice)) == twice)
    }

    @Test func mapsWithStringKeysAreAvroMapsOthersAreArraysOfEntries() throws {
        #expect(try Self.avro(.map(keys: .string, values: .int64)) == #"{"type":"map","values":"long"}"#)
        let intKeys = ConnectSchema.map(keys: .int32, values: .string)
        #expect(try Self.avro(intKeys) == #"{"type":"array","items":{"type":"record","name":"MapEntry","#
            + #""namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}"#)
        let optionalKeys = ConnectSchema.map(keys: .optionalString, values: .string)
        #expect(try Self.avro(optionalKeys).contains("MapEntry"))
        var allowing = AvroData()
        allowing.allowOptionalMapKeys = true
        #expect(try Self.avro(optionalKeys, allowing) == #"{"type":"map","values":"string"}"#)
        for schema in [ConnectSchema.map(keys: .string, values: .int64), intKeys, optionalKeys,
                       .array(of: .optionalFloat64), .array(of: intKeys, isOptional: true)] {
            #expect(try Self.connect(try Self.avro(schema)) == schema, "\(schema)")
        }
    }

    @Test func metadataDefaultsAndParameters() throws {
        let withDefault = ConnectSchema(type: .int32, isOptional: true, defaultValue: .int32(5))
        #expect(try Self.avro(withDefault) == #"[{"type":"int","connect.default":5},"null"]"#)
        let described = ConnectSchema(type: .string, defaultValue: .string("x"), name: "com.example.Code", version: 3,
                                      doc: "a code", parameters: [("k", "v")])
        #expect(try Self.avro(described) == #"{"type":"string","connect.doc":"a code","connect.version":3,"#
            + #""connect.parameters":{"k":"v"},"connect.default":"x","connect.name":"com.example.Code"}"#)
        #expect(try Self.connect(try Self.avro(described)) == described)

        let record = ConnectSchema.structure(name: "R", fields: [
            ("n", withDefault), ("f", ConnectSchema(type: .float32, defaultValue: .float32(1.5))),
            ("b", ConnectSchema(type: .bytes, defaultValue: .bytes([0x00, 0xFF]))),
        ])
        let text = try Self.avro(record)
        #expect(text == #"{"type":"record","name":"R","fields":[{"name":"n","type":[{"type":"int","connect.default":5},"null"],"#
            + #""default":5},{"name":"f","type":{"type":"float","connect.default":1.5},"default":1.5},"#
            + #"{"name":"b","type":{"type":"bytes","connect.default":"\u0000ÿ"},"default":"\u0000ÿ"}],"connect.name":"R"}"#)
        #expect(try Self.connect(text) == record)

        // Without connect.meta.data only the Avro types remain.
        var bare = AvroData()
        bare.connectMetaData = false
        #expect(try Self.avro(described, bare) == #""string""#)
        #expect(try Self.avro(ConnectLogical.date(), bare) == #"{"type":"int","logicalType":"date"}"#)
    }

    @Test func avroOnlyFeaturesBecomeParameters() throws {
        let text = #"{"type":"record","name":"Order","namespace":"shop","doc":"an order","fields":["#
            + #"{"name":"status","doc":"its state","type":{"type":"enum","name":"Status","symbols":["NEW","DONE"],"default":"NEW"}},"#
            + #"{"name":"count","type":"int","default":1},"#
            + #"{"name":"hash","type":{"type":"fixed","name":"Hash","size":2}},"#
            + #"{"name":"choice","type":["null","string","long"]}]}"#
        let schema = try Self.connect(text)
        #expect(schema.name == "shop.Order")
        #expect(schema.parameter("io.confluent.connect.avro.record.doc") == "an order")
        #expect(schema.parameter("io.confluent.connect.avro.field.doc.status") == "its state")
        let status = try #require(schema.field("status")?.schema)
        #expect(status.type == .string && status.name == "shop.Status")
        #expect(status.parameters?.map(\.0) == ["io.confluent.connect.avro.enum.default.Status", "io.confluent.connect.avro.Enum",
                                                "io.confluent.connect.avro.Enum.NEW", "io.confluent.connect.avro.Enum.DONE"])
        let count = try #require(schema.field("count")?.schema)
        #expect(count.defaultValue == .int32(1) && count.parameter("io.confluent.connect.avro.field.default") == "true")
        let hash = try #require(schema.field("hash")?.schema)
        #expect(hash.type == .bytes && hash.name == "shop.Hash" && hash.parameter("connect.fixed.size") == "2")
        let choice = try #require(schema.field("choice")?.schema)
        #expect(choice.name == "io.confluent.connect.avro.Union" && choice.isOptional)
        #expect(choice.fields.map(\.name) == ["string", "long"])

        // Back to Avro: docs and the enum return with enhanced support, the default flag keeps connect.default out.
        var enhanced = AvroData()
        enhanced.enhancedSchemaSupport = true
        #expect(try Self.avro(schema, enhanced) == #"{"type":"record","name":"Order","namespace":"shop","doc":"an order","fields":["#
            + #"{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","DONE"],"default":"NEW","#
            + #""connect.parameters":{"io.confluent.connect.avro.enum.default.Status":"NEW","io.confluent.connect.avro.Enum":"shop.Status","#
            + #""io.confluent.connect.avro.Enum.NEW":"NEW","io.confluent.connect.avro.Enum.DONE":"DONE"},"connect.name":"shop.Status"},"#
            + #""doc":"its state"},{"name":"count","type":"int","default":1},{"name":"hash","type":{"type":"fixed","name":"Hash","size":2,"#
            + #""connect.parameters":{"connect.fixed.size":"2"},"connect.name":"shop.Hash"}},"#
            + #"{"name":"choice","type":["null","string","long"],"default":null}],"#
            + #""connect.parameters":{"io.confluent.connect.avro.record.doc":"an order","io.confluent.connect.avro.field.doc.status":"its state"},"#
            + #""connect.name":"shop.Order"}"#)
        // Without it, the enum is a string.
        #expect(try Self.avro(status).hasPrefix(#"{"type":"string","#))
    }

    @Test func unsupportedAndInvalidSchemas() throws {
        #expect(throws: ConnectError.data("Standalone null schemas are not supported by this converter")) {
            try Self.connect(#""null""#)
        }
        #expect(throws: ConnectError.self) {
            try Self.connect(#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}"#)
        }
        #expect(throws: AvroError.self) { try AvroType.parse(#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#) }
        #expect(throws: AvroError.self) { try AvroType.parse(#"{"type":"record","name":"1R","fields":[]}"#) }
        #expect(throws: AvroError.self) { try AvroType.parse("[[\"int\"]]") }
        // A schema that doubles at each level is refused before it costs much.
        var text = #"{"type":"record","name":"T0","fields":[{"name":"a","type":"int"}]}"#
        for level in 1...20 {
            text = #"{"type":"record","name":"T\#(level)","fields":[{"name":"a","type":\#(text)},{"name":"b","type":"T\#(level - 1)"}]}"#
        }
        #expect(throws: AvroError.self) { try AvroType.parse(text) }
    }

    @Test func schemaTextRoundTripsThroughTheParser() throws {
        let texts = [
            #"{"type":"record","name":"A","namespace":"x.y","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[]}},"#
                + #"{"name":"c","type":"B"},{"name":"d","type":{"type":"record","name":"D","namespace":"","fields":[]}}]}"#,
            #"{"type":"map","values":{"type":"array","items":["null",{"type":"fixed","name":"F","size":16}]}}"#,
            #"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"],"default":null,"order":"descending","aliases":["n"]}],"aliases":["M"]}"#,
        ]
        for text in texts {
            #expect(try AvroType.parse(text).jsonText == text)
        }
    }

    @Test func scrubbedNames() {
        #expect(AvroData.scrub("valid_Name1") == "valid_Name1")
        #expect(AvroData.scrub("1abc") == "x1abc")
        #expect(AvroData.scrub("a-b c") == "a_b_c")
        #expect(AvroData.scrub("é") == "_C3_A9")
    }
}
