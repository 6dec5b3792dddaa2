import SchemaRegistry
import Testing
@testable import VltavaConnect

@Suite("RegistryJSONSerializer (typed JSON written with a subject's latest schema)")
struct RegistryJSONSerializerTests {
    static let avroSchema = """
        {"type":"record","name":"Order","namespace":"com.acme","fields":[
          {"name":"id","type":"int"},
          {"name":"name","type":"string"},
          {"name":"note","type":["null","string"],"default":null},
          {"name":"address","type":{"type":"record","name":"Address","fields":[
            {"name":"city","type":"string"},{"name":"zip","type":["null","int"],"default":null}]}},
          {"name":"tags","type":{"type":"array","items":"string"}},
          {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
          {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
          {"name":"choice","type":["null","string","long"],"default":null}
        ]}
        """

    static let protobufSchema = """
        syntax = "proto3";
        package com.acme;

        message Order {
          int32 id = 1;
          string name = 2;
          repeated string tags = 3;
          Address address = 4;
          Status status = 5;
          oneof payment {
            string card = 6;
            int64 voucher = 7;
          }
          message Address {
            string city = 1;
            int32 zip = 2;
          }
          enum Status {
            NEW = 0;
            PAID = 1;
          }
        }
        """

    static let jsonSchema = """
        {"type":"object","properties":{
          "name":{"type":"string","minLength":1},
          "amount":{"type":"number","minimum":0},
          "tags":{"type":"array","items":{"type":"string"}},
          "kind":{"enum":["a","b"]}},
         "required":["name","amount"],"additionalProperties":false}
        """

    /// A registry holding `schema` as the second version of `subject` (the first an older schema of the same type),
    /// and the latest version's id.
    static func registry(_ schemaType: String, _ schema: String, subject: String = "orders-value",
                         older: String) throws -> (InMemorySchemaRegistryClient, Int32) {
        let registry = InMemorySchemaRegistryClient()
        _ = try registry.register(subject: subject, schemaType: schemaType, schema: older, normalize: false)
        let id = try registry.register(subject: subject, schemaType: schemaType, schema: schema, normalize: false)
        return (registry, id)
    }

    static func avro() throws -> (InMemorySchemaRegistryClient, Int32) {
        try registry("AVRO", avroSchema, older: #"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"int"}]}"#)
    }

    static func protobuf() throws -> (InMemorySchemaRegistryClient, Int32) {
        try registry("PROTOBUF", protobufSchema, older: "syntax = \"proto3\";\npackage com.acme;\n\nmessage Order {\n  int32 id = 1;\n}\n")
    }

    static func json() throws -> (InMemorySchemaRegistryClient, Int32) {
        try registry("JSON", jsonSchema, older: #"{"type":"object"}"#)
    }

    static func schemaId(_ bytes: [UInt8]) -> Int32 {
        Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
    }

    /// The message of the error `body` throws.
    static func failure(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    static func structure(_ value: ConnectValue) -> ConnectStruct? {
        if case let .structure(found) = value { return found }
        return nil
    }

    // MARK: AVRO

    @Test(arguments: [
        #"{"id":7,"name":"x","note":"hi","address":{"city":"Prague"},"tags":["a","b"],"status":"PAID","amount":12.5,"choice":42}"#,
        #"{"id":7,"name":"x","note":{"string":"hi"},"address":{"city":"Prague","zip":null},"tags":["a","b"],"status":"PAID","amount":"12.50","choice":{"long":42}}"#,
    ])
    func avroPlainAndAvroEncodedJSON(input: String) throws {
        let (registry, id) = try Self.avro()
        let bytes = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false)
        #expect(Self.schemaId(bytes) == id)
        var reader = AvroConverter(client: registry)
        try reader.configure([:], isKey: false)
        let value = try #require(Self.structure(try reader.toConnectData(topic: "orders", bytes: bytes).value))
        #expect(value["id"] == .int32(7))
        #expect(value["name"] == .string("x"))
        #expect(value["note"] == .string("hi"))
        let address = try #require(value["address"].flatMap(Self.structure))
        #expect(address["city"] == .string("Prague"))
        #expect(address["zip"] == .null)
        #expect(value["tags"] == .array([.string("a"), .string("b")]))
        #expect(value["status"] == .string("PAID"))
        #expect(value["amount"] == .bytes([0x04, 0xE2]))  // 1250 at scale 2
        let choice = try #require(value["choice"].flatMap(Self.structure))
        #expect(choice["long"] == .int64(42))
        #expect(choice["string"] == .null)
    }

    @Test func avroUnionTakesTheFirstMemberTheValueFits() throws {
        let (registry, _) = try Self.avro()
        let input = #"{"id":1,"name":"x","address":{"city":"c"},"tags":[],"status":"NEW","amount":0,"choice":"text"}"#
        let bytes = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false)
        var reader = AvroConverter(client: registry)
        try reader.configure([:], isKey: false)
        let value = try #require(Self.structure(try reader.toConnectData(topic: "orders", bytes: bytes).value))
        #expect(value["note"] == .null)
        #expect(value["choice"].flatMap(Self.structure)?["string"] == .string("text"))
    }

    @Test(arguments: [
        (#""id":"abc""#, #"field 'id': expected an integer from -2147483648 to 2147483647, got "abc""#),
        (#""id":3.5"#, "field 'id': expected an integer from -2147483648 to 2147483647, got 3.5"),
        (#""id":3000000000"#, "field 'id': expected an integer from -2147483648 to 2147483647, got 3000000000"),
        (#""status":"LOST""#, #"field 'status': expected one of "NEW", "PAID", got "LOST""#),
        (#""address":{"city":5}"#, "field 'address.city': expected a string, got 5"),
        (#""nmae":"y""#, "field 'nmae' is not in the schema (its fields: id, name, note, address, tags, status, amount, choice)"),
        (#""tags":["a",1]"#, "field 'tags[1]': expected a string, got 1"),
        (#""choice":true"#, "field 'choice': expected one of: a string; or an integer; got true"),
        (#""name":null"#, "field 'name': expected a string, got null"),
        (#""amount":1.234"#, "field 'amount': expected a decimal number, got 1.234 (BigDecimal has mismatching scale value for given Decimal schema)"),
        (#""amount":true"#, "field 'amount': expected a decimal number, got true"),
    ])
    func avroRefusesWhatDoesNotFitNamingTheField(change: String, message: String) throws {
        let (registry, _) = try Self.avro()
        // A valid value with one member replaced or added.
        var members = [#""id":1"#, #""name":"x""#, #""address":{"city":"c"}"#, #""tags":[]"#, #""status":"NEW""#, #""amount":1"#]
        let changed = change.prefix { $0 != ":" }
        members.removeAll { $0.hasPrefix(changed + ":") }
        members.append(change)
        let input = "{" + members.joined(separator: ",") + "}"
        let error = Self.failure { _ = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false) }
        #expect(error == message)
    }

    @Test func avroMissingRequiredField() throws {
        let (registry, _) = try Self.avro()
        let error = Self.failure {
            _ = try RegistryJSONSerializer(client: registry).serialize(json: #"{"id":1}"#, subject: "orders-value", topic: "orders", isKey: false)
        }
        #expect(error == "field 'name' is missing (it is required: a string)")
    }

    // MARK: PROTOBUF

    /// The 64-bit voucher as a number, and as Protobuf's JSON mapping writes it (a string of digits).
    @Test(arguments: ["5", #""5""#])
    func protobufNestedRepeatedEnumAndOneof(voucher: String) throws {
        let (registry, id) = try Self.protobuf()
        let input = #"{"id":7,"name":"x","tags":["a","b"],"address":{"city":"Prague","zip":11000},"status":"PAID","voucher":"# + voucher + "}"
        let bytes = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false)
        #expect(Self.schemaId(bytes) == id)
        #expect(bytes[5] == 0)  // message indexes [0], written as a single zero
        var reader = ProtobufConverter(client: registry)
        try reader.configure([:], isKey: false)
        let value = try #require(Self.structure(try reader.toConnectData(topic: "orders", bytes: bytes).value))
        #expect(value["id"] == .int32(7))
        #expect(value["name"] == .string("x"))
        #expect(value["tags"] == .array([.string("a"), .string("b")]))
        let address = try #require(value["address"].flatMap(Self.structure))
        #expect(address["city"] == .string("Prague"))
        #expect(address["zip"] == .int32(11000))
        #expect(value["status"] == .string("PAID"))
        #expect(value["payment_0"].flatMap(Self.structure)?["voucher"] == .int64(5))
    }

    @Test(arguments: [
        (#"{"status":"LOST"}"#, #"field 'status': expected one of "NEW", "PAID", got "LOST""#),
        (#"{"card":"x","voucher":5}"#, "the value: only one of card, voucher may be set (they are one oneof), got card, voucher"),
        (#"{"address":{"city":"c","street":"s"}}"#, "field 'address.street' is not in the schema (its fields: city, zip)"),
        (#"{"id":"7"}"#, #"field 'id': expected an integer from -2147483648 to 2147483647, got "7""#),
        (#"[1]"#, "the value: expected an object, got [1]"),
    ])
    func protobufRefusesWhatDoesNotFit(input: String, message: String) throws {
        let (registry, _) = try Self.protobuf()
        let error = Self.failure { _ = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false) }
        #expect(error == message)
    }

    // MARK: JSON Schema

    @Test func jsonSchemaValidValueWrittenAsTyped() throws {
        let (registry, id) = try Self.json()
        let input = #"{ "name": "x", "amount": 3.5, "tags": ["a"] }"#
        let bytes = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false)
        #expect(Self.schemaId(bytes) == id)
        #expect(String(decoding: bytes[5...], as: UTF8.self) == #"{"name":"x","amount":3.5,"tags":["a"]}"#)
        var reader = JsonSchemaConverter(client: registry)
        try reader.configure([:], isKey: false)
        let value = try #require(Self.structure(try reader.toConnectData(topic: "orders", bytes: bytes).value))
        #expect(value["name"] == .string("x"))
        #expect(value["amount"] == .float64(3.5))
        #expect(value["tags"] == .array([.string("a")]))
    }

    @Test(arguments: [
        (#"{"name":"x","amount":"abc"}"#, #"field 'amount': expected a number, got "abc""#),
        (#"{"name":"x"}"#, "field 'amount' is missing (it is required)"),
        (#"{"name":"x","amount":-1}"#, "field 'amount': expected a number of at least 0, got -1"),
        (#"{"name":"","amount":1}"#, #"field 'name': expected a string of at least 1 characters, got """#),
        (#"{"name":"x","amount":1,"tags":["a",2]}"#, "field 'tags[1]': expected a string, got 2"),
        (#"{"name":"x","amount":1,"kind":"c"}"#, #"field 'kind': expected one of "a", "b", got "c""#),
        (#"{"name":"x","amount":1,"extra":true}"#, "field 'extra' is not in the schema (its properties: name, amount, tags, kind)"),
        ("[]", "the value: expected an object, got []"),
    ])
    func jsonSchemaRefusesInvalidValues(input: String, message: String) throws {
        let (registry, _) = try Self.json()
        let error = Self.failure { _ = try RegistryJSONSerializer(client: registry).serialize(json: input, subject: "orders-value", topic: "orders", isKey: false) }
        #expect(error == message)
    }

    @Test func jsonSchemaCombinationsAndReferences() throws {
        let schema = """
            {"definitions":{"money":{"type":"number","exclusiveMinimum":0}},
             "oneOf":[{"type":"object","properties":{"price":{"$ref":"#/definitions/money"}},"required":["price"]},
                      {"type":"string","pattern":"^[A-Z]{3}$"}]}
            """
        let (registry, _) = try Self.registry("JSON", schema, older: "{}")
        let serializer = RegistryJSONSerializer(client: registry)
        _ = try serializer.serialize(json: #"{"price":2}"#, subject: "orders-value", topic: "orders", isKey: false)
        _ = try serializer.serialize(json: #""EUR""#, subject: "orders-value", topic: "orders", isKey: false)
        let zero = Self.failure { _ = try serializer.serialize(json: #"{"price":0}"#, subject: "orders-value", topic: "orders", isKey: false) }
        #expect(zero == #"the value fits none of the schemas oneOf lists (field 'price': expected a number greater than 0, got 0; "#
                 + #"or the value: expected a string, got {"price":0})"#)
        let lower = Self.failure { _ = try serializer.serialize(json: #""eur""#, subject: "orders-value", topic: "orders", isKey: false) }
        #expect(lower == #"the value fits none of the schemas oneOf lists (the value: expected an object, got "eur"; "#
                 + #"or the value: expected a string matching /^[A-Z]{3}$/, got "eur")"#)
    }

    // MARK: Subjects and input

    @Test func anySubjectIsWrittenWithItsLatestId() throws {
        let (registry, id) = try Self.registry("JSON", Self.jsonSchema, subject: "shared-order", older: "{}")
        let bytes = try RegistryJSONSerializer(client: registry).serialize(
            json: #"{"name":"x","amount":1}"#, subject: "shared-order", topic: "orders", isKey: true)
        #expect(Self.schemaId(bytes) == id)
        let (avroRegistry, avroId) = try Self.avro()
        let avroBytes = try RegistryJSONSerializer(client: avroRegistry).serialize(
            json: #"{"id":1,"name":"x","address":{"city":"c"},"tags":[],"status":"NEW","amount":1}"#,
            subject: "orders-value", topic: "another-topic", isKey: false)
        #expect(Self.schemaId(avroBytes) == avroId)
    }

    @Test func inputThatIsNotJSONOrASubjectThatDoesNotExist() throws {
        let (registry, _) = try Self.json()
        let serializer = RegistryJSONSerializer(client: registry)
        let notJSON = Self.failure { _ = try serializer.serialize(json: "{name: x}", subject: "orders-value", topic: "orders", isKey: false) }
        #expect(notJSON.hasPrefix("The value is not JSON"))
        let missing = Self.failure { _ = try serializer.serialize(json: "{}", subject: "nope", topic: "orders", isKey: false) }
        #expect(missing.hasPrefix("Cannot read the latest schema of subject nope"))
    }
}
