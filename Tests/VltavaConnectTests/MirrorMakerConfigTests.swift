import Testing
@testable import VltavaConnect

@Suite("connect-mirror-maker.properties read as Kafka's MirrorMakerConfig")
struct MirrorMakerConfigTests {
    static let properties = [
        "clusters": "A, B", "A.bootstrap.servers": "a:9092", "B.bootstrap.servers": "b:9092", "B.security.protocol": "PLAINTEXT",
        "A->B.enabled": "true", "A->B.topics": "orders.*", "B->A.enabled": "false", "replication.factor": "1",
        "offset.storage.replication.factor": "1", "A->B.emit.heartbeats.interval.seconds": "5",
    ]

    @Test func enabledFlowsGetAWorkerAndThreeConnectors() throws {
        let config = try MirrorMakerConfig(properties: Self.properties)
        #expect(config.flows.count == 1)
        let flow = try #require(config.flows.first)
        #expect(flow.source == "A" && flow.target == "B")
        #expect(flow.workerProperties["bootstrap.servers"] == "b:9092")
        #expect(flow.workerProperties["group.id"] == "A-mm2")
        #expect(flow.workerProperties["config.storage.topic"] == "mm2-configs.A.internal")
        #expect(flow.workerProperties["offset.storage.topic"] == "mm2-offsets.A.internal")
        #expect(flow.workerProperties["status.storage.topic"] == "mm2-status.A.internal")
        #expect(flow.workerProperties["offset.storage.replication.factor"] == "1")
        #expect(flow.workerProperties["value.converter"] == "org.apache.kafka.connect.converters.ByteArrayConverter")
        #expect(flow.connectors.map { $0["name"] } == ["MirrorSourceConnector", "MirrorCheckpointConnector", "MirrorHeartbeatConnector"])
        let source = flow.connectors[0]
        #expect(source["source.cluster.alias"] == "A" && source["target.cluster.alias"] == "B")
        #expect(source["source.cluster.bootstrap.servers"] == "a:9092" && source["target.cluster.bootstrap.servers"] == "b:9092")
        #expect(source["target.cluster.security.protocol"] == "PLAINTEXT")
        #expect(source["topics"] == "orders.*" && source["replication.factor"] == "1")
        #expect(source["emit.heartbeats.interval.seconds"] == "5")
        #expect(source["A.bootstrap.servers"] == nil && source["clusters"] == nil && source["enabled"] == nil)
    }

    @Test func targetsLimitTheFlowsAndMistakesAreNamed() throws {
        #expect(try MirrorMakerConfig(properties: Self.properties, targets: ["A"]).flows.isEmpty)
        #expect(throws: ConnectError.self) { try MirrorMakerConfig(properties: Self.properties, targets: ["C"]) }
        #expect(throws: ConnectError.self) { try MirrorMakerConfig(properties: ["clusters": "A, B", "A.bootstrap.servers": "a:1"]) }
        #expect(throws: ConnectError.self) { try MirrorMakerConfig(properties: [:]) }
    }
}
