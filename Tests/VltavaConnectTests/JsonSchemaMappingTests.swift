@testable import SchemaRegistry
import Testing
@testable import VltavaConnect

@Suite("JSON Schema mapping (Confluent's JsonSchemaData)")
struct JsonSchemaMappingTests {
    static func text(_ schema: ConnectSchema, _ data: JsonSchemaData = JsonSchemaData()) throws -> String {
        try data.fromConnectSchema(schema).serialized
    }

    static func connect(_ text: String, _ data: JsonSchemaData = JsonSchemaData(), version: Int32? = nil) throws -> ConnectSchema {
        try data.toConnectSchema(try JSONParser.parse(text), version: version)
    }

    @Test func primitivesCarryTheirConnectType() throws {
        #expect(try Self.text(.int8) == #"{"type":"integer","connect.type":"int8"}"#)
        #expect(try Self.text(.int16) == #"{"type":"integer","connect.type":"int16"}"#)
        #expect(try Self.text(.int32) == #"{"type":"integer","connect.type":"int32"}"#)
        #expect(try Self.text(.int64) == #"{"type":"integer","connect.type":"int64"}"#)
        #expect(try Self.text(.float32) == #"{"type":"number","connect.type":"float32"}"#)
        #expect(try Self.text(.float64) == #"{"type":"number","connect.type":"float64"}"#)
        #expect(try Self.text(.boolean) == #"{"type":"boolean"}"#)
        #expect(try Self.text(.string) == #"{"type":"string"}"#)
        #expect(try Self.text(.bytes) == #"{"type":"string","connect.type":"bytes"}"#)
        #expect(try Self.text(.optionalString) == #"{"oneOf":[{"type":"null"},{"type":"string"}]}"#)
    }

    @Test func logicalTypesAreTitledWithTheirConnectName() throws {
        #expect(try Self.text(ConnectLogical.decimal(scale: 2)) == #"{"type":"string","title":"org.apache.kafka.connect.data.Decimal","#
            + #""connect.type":"bytes","connect.version":1,"connect.parameters":{"scale":"2"}}"#)
        var numeric = JsonSchemaData()
        numeric.decimalFormat = .numeric
        #expect(try Self.text(ConnectLogical.decimal(scale: 2), numeric).hasPrefix(#"{"type":"number","title":"org.apache.kafka.connect.data.Decimal""#))
        #expect(try Self.text(ConnectLogical.date()) == #"{"type":"integer","title":"org.apache.kafka.connect.data.Date","#
            + #""connect.type":"int32","connect.version":1}"#)
        #expect(try Self.text(ConnectLogical.time()) == #"{"type":"integer","title":"org.apache.kafka.connect.data.Time","#
            + #""connect.type":"int32","connect.version":1}"#)
        #expect(try Self.text(ConnectLogical.timestamp(isOptional: true)) == #"{"oneOf":[{"type":"null"},{"type":"integer","#
            + #""title":"org.apache.kafka.connect.data.Timestamp","connect.type":"int64","connect.version":1}]}"#)
    }

    @Test func structsAreObjectsWithIndexedProperties() throws {
        let schema = ConnectSchema(type: .structure, name: "com.example.User", doc: "a user", fields: [
            ConnectField(name: "id", index: 0, schema: .int32),
            ConnectField(name: "name", index: 1, schema: .optionalString),
            ConnectField(name: "n", index: 2, schema: ConnectSchema(type: .int64, defaultValue: .int64(5))),
        ])
        let expected = #"{"type":"object","title":"com.example.User","description":"a user","properties":{"#
            + #""id":{"type":"integer","connect.index":0,"connect.type":"int32"},"#
            + #""name":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1},"#
            + #""n":{"type":"integer","default":5,"connect.index":2,"connect.type":"int64"}}}"#
        #expect(try Self.text(schema) == expected)
        var closed = JsonSchemaData()
        closed.allowAdditionalProperties = false
        #expect(try Self.text(schema, closed).contains(#"}},"additionalProperties":false}"#))
        #expect(try Self.connect(expected) == schema)
    }

    @Test func optionalStructsAreWrappedWholeInOneOf() throws {
        let inner = ConnectSchema.structure(name: "In", fields: [("a", .string)], isOptional: true)
        let outer = ConnectSchema.structure(name: "Out", fields: [("in", inner)])
        let text = try Self.text(outer)
        #expect(text == #"{"type":"object","title":"Out","properties":{"in":{"oneOf":[{"type":"null"},{"type":"object","title":"In","#
            + #""properties":{"a":{"type":"string","connect.index":0}}}],"connect.index":0}}}"#)
        #expect(try Self.connect(text) == outer)
    }

    @Test func mapsAreObjectsOrArraysOfEntries() throws {
        let stringKeys = ConnectSchema.map(keys: .string, values: .int64)
        #expect(try Self.text(stringKeys) == #"{"type":"object","additionalProperties":{"type":"integer","connect.type":"int64"},"connect.type":"map"}"#)
        let intKeys = ConnectSchema.map(keys: .int32, values: .optionalString)
        let text = try Self.text(intKeys)
        #expect(text == #"{"type":"array","items":{"type":"object","properties":{"key":{"type":"integer","connect.index":0,"connect.type":"int32"},"#
            + #""value":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1}}},"connect.type":"map"}"#)
        #expect(try Self.connect(text) == intKeys)
        #expect(try Self.connect(Self.text(stringKeys)) == stringKeys)
        // Optional string keys cannot be object member names.
        #expect(try Self.text(.map(keys: .optionalString, values: .int32)).hasPrefix(#"{"type":"array""#))
    }

    @Test func everyTypeRoundTrips() throws {
        let enumSchema = ConnectSchema(type: .string, parameters: [(JsonSchemaData.enumParameter, ""),
                                                                   (JsonSchemaData.enumParameter + ".A", "A"),
                                                                   (JsonSchemaData.enumParameter + ".B", "B")])
        let oneOf = ConnectSchema(type: .structure, isOptional: true, name: JsonSchemaData.oneOfName, fields: [
            ConnectField(name: JsonSchemaData.oneOfName + ".field.0", index: 0, schema: .optionalInt32),
            ConnectField(name: JsonSchemaData.oneOfName + ".field.1", index: 1, schema: .optionalString),
        ])
        let schemas: [ConnectSchema] = [
            .int8, .int16, .int32, .int64, .float32, .float64, .boolean, .string, .bytes, .optionalBytes, .optionalFloat64,
            ConnectLogical.decimal(scale: 3), ConnectLogical.date(isOptional: true), ConnectLogical.time(), ConnectLogical.timestamp(),
            .array(of: .optionalInt16), .map(keys: .string, values: .array(of: .string)), .map(keys: .int64, values: .boolean),
            ConnectSchema(type: .string, defaultValue: .string("x"), name: "Named", version: 3, doc: "d", parameters: [("p", "v")]),
            enumSchema, oneOf,
            .structure(name: "S", fields: [("e", enumSchema), ("u", oneOf), ("m", .map(keys: .int8, values: .float32, isOptional: true))]),
        ]
        for schema in schemas {
            let text = try Self.text(schema)
            #expect(try Self.connect(text) == schema, "\(schema)")
            // Vltava's own registry accepts what the converter registers.
            #expect(throws: Never.self) { _ = try ParsedSchema.parse(.json, text) }
        }
        #expect(try Self.text(enumSchema) == #"{"enum":["A","B"]}"#)
        #expect(try Self.text(oneOf) == #"{"oneOf":[{"type":"null"},{"type":"integer","connect.index":0,"connect.type":"int32"},"#
            + #"{"type":"string","connect.index":1}]}"#)
    }

    @Test func readsSchemasWrittenByOtherClients() throws {
        let schema = try Self.connect(#"""
            {"$schema":"http://json-schema.org/draft-07/schema#","title":"Order","type":"object",
             "properties":{"id":{"type":"integer"},"price":{"type":"number"},"note":{"type":["string","null"]},
                           "item":{"$ref":"#/definitions/Item"},"items":{"type":"array","items":{"$ref":"#/definitions/Item"}},
                           "state":{"type":"string","enum":["NEW","DONE"]},"one":{"const":"x"}},
             "required":["id"],
             "definitions":{"Item":{"type":"object","title":"Item","properties":{"sku":{"type":"string"}}}}}
            """#, version: 4)
        #expect(schema.name == "Order" && schema.version == 4)
        #expect(schema.fields.map(\.name) == ["id", "price", "note", "item", "items", "state", "one"])
        #expect(schema.field("id")?.schema == .int64)
        #expect(schema.field("price")?.schema == .float64)
        #expect(schema.field("note")?.schema == .optionalString)
        #expect(schema.field("item")?.schema.name == "Item")
        #expect(schema.field("items")?.schema.valueSchema?.field("sku")?.schema == .string)
        #expect(schema.field("state")?.schema.parameter(JsonSchemaData.enumParameter + ".DONE") == "DONE")
        #expect(schema.field("one")?.schema.parameter(JsonSchemaData.enumParameter + ".x") == "x")

        var optionalForNonRequired = JsonSchemaData()
        optionalForNonRequired.useOptionalForNonRequired = true
        let lenient = try Self.connect(#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a"]}"#,
                                       optionalForNonRequired)
        #expect(lenient.field("a")?.schema == .string && lenient.field("b")?.schema == .optionalString)
    }

    @Test func readsAllOfAndUnions() throws {
        let merged = try Self.connect(#"""
            {"allOf":[{"$ref":"#/$defs/Base"},{"properties":{"extra":{"type":"boolean"}}}],
             "$defs":{"Base":{"type":"object","properties":{"id":{"type":"string"}}}}}
            """#)
        #expect(merged.type == .structure && merged.fields.map(\.name) == ["id", "extra"])
        let union = try Self.connect(#"{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}"#)
        #expect(union.name == JsonSchemaData.oneOfName && union.isOptional)
        #expect(union.fields.map(\.schema) == [.optionalString, .optionalInt64])
        #expect(try Self.connect(#"{"anyOf":[{"type":"boolean"}]}"#) == .boolean)
        #expect(try Self.connect(#"{"allOf":[{"type":"string"},{"const":"x"}]}"#) == .string)
    }

    @Test func refusesWhatConnectCannotHold() throws {
        func message(_ text: String) -> String? {
            do {
                _ = try Self.connect(text)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(message("true")?.contains("accepts any value") == true)
        #expect(message(#"{"type":"null"}"#)?.contains("Unsupported schema type null") == true)
        #expect(message(#"{"type":"array"}"#)?.contains("did not specify the items type") == true)
        #expect(message(##"{"$ref":"other.json#/A"}"##)?.contains("another document") == true)
        #expect(message(##"{"$ref":"#/definitions/Missing"}"##)?.contains("points to nothing") == true)
        let recursive = ##"{"type":"object","title":"Node","properties":{"next":{"$ref":"#"}}}"##
        #expect(message(recursive)?.contains("recursive") == true)
        #expect(message(#"{"type":"integer","connect.type":"uint8"}"#)?.contains("Unsupported type uint8") == true)
    }
}
