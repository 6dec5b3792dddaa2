import Testing
@testable import SchemaRegistry

/// The `.proto` text Vltava Connect's ProtobufConverter registers, as the registry's own checks see it.
@Suite("Registry checks of the Connect Protobuf converter's schema text")
struct ConnectProtobufTextTests {
    @Test func fieldMetaOptionsAndWellKnownImports() throws {
        let text = """
            syntax = "proto3";
            package com.example;

            import "confluent/meta.proto";
            import "confluent/type/decimal.proto";
            import "google/protobuf/timestamp.proto";

            message Order {
              int32 tiny = 1 [(confluent.field_meta) = { params: [{ key: "connect.type", value: "int8" }] }];
              confluent.type.Decimal amount = 2 [(confluent.field_meta) = { params: [{ key: "scale", value: "2" }] }];
              google.protobuf.Timestamp when = 3;
              map<string, int64> counts = 4;
            }
            """
        _ = try ParsedSchema.parse(.protobuf, text, referenced: [], referenceNames: [])
    }

    /// Connect's Date and Time become google.type.Date and google.type.TimeOfDay, which Confluent's registry knows
    /// without a reference.
    @Test func googleTypeDateAndTimeOfDayNeedNoReference() throws {
        let text = """
            syntax = "proto3";
            package com.example;

            import "google/type/date.proto";
            import "google/type/timeofday.proto";

            message Shift {
              google.type.Date day = 1;
              google.type.TimeOfDay starts = 2;
            }
            """
        _ = try ParsedSchema.parse(.protobuf, text, referenced: [], referenceNames: [])
        #expect(throws: (any Error).self) {
            try ParsedSchema.parse(.protobuf, "syntax = \"proto3\";\nimport \"google/type/nope.proto\";\nmessage A { int32 a = 1; }",
                                   referenced: [], referenceNames: [])
        }
    }
}
