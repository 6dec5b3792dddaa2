import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing
import VltavaStorage

@testable import VltavaBroker

/// A registry that knows a fixed set of (subject, id) pairs.
private struct KnownIds: SchemaIdValidator {
    var registered: Set<String>

    func isRegistered(id: Int32, subject: String) -> Bool { registered.contains("\(subject)#\(id)") }
}

@Suite struct SchemaValidationTests {
    /// Confluent's framing: magic byte 0, the id big-endian, then the payload.
    private func framed(_ id: Int32, _ payload: String = "payload") -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(id)
        buffer.writeString(payload)
        return buffer
    }

    /// Produces one batch of `(key, value)` records and answers the partition's error code and message.
    private func produce(_ fixture: BrokerFixture, topic: String, _ records: [(ByteBuffer?, ByteBuffer?)]) throws -> (Int16, String?) {
        let batch = try RecordBatch(
            partitionLeaderEpoch: -1, baseTimestamp: BrokerFixture.now,
            records: records.enumerated().map { Record(offsetDelta: Int32($0.offset), key: $0.element.0, value: $0.element.1) }
        ).encoded()
        var request = ProduceRequest()
        request.acks = 1
        request.timeoutMs = 1000
        request.topicData = [.init(name: topic, partitionData: [.init(index: 0, records: batch)])]
        let future = fixture.broker.handleProduce(request, context: fixture.context(.produce, version: 9))
        fixture.eventLoop.run()
        guard case let .message(.produce(response)) = try future.wait() else { throw WireError.trailingBytes(-1) }
        let partition = try #require(try wire(response, version: 9).responses.first?.partitionResponses.first)
        return (partition.errorCode, partition.errorMessage)
    }

    @Test func valuesMustNameAnIdRegisteredForTheTopicsValueSubject() throws {
        let fixture = try BrokerFixture(schemaIds: KnownIds(registered: ["orders-value#7", "other-value#8", "orders-key#9"]))
        try fixture.createTopic("orders", configs: ["confluent.value.schema.validation": "true"])
        #expect(try produce(fixture, topic: "orders", [(nil, framed(7)), (ByteBuffer(string: "raw key"), framed(7))]).0 == 0)
        // A null value is a tombstone and passes; keys are not checked unless asked.
        #expect(try produce(fixture, topic: "orders", [(ByteBuffer(string: "k"), nil)]).0 == 0)
        for value in [ByteBuffer(string: "plain text"), framed(8), framed(9), framed(12345), ByteBuffer(bytes: [0, 0, 0, 7]), ByteBuffer()] {
            let (code, message) = try produce(fixture, topic: "orders", [(nil, framed(7)), (nil, value)])
            #expect(code == ErrorCode.invalidRecord.rawValue)
            #expect(message?.contains("Value of the record at offset delta 1") == true)
        }
        let (_, unknown) = try produce(fixture, topic: "orders", [(nil, framed(8))])
        #expect(unknown?.contains("schema id 8, which is not registered for subject 'orders-value'") == true)
        // Nothing of a refused batch was written.
        #expect(fixture.logs.log(topic: "orders", partition: 0)?.logEndOffset == 3)
    }

    @Test func keysAreCheckedAgainstTheKeySubject() throws {
        let fixture = try BrokerFixture(schemaIds: KnownIds(registered: ["orders-key#9", "orders-value#7"]))
        try fixture.createTopic("orders", configs: ["confluent.key.schema.validation": "true"])
        #expect(try produce(fixture, topic: "orders", [(framed(9), ByteBuffer(string: "any value"))]).0 == 0)
        #expect(try produce(fixture, topic: "orders", [(nil, ByteBuffer(string: "keyless"))]).0 == 0)
        let (code, message) = try produce(fixture, topic: "orders", [(framed(7), nil)])
        #expect(code == ErrorCode.invalidRecord.rawValue)
        #expect(message?.contains("Key of the record") == true && message?.contains("'orders-key'") == true)
    }

    @Test func withoutARegistryCheckedRecordsAreRefused() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", configs: ["confluent.value.schema.validation": "true"])
        try fixture.createTopic("free")
        let (code, message) = try produce(fixture, topic: "orders", [(nil, framed(1))])
        #expect(code == ErrorCode.invalidRecord.rawValue)
        #expect(message?.contains("no schema registry") == true)
        #expect(try produce(fixture, topic: "free", [(nil, ByteBuffer(string: "anything"))]).0 == 0)
    }
}
