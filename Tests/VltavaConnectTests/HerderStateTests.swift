import Logging
import NIOCore
import Testing
@testable import VltavaConnect

@Suite("Herder state")
struct HerderStateTests {
    static let config = ["name": "c", "connector.class": "FileStreamSource", "file": "/tmp/in", "topic": "t"]

    /// The config records among the actions.
    static func configRecords(_ actions: [HerderAction]) -> [StoredRecord] {
        actions.flatMap { action -> [StoredRecord] in
            if case let .persistConfig(records) = action { return records }
            return []
        }
    }

    static func statusRecords(_ actions: [HerderAction]) -> [StoredRecord] {
        actions.flatMap { action -> [StoredRecord] in
            if case let .persistStatus(records) = action { return records }
            return []
        }
    }

    @Test func creatingStoresTheConfigAndStartsTheConnector() {
        var state = HerderState(workerId: "w:8083")
        let (created, actions) = state.put(name: "c", config: Self.config)
        #expect(created)
        #expect(Self.configRecords(actions).map(\.key) == ["connector-c"])
        #expect(actions.contains(.startConnector("c")))
        let generated = state.tasksGenerated(name: "c", [["topic": "t"]])
        #expect(Self.configRecords(generated).map(\.key) == ["task-c-0", "commit-c"])
        #expect(generated.last == .startTasks("c"))
        #expect(state.connectors["c"]?.status.state == .running)
        // The same task configs again: nothing to store, the tasks (re)start.
        #expect(Self.configRecords(state.tasksGenerated(name: "c", [["topic": "t"]])).isEmpty)
        // Replacing the config restarts the connector.
        let (again, replaced) = state.put(name: "c", config: Self.config.merging(["topic": "u"]) { $1 })
        #expect(!again)
        #expect(replaced.contains(.stopConnector("c")) && replaced.contains(.startConnector("c")))
    }

    @Test func aConnectorCreatedStoppedWritesItsTargetStateFirstAndDoesNotStart() {
        var state = HerderState(workerId: "w")
        let (_, actions) = state.put(name: "c", config: Self.config, initialState: .stopped)
        #expect(Self.configRecords(actions).map(\.key) == ["target-state-c", "connector-c"])
        #expect(!actions.contains(.startConnector("c")))
        #expect(state.connectors["c"]?.status.state == .stopped)
    }

    @Test func pauseResumeAndStop() {
        var state = HerderState(workerId: "w")
        _ = state.put(name: "c", config: Self.config)
        _ = state.tasksGenerated(name: "c", [["a": "1"], ["a": "2"]])
        _ = state.taskReported(.init(connector: "c", task: 1), .running, trace: nil)
        let paused = state.setTarget(name: "c", .paused)
        #expect(paused.contains(.setTasksPaused("c", true)))
        #expect(Self.configRecords(paused).first?.value?.contains("\"state\":\"PAUSED\"") == true)
        #expect(state.connectors["c"]?.status.state == .paused)
        let resumed = state.setTarget(name: "c", .started)
        #expect(resumed.contains(.setTasksPaused("c", false)))
        let stopped = state.setTarget(name: "c", .stopped)
        #expect(stopped.contains(.stopConnector("c")))
        #expect(Self.configRecords(stopped).map(\.key) == ["target-state-c", "commit-c"])
        #expect(Self.statusRecords(stopped).contains(StoredRecord((key: "status-task-c-1", value: nil))))
        #expect(state.connectors["c"]?.taskConfigs == [])
        #expect(state.connectors["c"]?.status.state == .stopped)
        #expect(state.setTarget(name: "c", .started).contains(.startConnector("c")))
    }

    @Test func restartsFollowKafkasFlags() {
        var state = HerderState(workerId: "w")
        _ = state.put(name: "c", config: Self.config)
        _ = state.tasksGenerated(name: "c", [["a": "1"], ["a": "2"]])
        _ = state.taskReported(.init(connector: "c", task: 0), .running, trace: nil)
        _ = state.taskReported(.init(connector: "c", task: 1), .failed, trace: "boom")
        #expect(state.restart(name: "c", includeTasks: false, onlyFailed: false).contains(.startConnector("c")))
        let failedOnly = state.restart(name: "c", includeTasks: true, onlyFailed: true)
        #expect(failedOnly.contains(.restartTask(.init(connector: "c", task: 1))))
        #expect(!failedOnly.contains(.restartTask(.init(connector: "c", task: 0))))
        #expect(!failedOnly.contains(.startConnector("c")), "the connector is not failed")
        #expect(state.connectors["c"]?.taskStatuses[1]?.state == .restarting)
        let everything = state.restart(name: "c", includeTasks: true, onlyFailed: false)
        #expect(everything.suffix(2) == [.stopConnector("c"), .startConnector("c")])
    }

    @Test func deletingWritesTombstones() {
        var state = HerderState(workerId: "w")
        _ = state.put(name: "c", config: Self.config)
        _ = state.tasksGenerated(name: "c", [["a": "1"]])
        _ = state.taskReported(.init(connector: "c", task: 0), .running, trace: nil)
        let actions = state.delete(name: "c")
        #expect(actions.first == .stopConnector("c"))
        #expect(Self.configRecords(actions) == [StoredRecord((key: "connector-c", value: nil)), StoredRecord((key: "target-state-c", value: nil))])
        #expect(Self.statusRecords(actions).map(\.key) == ["status-connector-c", "status-task-c-0"])
        #expect(state.connectors.isEmpty)
    }

    @Test func restoringReadsKafkasRecordsInOrder() {
        var state = HerderState(workerId: "w")
        let records: [(key: String, value: String?)] = [
            ConnectStorageRecords.targetState(connector: "c", state: "PAUSED"),
            ConnectStorageRecords.connectorConfig(name: "c", properties: Self.config),
            ConnectStorageRecords.taskConfig(connector: "c", task: 0, properties: ["a": "1"]),
            ConnectStorageRecords.taskCommit(connector: "c", tasks: 1),
            // Task configs without their commit do not count.
            ConnectStorageRecords.taskConfig(connector: "c", task: 0, properties: ["a": "2"]),
            ConnectStorageRecords.connectorConfig(name: "gone", properties: Self.config),
            ConnectStorageRecords.connectorConfig(name: "gone", properties: nil),
            ("session-key", "{}"),
        ]
        for record in records { state.restore(key: record.key, value: record.value) }
        state.restoreStatus(key: "topic-t-c", value: ConnectStorageRecords.topicStatus(topic: "t", connector: "c", task: 0, discoverTimestampMs: 1).value)
        #expect(state.connectorNames == ["c"])
        #expect(state.connectors["c"]?.targetState == .paused)
        #expect(state.connectors["c"]?.taskConfigs == [["a": "1"]])
        #expect(state.connectors["c"]?.topics == ["t"])
        #expect(state.startAll() == [.startConnector("c")])
    }

    @Test func topicsAreStoredOncePerConnectorAndReset() {
        var state = HerderState(workerId: "w")
        _ = state.put(name: "c", config: Self.config)
        let id = ConnectorTaskId(connector: "c", task: 0)
        let first = state.topicUsed("t", by: id, timestampMs: 5)
        #expect(Self.statusRecords(first).map(\.key) == ["topic-t-c"])
        #expect(state.topicUsed("t", by: id, timestampMs: 6).isEmpty)
        #expect(Self.statusRecords(state.resetTopics(name: "c")) == [StoredRecord((key: "topic-t-c", value: nil))])
        #expect(state.connectors["c"]?.topics.isEmpty == true)
    }
}

@Suite("Connector validation")
struct ConnectorValidationTests {
    @Test func missingAndMistypedValuesAreCountedPerKey() throws {
        let plugin = try ConnectorPlugins.named("FileStreamSource")
        let validation = ConnectorValidation(plugin: plugin, config: ["connector.class": "FileStreamSource", "name": "x", "tasks.max": "many"])
        #expect(validation.errorCount == 2)
        #expect(validation.errors.map(\.name) == ["tasks.max", "topic"])
        #expect(validation.failureMessage.hasPrefix("Connector configuration is invalid and contains the following 2 error(s):\n"))
        let json = validation.json
        #expect(json["name"]?.stringValue == plugin.className)
        #expect(json["error_count"]?.integerValue == 2)
    }

    @Test func sinksNeedTopicsOrARegexButNotBoth() throws {
        let plugin = try ConnectorPlugins.named("FileStreamSink")
        #expect(ConnectorValidation(plugin: plugin, config: ["name": "s", "connector.class": "FileStreamSink"]).errorCount == 2)
        #expect(ConnectorValidation(plugin: plugin, config: ["name": "s", "connector.class": "FileStreamSink", "topics": "a"]).errorCount == 0)
        #expect(ConnectorValidation(plugin: plugin, config: [
            "name": "s", "connector.class": "FileStreamSink", "topics": "a", "topics.regex": "a.*",
        ]).errorCount == 2)
    }

    @Test func passwordsAreHiddenInTheAnswer() throws {
        var plugin = try ConnectorPlugins.named("FileStreamSource")
        plugin.configDefinition.append(ConfigKeyDefinition(
            name: "connection.password", type: .password, defaultValue: nil, importance: .high, documentation: "secret"))
        let json = ConnectorValidation(plugin: plugin, config: [
            "name": "x", "connector.class": "FileStreamSource", "topic": "t", "connection.password": "hunter2",
        ]).json
        let values = json["configs"]?.arrayValue?.compactMap { $0["value"] } ?? []
        let password = values.first { $0["name"]?.stringValue == "connection.password" }
        #expect(password?["value"]?.stringValue == "[hidden]")
        #expect(!json.serialized.contains("hunter2"))
    }

    /// CVE-2023-25194: a JAAS config in a connector's client overrides names a login module the worker would load.
    @Test func loginModulesAreRefusedWithoutEchoingTheSecret() throws {
        let plugin = try ConnectorPlugins.named("FileStreamSink")
        let jaas = "com.sun.security.auth.module.JndiLoginModule required user.provider.url=\"ldap://evil\" password=\"s3cret\";"
        let validation = ConnectorValidation(plugin: plugin, config: [
            "name": "s", "connector.class": "FileStreamSink", "topics": "a", "consumer.override.sasl.jaas.config": jaas,
            "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required;",
        ])
        #expect(validation.errors.map(\.name) == ["consumer.override.sasl.jaas.config", "sasl.jaas.config"])
        #expect(validation.failureMessage.contains("com.sun.security.auth.module.JndiLoginModule"))
        #expect(validation.failureMessage.contains("PlainLoginModule"))
        #expect(!validation.failureMessage.contains("s3cret") && !validation.failureMessage.contains("evil"))
        #expect(!validation.json.serialized.contains("s3cret"))
        #expect(ConnectorValidation(plugin: plugin, config: [
            "name": "s", "connector.class": "FileStreamSink", "topics": "a", "consumer.override.sasl.mechanism": "PLAIN",
        ]).errorCount == 0)
    }

    @Test func badConverterAndTransformClassesAreErrors() throws {
        let plugin = try ConnectorPlugins.named("FileStreamSink")
        let validation = ConnectorValidation(plugin: plugin, config: [
            "name": "s", "connector.class": "FileStreamSink", "topics": "a", "value.converter": "com.example.Nope",
            "transforms": "x", "transforms.x.type": "com.example.NoTransform", "errors.tolerance": "some",
        ])
        #expect(validation.errors.map(\.name).sorted() == ["errors.tolerance", "transforms.x.type", "value.converter"])
    }
}

@Suite("Source worker batches")
struct SourceBatchTests {
    @Test func recordsAreGroupedByTopicAndTheLastOffsetOfEachPartitionIsKept() throws {
        let partition = FileStreamSourceTask.partition("/in")
        func record(_ topic: String, _ value: String, _ position: Int64) -> ConnectRecord {
            ConnectRecord(topic: topic, valueSchema: .string, value: .string(value), sourcePartition: partition,
                          sourceOffset: .map([ConnectMapEntry(key: .string("position"), value: .int64(position))]))
        }
        let chain = try TransformationChain(config: [
            "transforms": "drop", "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter",
            "transforms.drop.predicate": "isB", "predicates": "isB",
            "predicates.isB.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "predicates.isB.pattern": "b",
        ])
        let converters = try RecordConverters(
            connectorConfig: ["value.converter": "org.apache.kafka.connect.storage.StringConverter"],
            worker: try WorkerConfig(properties: [:]))
        let batch = try SourceWorkerTask.prepare(
            [record("a", "1", 2), record("b", "2", 4), record("a", "3", 6)], chain: chain, converters: converters,
            tolerance: try ErrorTolerance(config: [:]), id: .init(connector: "c", task: 0), logger: .init(label: "test"))
        #expect(batch.polledRecords == 3)
        #expect(batch.destinations.map(\.topic) == ["a"])
        #expect(batch.destinations[0].records.map { $0.value.map { String(buffer: $0) } } == ["1", "3"])
        // The filtered record's offset still counts: it was handled.
        #expect(batch.offsets.count == 1)
        #expect(batch.offsets[0].offset == .map([ConnectMapEntry(key: .string("position"), value: .int64(6))]))
    }
}
