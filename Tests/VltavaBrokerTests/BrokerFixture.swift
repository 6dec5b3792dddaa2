import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import NIOEmbedded
import VltavaStorage

@testable import VltavaBroker

/// A broker over a log manager in a fresh temporary folder, with request contexts on an embedded event loop.
final class BrokerFixture {
    static let now: Int64 = 1_700_000_000_000

    let directory: String
    let logs: LogManager
    let broker: Broker
    let eventLoop = EmbeddedEventLoop()

    init(schemaIds: (any SchemaIdValidator)? = nil, configure: (inout BrokerConfiguration) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "vltava-broker-tests-" + UUID().uuidString
        var configuration = BrokerConfiguration()
        configuration.dataDirectory = directory
        configure(&configuration)
        let logger = Logger(label: "vltava-broker-tests") { _ in SwiftLogNoOpLogHandler() }
        let metadata = try LocalMetadataStore(dataDirectory: directory, clusterId: "vltava-test-cluster", nodeId: configuration.nodeId)
        logs = try LogManager(dataDirectory: directory, metadata: metadata, brokerDefaults: configuration.topicDefaults,
                              logger: logger, clock: { BrokerFixture.now })
        broker = Broker(configuration: configuration, logs: logs, logger: logger, schemaIdValidator: schemaIds, clock: { BrokerFixture.now })
    }

    deinit {
        logs.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func context(_ apiKey: ApiKey, version: Int16) -> RequestContext {
        var header = RequestHeader()
        header.requestApiKey = apiKey.rawValue
        header.requestApiVersion = version
        header.correlationId = 7
        header.clientId = "broker-tests"
        let connection = ConnectionContext(eventLoop: eventLoop, listenerName: "PLAINTEXT", localHost: "127.0.0.1",
                                           localPort: 9092, clientHost: "127.0.0.1")
        return RequestContext(header: header, connection: connection)
    }

    @discardableResult
    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) throws -> TopicMetadata {
        try logs.createTopic(name: name, partitions: partitions, configs: configs)
    }

    /// Appends `count` records in one batch written with partition leader epoch 0, as the produce path does.
    func produce(_ topic: String, partition: Int32 = 0, count: Int) throws {
        guard let log = logs.log(topic: topic, partition: partition) else { throw FixtureError.noSuchPartition }
        let records = (0..<count).map { index in
            Record(offsetDelta: Int32(index), key: nil, value: ByteBuffer(string: "value-\(index)"))
        }
        let buffer = try RecordBatch(partitionLeaderEpoch: 0, baseTimestamp: Self.now, records: records).encoded()
        let validated = try RecordBatchValidator().validate(buffer)
        _ = try log.append(buffer, batches: validated, nowMs: Self.now)
    }

    enum FixtureError: Error { case noSuchPartition }
}

/// Writes a response at `version` and reads it back, as a client would see it; fails if the handler set a
/// field the version does not have.
func wire<Response: KafkaResponseMessage>(_ response: Response, version: Int16) throws -> Response {
    var buffer = ByteBufferAllocator().buffer(capacity: 512)
    try response.write(to: &buffer, version: version)
    let decoded = try Response(from: &buffer, version: version)
    guard buffer.readableBytes == 0 else { throw WireError.trailingBytes(buffer.readableBytes) }
    return decoded
}

enum WireError: Error { case trailingBytes(Int) }
