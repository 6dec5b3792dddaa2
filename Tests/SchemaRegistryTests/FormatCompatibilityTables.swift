import Testing
@testable import SchemaRegistry

/// A compatibility case for a format: may `reader` read data written with `writer`?
struct FormatCompatibilityCase: CustomTestStringConvertible, Sendable {
    var name: String
    var reader: String
    var writer: String
    var compatible: Bool
    var testDescription: String { name }
}

private func proto(_ body: String, package: String? = nil) -> String {
    "syntax = \"proto3\";\n" + (package.map { "package \($0);\n" } ?? "") + body
}

private let base = "message M { string id = 1; int64 t = 2; repeated string tags = 3; Inner inner = 4; message Inner { int32 x = 1; } }"

private let protobufCases: [FormatCompatibilityCase] = [
    .init(name: "identical", reader: proto(base), writer: proto(base), compatible: true),
    .init(name: "field added", reader: proto(base.replacingOccurrences(of: "Inner inner = 4;", with: "Inner inner = 4; double v = 5;")),
          writer: proto(base), compatible: true),
    .init(name: "field removed", reader: proto(base.replacingOccurrences(of: "int64 t = 2;", with: "")), writer: proto(base), compatible: true),
    .init(name: "field renamed", reader: proto(base.replacingOccurrences(of: "int64 t", with: "int64 time")), writer: proto(base),
          compatible: true),
    .init(name: "int64 to uint64", reader: proto(base.replacingOccurrences(of: "int64 t", with: "uint64 t")), writer: proto(base),
          compatible: true),
    .init(name: "int64 to int32", reader: proto(base.replacingOccurrences(of: "int64 t", with: "int32 t")), writer: proto(base),
          compatible: true),
    .init(name: "int64 to bool", reader: proto(base.replacingOccurrences(of: "int64 t", with: "bool t")), writer: proto(base),
          compatible: true),
    .init(name: "int64 to sint64", reader: proto(base.replacingOccurrences(of: "int64 t", with: "sint64 t")), writer: proto(base),
          compatible: false),
    .init(name: "int64 to double", reader: proto(base.replacingOccurrences(of: "int64 t", with: "double t")), writer: proto(base),
          compatible: false),
    .init(name: "int64 to string", reader: proto(base.replacingOccurrences(of: "int64 t", with: "string t")), writer: proto(base),
          compatible: false),
    .init(name: "string to bytes", reader: proto(base.replacingOccurrences(of: "string id", with: "bytes id")), writer: proto(base),
          compatible: true),
    .init(name: "fixed32 to sfixed32", reader: proto("message M { sfixed32 a = 1; }"), writer: proto("message M { fixed32 a = 1; }"),
          compatible: true),
    .init(name: "fixed32 to fixed64", reader: proto("message M { fixed64 a = 1; }"), writer: proto("message M { fixed32 a = 1; }"),
          compatible: false),
    // Between singular and repeated, strings, bytes and messages read (each occurrence is written alone), numbers
    // do not (Confluent's FIELD_STRING_OR_BYTES_LABEL_CHANGED is compatible, its numeric label change is not).
    .init(name: "singular to repeated string", reader: proto(base.replacingOccurrences(of: "string id", with: "repeated string id")),
          writer: proto(base), compatible: true),
    .init(name: "repeated to singular string", reader: proto(base.replacingOccurrences(of: "repeated string tags", with: "string tags")),
          writer: proto(base), compatible: true),
    .init(name: "singular to repeated message", reader: proto("message M { repeated N n = 1; } message N {}"),
          writer: proto("message M { N n = 1; } message N {}"), compatible: true),
    .init(name: "singular to repeated number", reader: proto("message M { repeated int64 t = 1; }"),
          writer: proto("message M { int64 t = 1; }"), compatible: false),
    .init(name: "repeated to singular number", reader: proto("message M { int64 t = 1; }"),
          writer: proto("message M { repeated int64 t = 1; }"), compatible: false),
    .init(name: "int32 to an enum", reader: proto("message M { E t = 1; } enum E { A = 0; }"),
          writer: proto("message M { int32 t = 1; }"), compatible: true),
    .init(name: "an enum to string", reader: proto("message M { string t = 1; }"),
          writer: proto("message M { E t = 1; } enum E { A = 0; }"), compatible: false),
    // Named types are compared by what they hold, not by name (as Confluent's registry compares them).
    .init(name: "message type changed", reader: proto("message M { A a = 1; } message A { string s = 1; } message B { int32 s = 1; }"),
          writer: proto("message M { B a = 1; } message A { string s = 1; } message B { int32 s = 1; }"), compatible: false),
    .init(name: "message type renamed", reader: proto("message M { A a = 1; } message A { int32 s = 1; } message B { int32 s = 1; }"),
          writer: proto("message M { B a = 1; } message A { int32 s = 1; } message B { int32 s = 1; }"), compatible: true),
    .init(name: "nested message field changed",
          reader: proto(base.replacingOccurrences(of: "int32 x", with: "string x")), writer: proto(base), compatible: false),
    .init(name: "nested message field added",
          reader: proto(base.replacingOccurrences(of: "int32 x = 1;", with: "int32 x = 1; int32 y = 2;")), writer: proto(base),
          compatible: true),
    .init(name: "message removed", reader: proto("message M { string id = 1; }"),
          writer: proto("message M { string id = 1; } message N { string id = 1; }"), compatible: false),
    .init(name: "message added", reader: proto("message M { string id = 1; } message N { string id = 1; }"),
          writer: proto("message M { string id = 1; }"), compatible: true),
    .init(name: "first message moved", reader: proto("message N { string id = 1; } message M { string id = 1; }"),
          writer: proto("message M { string id = 1; } message N { string id = 1; }"), compatible: true),
    .init(name: "enum value added", reader: proto("message M { E e = 1; } enum E { A = 0; B = 1; C = 2; }"),
          writer: proto("message M { E e = 1; } enum E { A = 0; B = 1; }"), compatible: true),
    .init(name: "enum value removed", reader: proto("message M { E e = 1; } enum E { A = 0; }"),
          writer: proto("message M { E e = 1; } enum E { A = 0; B = 1; }"), compatible: true),
    .init(name: "package changed", reader: proto("message M { string id = 1; }", package: "b"),
          writer: proto("message M { string id = 1; }", package: "a"), compatible: false),
    .init(name: "field moved into an existing oneof",
          reader: proto("message M { oneof o { string a = 1; string b = 2; } }"),
          writer: proto("message M { string a = 1; oneof o { string b = 2; } }"), compatible: false),
    .init(name: "map value type changed", reader: proto("message M { map<string, int64> m = 1; }"),
          writer: proto("message M { map<string, string> m = 1; }"), compatible: false),
]

private let jsonSchemaCases: [FormatCompatibilityCase] = [
    .init(name: "identical", reader: #"{"type":"string"}"#, writer: #"{"type":"string"}"#, compatible: true),
    .init(name: "type changed", reader: #"{"type":"string"}"#, writer: #"{"type":"number"}"#, compatible: false),
    .init(name: "integer widened to number", reader: #"{"type":"number"}"#, writer: #"{"type":"integer"}"#, compatible: true),
    .init(name: "number narrowed to integer", reader: #"{"type":"integer"}"#, writer: #"{"type":"number"}"#, compatible: false),
    .init(name: "type union widened", reader: #"{"type":["string","null"]}"#, writer: #"{"type":"string"}"#, compatible: true),
    .init(name: "type union narrowed", reader: #"{"type":"string"}"#, writer: #"{"type":["string","null"]}"#, compatible: false),
    .init(name: "anything to string", reader: #"{"type":"string"}"#, writer: #"{}"#, compatible: false),
    .init(name: "string to anything", reader: #"{}"#, writer: #"{"type":"string"}"#, compatible: true),
    .init(name: "maxLength decreased", reader: #"{"type":"string","maxLength":5}"#, writer: #"{"type":"string","maxLength":10}"#,
          compatible: false),
    .init(name: "maxLength increased", reader: #"{"type":"string","maxLength":20}"#, writer: #"{"type":"string","maxLength":10}"#,
          compatible: true),
    .init(name: "minimum increased", reader: #"{"type":"number","minimum":5}"#, writer: #"{"type":"number","minimum":0}"#,
          compatible: false),
    .init(name: "minimum decreased", reader: #"{"type":"number","minimum":-5}"#, writer: #"{"type":"number","minimum":0}"#,
          compatible: true),
    .init(name: "maximum added", reader: #"{"type":"number","maximum":5}"#, writer: #"{"type":"number"}"#, compatible: false),
    .init(name: "minItems added", reader: #"{"type":"array","minItems":1}"#, writer: #"{"type":"array"}"#, compatible: false),
    .init(name: "enum widened", reader: #"{"enum":["a","b","c"]}"#, writer: #"{"enum":["a","b"]}"#, compatible: true),
    .init(name: "enum narrowed", reader: #"{"enum":["a"]}"#, writer: #"{"enum":["a","b"]}"#, compatible: false),
    .init(name: "enum added", reader: #"{"type":"string","enum":["a"]}"#, writer: #"{"type":"string"}"#, compatible: false),
    .init(name: "items type changed", reader: #"{"type":"array","items":{"type":"string"}}"#,
          writer: #"{"type":"array","items":{"type":"integer"}}"#, compatible: false),
    .init(name: "items widened", reader: #"{"type":"array","items":{"type":"number"}}"#,
          writer: #"{"type":"array","items":{"type":"integer"}}"#, compatible: true),
    .init(name: "property added to closed model",
          reader: #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#, compatible: true),
    .init(name: "property removed from closed model",
          reader: #"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false}"#,
          compatible: false),
    .init(name: "property added to open model",
          reader: #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"}}}"#, compatible: false),
    .init(name: "property removed from open model",
          reader: #"{"type":"object","properties":{"a":{"type":"string"}}}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}"#, compatible: true),
    .init(name: "required property added",
          reader: #"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#, compatible: false),
    .init(name: "required property added with default",
          reader: #"{"type":"object","properties":{"a":{"type":"string","default":"x"}},"required":["a"],"additionalProperties":false}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#, compatible: true),
    .init(name: "required property dropped",
          reader: #"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#,
          writer: #"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#,
          compatible: true),
    .init(name: "model closed", reader: #"{"type":"object","additionalProperties":false}"#, writer: #"{"type":"object"}"#,
          compatible: false),
    .init(name: "model opened", reader: #"{"type":"object"}"#, writer: #"{"type":"object","additionalProperties":false}"#,
          compatible: true),
    .init(name: "nested property type changed",
          reader: #"{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":"string"}}}}}"#,
          writer: #"{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":"integer"}}}}}"#, compatible: false),
    .init(name: "false schema reads nothing", reader: "false", writer: #"{"type":"string"}"#, compatible: false),
    .init(name: "true schema reads anything", reader: "true", writer: #"{"type":"string"}"#, compatible: true),
]

@Suite("Protobuf and JSON Schema compatibility tables")
struct FormatCompatibilityTables {
    @Test(arguments: protobufCases)
    func protobuf(_ testCase: FormatCompatibilityCase) throws {
        let problems = ProtobufCompatibility.problems(
            reader: try ProtobufSchema.parse(testCase.reader), writer: try ProtobufSchema.parse(testCase.writer))
        #expect(problems.isEmpty == testCase.compatible, "\(problems)")
    }

    @Test(arguments: jsonSchemaCases)
    func jsonSchema(_ testCase: FormatCompatibilityCase) throws {
        let problems = JSONSchemaDocument.problems(
            reader: try JSONSchemaDocument.parse(testCase.reader), writer: try JSONSchemaDocument.parse(testCase.writer))
        #expect(problems.isEmpty == testCase.compatible, "\(problems)")
    }
}
