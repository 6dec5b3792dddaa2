#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import VltavaConnect

/// The Avro converter against a running registry (Vltava's or Confluent's), when `VLTAVA_SCHEMA_REGISTRY_URL`
/// names one: `vltava serve --schema-registry-listeners http://127.0.0.1:8081`, then
/// `VLTAVA_SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 swift test --filter AvroConverterLiveRegistryTests`.
private enum LiveRegistry {
    static var url: String? { getenv("VLTAVA_SCHEMA_REGISTRY_URL").map { String(cString: $0) } }
}

@Suite("AvroConverter against a live registry", .enabled(if: LiveRegistry.url != nil))
struct AvroConverterLiveRegistryTests {
    @Test func registersReadsAndReportsTheRegistrysErrors() throws {
        let url = try #require(LiveRegistry.url)
        let topic = "live-\(UInt32.random(in: 0...UInt32.max))"
        let schema = ConnectSchema.structure(name: "com.example.Live", fields: [("id", .int32), ("note", .optionalString)])
        let value = ConnectValue.structure(ConnectStruct(schema: schema, values: [.int32(7), .string("n")]))
        var converter = AvroConverter()
        try converter.configure(["schema.registry.url": "http://127.0.0.1:9, \(url)"], isKey: false)
        let bytes = try #require(try converter.fromConnectData(topic: topic, schema: schema, value: value))
        let back = try converter.toConnectData(topic: topic, bytes: bytes)
        #expect(back.value[field: "id"] == .int32(7) && back.value[field: "note"] == .string("n"))
        #expect(back.schema?.version == 1)

        var strict = AvroConverter()
        try strict.configure(["schema.registry.url": url, "auto.register.schemas": "false"], isKey: true)
        do {
            _ = try strict.fromConnectData(topic: topic, schema: schema, value: value)
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("not registered under subject \(topic)-key"))
        }
        do {
            _ = try strict.toConnectData(topic: topic, bytes: [0, 0x7F, 0xFF, 0xFF, 0xF0])
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("(error 40403)"), "\(error)")
        }
    }
}
