import Testing
@testable import VltavaConnect

@Suite("Offset stores")
struct OffsetStoreTests {
    static let partition = FileStreamSourceTask.partition("/data/in.txt")
    static func position(_ value: Int64) -> ConnectValue {
        .map([ConnectMapEntry(key: .string("position"), value: .int64(value))])
    }

    @Test func theFileStoreSurvivesAReopenAndForgetsRemovedOffsets() async throws {
        let path = temporaryPath("offsets.json")
        let store = try FileOffsetStore(path: path)
        #expect(store.offset(connector: "c", partition: Self.partition) == nil)
        try await store.commit(connector: "c", [(Self.partition, Self.position(10))])
        try await store.commit(connector: "c", [(Self.partition, Self.position(25))])
        try await store.commit(connector: "other", [(Self.partition, Self.position(3))])
        let reopened = try FileOffsetStore(path: path)
        #expect(reopened.offset(connector: "c", partition: Self.partition) == Self.position(25))
        #expect(reopened.offset(connector: "other", partition: Self.partition) == Self.position(3))
        #expect(readText(path) == #"{"[\"c\",{\"filename\":\"/data/in.txt\"}]":{"position":25},"#
            + #""[\"other\",{\"filename\":\"/data/in.txt\"}]":{"position":3}}"#)
        try await reopened.commit(connector: "c", [(Self.partition, nil)])
        #expect(try FileOffsetStore(path: path).offset(connector: "c", partition: Self.partition) == nil)
    }

    @Test func aDamagedFileIsAnErrorNotAFreshStart() {
        let path = temporaryPath("broken.json")
        appendText("[1,2", to: path)
        #expect(throws: ConnectError.self) { try FileOffsetStore(path: path) }
    }

    @Test func connectorOffsetsReadTheirConnectorsOnly() async throws {
        let store = MemoryOffsetStore()
        try await store.commit(connector: "a", [(Self.partition, Self.position(1))])
        #expect(ConnectorOffsets(store: store, connector: "a").offset(for: Self.partition) == Self.position(1))
        #expect(ConnectorOffsets(store: store, connector: "b").offset(for: Self.partition) == nil)
    }
}
