import Testing
@testable import SchemaRegistry

/// Imports through references, well-known types, `reserved`, enum rules, compatibility through imports and the
/// canonical form of PROTOBUF schemas.
@Suite("Protobuf imports, rules and normalization")
struct ProtobufImportTests {
    static let common = """
        syntax = "proto3";
        package com.example.common;
        message Money { int64 units = 1; string currency = 2; }
        enum Status { STATUS_UNSPECIFIED = 0; STATUS_OK = 1; }
        """

    /// Parses `text` with references `(name, text)`, as the registry does.
    private func parse(_ text: String, references: [(String, String)] = []) throws -> ProtobufSchema {
        let referenced = try references.map { try ParsedSchema.parse(.protobuf, $0.1) }
        guard case let .protobuf(schema) = try ParsedSchema.parse(.protobuf, text, referenced: referenced, referenceNames: references.map(\.0))
        else { throw RegistryError.invalidSchema("not protobuf") }
        return schema
    }

    private func expectInvalid(_ text: String, references: [(String, String)] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: RegistryError.self, sourceLocation: sourceLocation) { try parse(text, references: references) }
    }

    private func problems(_ reader: ProtobufSchema, _ writer: ProtobufSchema) -> [String] {
        ProtobufCompatibility.problems(reader: reader, writer: writer)
    }

    @Test func importResolvedThroughAReferenceName() throws {
        let order = """
            syntax = "proto3";
            package com.example.orders;
            import "common.proto";
            message Order { com.example.common.Money total = 1; .com.example.common.Status status = 2; }
            """
        let schema = try parse(order, references: [("common.proto", Self.common)])
        #expect(schema.dependencies.keys.sorted() == ["common.proto"])
        // The import must be given: no reference of that name is invalid, as is a type no file declares.
        expectInvalid(order)
        expectInvalid(order, references: [("other.proto", Self.common)])
        expectInvalid(order.replacingOccurrences(of: "Money total", with: "Cash total"), references: [("common.proto", Self.common)])
    }

    @Test func typesOfTheSamePackageResolveByPartialName() throws {
        let sameScope = """
            syntax = "proto3";
            package com.example.common;
            import "common.proto";
            message Wallet { Money balance = 1; Status status = 2; message Entry { Money amount = 1; } repeated Entry entries = 3; }
            """
        #expect(try parse(sameScope, references: [("common.proto", Self.common)]).messages.count == 1)
        expectInvalid("syntax = \"proto3\"; message M { Undeclared u = 1; }")
        expectInvalid("syntax = \"proto3\"; message M { map<string, Undeclared> u = 1; }")
    }

    @Test(arguments: [
        ("google/protobuf/timestamp.proto", "google.protobuf.Timestamp"),
        ("google/protobuf/duration.proto", "google.protobuf.Duration"),
        ("google/protobuf/any.proto", "google.protobuf.Any"),
        ("google/protobuf/empty.proto", "google.protobuf.Empty"),
        ("google/protobuf/struct.proto", "google.protobuf.Struct"),
        ("google/protobuf/struct.proto", "google.protobuf.Value"),
        ("google/protobuf/wrappers.proto", "google.protobuf.StringValue"),
        ("google/protobuf/wrappers.proto", "google.protobuf.Int64Value"),
        ("google/protobuf/field_mask.proto", "google.protobuf.FieldMask"),
        ("confluent/type/decimal.proto", "confluent.type.Decimal"),
    ])
    func wellKnownTypesNeedNoReference(_ file: String, _ type: String) throws {
        let schema = try parse("syntax = \"proto3\";\nimport \"\(file)\";\nmessage M { \(type) value = 1; }")
        #expect(schema.dependencies[file] != nil)
    }

    @Test func wellKnownTypeNeedsItsImport() {
        expectInvalid("syntax = \"proto3\"; message M { google.protobuf.Timestamp at = 1; }")
        expectInvalid("syntax = \"proto3\"; import \"google/protobuf/duration.proto\"; message M { google.protobuf.Timestamp at = 1; }")
    }

    @Test func proto3OptionalIsKept() throws {
        let text = "syntax = \"proto3\";\nmessage M {\n  optional string name = 1;\n  int32 count = 2;\n}\n"
        let schema = try parse(text)
        #expect(schema.normalizedForm == text)
        let decoded = try #require(try FileDescriptorCoding.decode(base64: FileDescriptorCoding.encodeBase64(schema)))
        #expect(decoded.normalizedForm == text)
        // Singular with and without `optional` read each other's data.
        #expect(problems(schema, try parse("syntax = \"proto3\"; message M { string name = 1; int32 count = 2; }")).isEmpty)
    }

    @Test(arguments: [
        "syntax = \"proto3\"; enum E { A = 1; B = 2; }",
        "syntax = \"proto3\"; enum E { A = 0; B = 0; }",
        "syntax = \"proto3\"; enum E { A = 0; A = 1; }",
        "syntax = \"proto3\"; enum E { }",
        "syntax = \"proto3\"; enum E { A = 0; B = 1; } enum F { F0 = 0; B = 1; }",
        "syntax = \"proto3\"; enum E { A = 0; B = 2; reserved 2; }",
        "syntax = \"proto3\"; enum E { A = 0; B = 1; reserved \"B\"; }",
        "syntax = \"proto2\"; enum E { A = 3000000000; }",
    ])
    func enumRules(_ text: String) {
        expectInvalid(text)
    }

    @Test func enumAliasesNeedAllowAlias() throws {
        _ = try parse("syntax = \"proto3\"; enum E { option allow_alias = true; A = 0; B = 0; C = 1; }")
        _ = try parse("syntax = \"proto2\"; enum E { A = 1; B = 2; reserved 3 to 5, \"C\"; }")
    }

    @Test(arguments: [
        "syntax = \"proto3\"; message M { reserved 2, 15, 9 to 11; string a = 10; }",
        "syntax = \"proto3\"; message M { reserved 100 to max; string a = 1000; }",
        "syntax = \"proto3\"; message M { reserved \"foo\", \"bar\"; string bar = 1; }",
        "syntax = \"proto2\"; message M { extensions 100 to 199; optional string a = 150; }",
        "syntax = \"proto3\"; message M { reserved 5 to 2; }",
        "syntax = \"proto3\"; message M { required string a = 1; }",
        "syntax = \"proto3\"; message M { map<double, string> m = 1; }",
        "syntax = \"proto3\"; message M { oneof o { repeated string a = 1; } }",
        "syntax = \"proto3\"; message M { string a = 1; message a {} }",
    ])
    func reservedAndFieldRules(_ text: String) {
        expectInvalid(text)
    }

    @Test func reservedNumbersAndNamesAreKept() throws {
        let schema = try parse("syntax = \"proto3\"; message M { reserved 2, 9 to 11; reserved \"old\"; string a = 1; string b = 12; }")
        #expect(schema.normalizedForm.contains("reserved 2 , 9 to 11;"))
        #expect(schema.normalizedForm.contains("reserved \"old\";"))
        #expect(try parse(schema.normalizedForm).normalizedForm == schema.normalizedForm)
    }

    @Test func compatibilityThroughImports() throws {
        let changedCommon = Self.common.replacingOccurrences(of: "message Money", with: "message Cash")
            + "\nmessage Money { string text = 1; }"
        let order = { (type: String) in
            "syntax = \"proto3\";\npackage o;\nimport \"common.proto\";\nmessage Order { \(type) total = 1; }"
        }
        let writer = try parse(order("com.example.common.Money"), references: [("common.proto", Self.common)])
        // Written relatively or fully qualified, the same imported type is the same type.
        let sameType = try parse(order(".com.example.common.Money"), references: [("common.proto", Self.common)])
        #expect(problems(sameType, writer).isEmpty)
        // Types are compared by what they hold: the old Money renamed Cash reads it; the new Money does not.
        let renamed = try parse(order("com.example.common.Cash"), references: [("common.proto", changedCommon)])
        #expect(problems(renamed, writer).isEmpty)
        let changed = try parse(order("com.example.common.Money"), references: [("common.proto", changedCommon)])
        #expect(problems(changed, writer).contains { $0.contains("FIELD_NAMED_TYPE_CHANGED") })
        #expect(problems(changed, writer).contains { $0.contains("FIELD_SCALAR_KIND_CHANGED") && $0.contains("Money.units") })
        let enumType = try parse(order("com.example.common.Status"), references: [("common.proto", Self.common)])
        #expect(problems(enumType, writer).contains { $0.contains("FIELD_KIND_CHANGED") })
        let scalar = try parse(order("string"), references: [("common.proto", Self.common)])
        #expect(problems(scalar, writer).contains { $0.contains("FIELD_KIND_CHANGED") })
    }

    @Test func nestedTypesWithTheSameShortNameDiffer() throws {
        let types = "message A { message X { string s = 1; } } message B { message X { int32 s = 1; } }"
        let writer = try parse("syntax = \"proto3\"; message M { A.X x = 1; } " + types)
        let reader = try parse("syntax = \"proto3\"; message M { B.X x = 1; } " + types)
        #expect(!problems(reader, writer).isEmpty)
    }

    @Test func requiredFieldsAndOneofMoves() throws {
        let base = try parse("syntax = \"proto2\"; message M { optional string a = 1; optional string b = 2; optional string c = 3; }")
        let requiredAdded = try parse(
            "syntax = \"proto2\"; message M { optional string a = 1; optional string b = 2; optional string c = 3; required int32 d = 4; }")
        #expect(problems(requiredAdded, base).contains { $0.contains("REQUIRED_FIELD_ADDED") })
        #expect(problems(base, requiredAdded).contains { $0.contains("REQUIRED_FIELD_REMOVED") })
        let optionalAdded = try parse(
            "syntax = \"proto2\"; message M { optional string a = 1; optional string b = 2; optional string c = 3; optional int32 d = 4; }")
        #expect(problems(optionalAdded, base).isEmpty)
        #expect(problems(base, optionalAdded).isEmpty)
        let oneMoved = try parse("syntax = \"proto2\"; message M { oneof o { string a = 1; } optional string b = 2; optional string c = 3; }")
        #expect(problems(oneMoved, base).isEmpty)
        let twoMoved = try parse("syntax = \"proto2\"; message M { oneof o { string a = 1; string b = 2; } optional string c = 3; }")
        #expect(problems(twoMoved, base).contains { $0.contains("MULTIPLE_FIELDS_MOVED_TO_ONEOF") })
        let labelChanged = try parse("syntax = \"proto2\"; message M { required string a = 1; optional string b = 2; optional string c = 3; }")
        #expect(problems(labelChanged, base).contains { $0.contains("FIELD_LABEL_CHANGED") })
    }

    @Test func enumChangesAreCompatible() throws {
        let writer = try parse("syntax = \"proto3\"; message M { E e = 1; } enum E { A = 0; B = 1; } enum Gone { G = 0; }")
        let reader = try parse("syntax = \"proto3\"; message M { E e = 1; } enum E { A = 0; C = 2; } enum New { N = 0; }")
        #expect(problems(reader, writer).isEmpty)
        #expect(problems(writer, reader).isEmpty)
    }

    @Test func normalizedFormIsCanonical() throws {
        let a = try parse("""
            syntax = "proto3";
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/any.proto";
            option java_package = "p";
            option go_package = "g";
            message First {
              option deprecated = true;
              string b = 2 [json_name = "bee", deprecated = true];
              oneof choice { int32 z = 5; string y = 4; }
              string a = 1;
            }
            message Second { google.protobuf.Timestamp at = 1; google.protobuf.Any any = 2; }
            """)
        let b = try parse("""
            syntax = "proto3";
            import "google/protobuf/any.proto";
            import "google/protobuf/timestamp.proto";
            option go_package = "g";
            option java_package = "p";
            message First { string a = 1; string b = 2 [deprecated = true, json_name = "bee"]; oneof choice { string y = 4; int32 z = 5; } option deprecated = true; }
            message Second { google.protobuf.Any any = 2; google.protobuf.Timestamp at = 1; }
            """)
        #expect(a.normalizedForm == b.normalizedForm)
        #expect(try parse(a.normalizedForm).normalizedForm == a.normalizedForm)
        // Messages keep their order: the first one is the one serializers use by default (message index 0).
        let lines = a.normalizedForm.split(separator: "\n")
        #expect(lines.firstIndex(of: "message First {")! < lines.firstIndex(of: "message Second {")!)
        #expect(a.normalizedForm.contains("import \"google/protobuf/any.proto\";\nimport \"google/protobuf/timestamp.proto\";"))
        let swapped = try parse("syntax = \"proto3\"; message Second { int32 a = 1; } message First { int32 a = 1; }")
        #expect(swapped.normalizedForm != (try parse("syntax = \"proto3\"; message First { int32 a = 1; } message Second { int32 a = 1; }")).normalizedForm)
    }

    @Test func binaryDescriptorsAreCheckedToo() throws {
        let schema = try parse("syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp at = 1; }")
        let encoded = FileDescriptorCoding.encodeBase64(schema)
        guard case let .protobuf(decoded) = try ParsedSchema.parse(.protobuf, encoded) else {
            Issue.record("not protobuf")
            return
        }
        #expect(decoded.normalizedForm == schema.normalizedForm)
        #expect(decoded.dependencies["google/protobuf/timestamp.proto"] != nil)
    }
}
