import Testing
@testable import VltavaConnect

@Suite("Connect data model")
struct ConnectDataTests {
    @Test func structsHoldOneValuePerFieldWithDefaults() {
        let schema = ConnectSchema.structure(name: "com.example.User", fields: [
            ("id", .int32),
            ("name", .optionalString),
            ("score", ConnectSchema(type: .float64, defaultValue: .float64(1.5))),
        ])
        var user = ConnectStruct(schema: schema)
        #expect(user.values == [.null, .null, .float64(1.5)], "a field starts at its default, else null")
        user["id"] = .int32(7)
        #expect(user["id"] == .int32(7))
        #expect(user["missing"] == nil)
        #expect(ConnectValue.structure(user)[field: "score"] == .float64(1.5))
        #expect(schema.field("name")?.index == 1)
    }

    @Test func schemasCompareByContent() {
        let a = ConnectSchema.structure(name: "n", fields: [("x", .int32)])
        let b = ConnectSchema.structure(name: "n", fields: [("x", .int32)])
        #expect(a == b)
        #expect(a != a.with(isOptional: true))
        #expect(ConnectLogical.decimal(scale: 2).parameter("scale") == "2")
        #expect(ConnectLogical.decimal(scale: 2).name == "org.apache.kafka.connect.data.Decimal")
    }
}
