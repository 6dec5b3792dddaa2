import Testing
@testable import SchemaRegistry

@Suite("Protobuf schemas")
struct ProtobufSchemaTests {
    static let measurement = """
        syntax = "proto3";
        message Measurement {
            string id = 1;
            int64 timestamp = 2;
            double value = 3;
            uint32 quality = 4;
        }
        """

    @Test func parsesTheSeedSchema() throws {
        let schema = try ProtobufSchema.parse(Self.measurement)
        #expect(schema.syntax == "proto3")
        #expect(schema.messages.map(\.name) == ["Measurement"])
        #expect(schema.messages[0].fields.map(\.number) == [1, 2, 3, 4])
    }

    @Test func normalizedFormIgnoresCommentsAndSpacing() throws {
        let spaced = """
            // a comment
            syntax="proto3";   message Measurement{string id=1; /* inline */ int64 timestamp = 2;
            double value = 3; uint32 quality = 4;}
            """
        #expect(try ProtobufSchema.parse(spaced).normalizedForm == ProtobufSchema.parse(Self.measurement).normalizedForm)
    }

    @Test func parsesNestedTypesEnumsOneofsMapsAndOptions() throws {
        let schema = try ProtobufSchema.parse("""
            syntax = "proto3";
            package com.example;
            import "google/protobuf/timestamp.proto";
            option java_package = "com.example.proto";
            message Outer {
              message Inner { repeated int32 values = 1 [packed = true]; }
              enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
              Inner inner = 1;
              Kind kind = 2;
              map<string, Inner> by_name = 3;
              oneof choice { string text = 4; bytes data = 5; }
              google.protobuf.Timestamp at = 6;
              reserved 10 to 12;
            }
            service S { rpc Get (Outer) returns (Outer); }
            """)
        #expect(schema.package == "com.example")
        #expect(schema.imports == ["google/protobuf/timestamp.proto"])
        #expect(schema.messagesByFullName.keys.sorted() == ["com.example.Outer", "com.example.Outer.Inner"])
        #expect(schema.messages[0].fields.filter { $0.oneof == "choice" }.count == 2)
        #expect(try ProtobufSchema.parse(schema.normalizedForm).normalizedForm == schema.normalizedForm)
    }

    /// A `reserved` or `extensions` statement with nothing in it is refused, as protoc refuses it (the fuzzer's fourth
    /// protobuf crash: `extensions ;` was written back as `reserved extensions ;`, which read again as another form).
    @Test(arguments: [
        "syntax = \"proto2\"; message M { extensions ; }",
        "syntax = \"proto3\"; message M { reserved ; }",
        "syntax = \"proto3\"; enum E { A = 0; reserved ; }",
    ])
    func emptyReservedStatementsAreRefused(text: String) {
        #expect(throws: RegistryError.self) { try ProtobufSchema.parse(text) }
    }

    /// Field options are split at their top-level commas to be sorted: a comma inside `<...>` or inside a string
    /// with an escaped quote is not one (the fuzzer's third protobuf crash, and its neighbour).
    @Test(arguments: [
        ("syntax = \"proto3\"; message M { string b = 2 [zz = a<b, c>, deprecated = true]; }", "zz = a < b , c >"),
        ("syntax = \"proto3\"; message M { string b = 2 [zz = 'a\",z', deprecated = true]; }", "zz = \"a\\\",z\""),
        ("syntax = \"proto3\"; message M { string b = 2 [zz = \"a\\\",z\", deprecated = true]; }", "zz = \"a\\\",z\""),
        // A combining mark after the comma (U+0655): one Character with it, but the tokenizer reads scalars (the
        // fuzzer's fifth protobuf crash).
        ("syntax = \"proto3\"; message M { string b = 2 [zz = 1,\u{655}x = 2, deprecated = true]; }", "zz = 1 , \u{655} x = 2"),
    ])
    func optionListsSplitOnlyAtTopLevelCommas(text: String, option: String) throws {
        let schema = try ProtobufSchema.parse(text)
        #expect(schema.normalizedForm.contains("[deprecated = true , \(option)]"), "\(schema.normalizedForm)")
        let again = try ProtobufSchema.parse(schema.normalizedForm)
        #expect(again.normalizedForm == schema.normalizedForm)
    }

    @Test(arguments: [
        "syntax = \"proto3\"; message M { string id = ; }",
        "syntax = \"proto3\"; message M { string id = 0; }",
        "message M { string id = 1 }",
        "message M {",
        "syntax = \"proto9\";",
        "message M { string a = 1; string b = 1; }",
    ])
    func rejectsInvalidSchemas(_ text: String) {
        #expect(throws: RegistryError.self) { try ProtobufSchema.parse(text) }
    }

    @Test func fileDescriptorRoundTrip() throws {
        let schema = try ProtobufSchema.parse("""
            syntax = "proto3";
            package com.example;
            message Outer {
              message Inner { repeated int32 values = 1; }
              enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
              Inner inner = 1;
              Kind kind = 2;
              map<string, Inner> by_name = 3;
              oneof choice { string text = 4; bytes data = 5; }
            }
            message Other { Outer.Inner inner = 1; }
            """)
        let encoded = FileDescriptorCoding.encodeBase64(schema)
        let decoded = try #require(try FileDescriptorCoding.decode(base64: encoded))
        #expect(decoded.normalizedForm == schema.normalizedForm)
        guard case let .protobuf(viaParser) = try ParsedSchema.parse(.protobuf, encoded) else {
            Issue.record("not parsed as protobuf")
            return
        }
        #expect(viaParser.normalizedForm == schema.normalizedForm)
    }

    @Test func deepNestingIsRejected() {
        let deep = String(repeating: "message M {", count: 1000) + String(repeating: "}", count: 1000)
        #expect(throws: RegistryError.self) { try ProtobufSchema.parse(deep) }
    }

    private func problems(_ reader: String, _ writer: String) throws -> [String] {
        ProtobufCompatibility.problems(reader: try ProtobufSchema.parse(reader), writer: try ProtobufSchema.parse(writer))
    }

    @Test func compatibility() throws {
        let base = "syntax = \"proto3\"; message M { string id = 1; int64 t = 2; }"
        #expect(try problems("syntax = \"proto3\"; message M { string id = 1; int64 t = 2; double v = 3; }", base).isEmpty)
        #expect(try problems("syntax = \"proto3\"; message M { string id = 1; }", base).isEmpty)
        #expect(try problems("syntax = \"proto3\"; message M { string ident = 1; int64 t = 2; }", base).isEmpty)
        #expect(try problems("syntax = \"proto3\"; message M { string id = 1; uint64 t = 2; }", base).isEmpty, "same wire type")
        #expect(try !problems("syntax = \"proto3\"; message M { string id = 1; double t = 2; }", base).isEmpty)
        #expect(try !problems("syntax = \"proto3\"; message M { string id = 1; repeated int64 t = 2; }", base).isEmpty)
        #expect(try !problems("syntax = \"proto3\"; message N { string id = 1; }", base).isEmpty)
    }
}

@Suite("JSON Schema")
struct JSONSchemaTests {
    @Test(arguments: ["{\"type\": 5}", "[1]", "{\"properties\": []}", "{\"required\": [1]}", "{\"minLength\": -1}", "{\"allOf\": []}"])
    func rejectsNonSchemas(_ text: String) {
        #expect(throws: RegistryError.self) { try JSONSchemaDocument.parse(text) }
    }

    private func compatible(_ reader: String, _ writer: String) throws -> Bool {
        JSONSchemaDocument.problems(reader: try JSONSchemaDocument.parse(reader), writer: try JSONSchemaDocument.parse(writer)).isEmpty
    }

    @Test func compatibility() throws {
        let closed = #"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#
        let closedWithB = #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}"#
        let open = #"{"type":"object","properties":{"a":{"type":"string"}}}"#
        #expect(try compatible(closedWithB, closed), "property added to a closed model")
        #expect(try !compatible(closed, closedWithB), "property removed from a closed model")
        #expect(try !compatible(closedWithB, open), "property added to an open model")
        #expect(try compatible(#"{"type":"number"}"#, #"{"type":"integer"}"#), "integer widened to number")
        #expect(try !compatible(#"{"type":"integer"}"#, #"{"type":"number"}"#), "number narrowed to integer")
        #expect(try !compatible(#"{"type":"string","maxLength":5}"#, #"{"type":"string","maxLength":10}"#))
        #expect(try compatible(#"{"enum":["a","b","c"]}"#, #"{"enum":["a","b"]}"#))
        #expect(try !compatible(#"{"enum":["a"]}"#, #"{"enum":["a","b"]}"#))
        #expect(try !compatible(
            #"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#, closed))
    }
}
