import Testing
@testable import VltavaConnect

@Suite("Herder state in a worker group")
struct HerderStateDistributedTests {
    static let config = ["name": "c", "connector.class": "FileStreamSource", "file": "/tmp/in", "topic": "t"]

    @Test func configuredWorkIsEveryConnectorAndCommittedTask() {
        var state = HerderState(workerId: "a:8083")
        _ = state.put(name: "c", config: Self.config)
        #expect(state.configuredWork == [.connector("c")])
        _ = state.tasksGenerated(name: "c", [["task.class": "x"], ["task.class": "x"]])
        #expect(state.configuredWork == [.connector("c"), .task("c", 0), .task("c", 1)])
    }

    @Test func statusesOfOtherWorkersAreFollowed() {
        var state = HerderState(workerId: "a:8083")
        _ = state.put(name: "my-c", config: Self.config)
        _ = state.tasksGenerated(name: "my-c", [["task.class": "x"]])
        let task = ConnectStorageRecords.status(connector: "my-c", task: 0, state: "RUNNING", trace: nil, workerId: "b:8083", generation: 3)
        state.followStatus(key: task.key, value: task.value)
        #expect(state.connectors["my-c"]?.taskStatuses[0] == ConnectStatus(state: .running, workerId: "b:8083"))
        let connector = ConnectStorageRecords.status(connector: "my-c", task: nil, state: "FAILED", trace: "boom", workerId: "b:8083", generation: 3)
        state.followStatus(key: connector.key, value: connector.value)
        #expect(state.connectors["my-c"]?.status == ConnectStatus(state: .failed, trace: "boom", workerId: "b:8083"))
        state.followStatus(key: task.key, value: nil)
        #expect(state.connectors["my-c"]?.taskStatuses[0] == nil)
    }

    @Test func statusesReadBeforeTheirConnectorsConfigAreKeptForIt() {
        var state = HerderState(workerId: "a:8083")
        let task = ConnectStorageRecords.status(connector: "late", task: 0, state: "RUNNING", trace: nil, workerId: "b:8083", generation: 3)
        let connector = ConnectStorageRecords.status(connector: "late", task: nil, state: "RUNNING", trace: nil, workerId: "b:8083", generation: 3)
        let gone = ConnectStorageRecords.status(connector: "late", task: 1, state: "FAILED", trace: "x", workerId: "b:8083", generation: 3)
        for record in [task, connector, gone] { state.followStatus(key: record.key, value: record.value) }
        state.followStatus(key: gone.key, value: nil)
        state.restoreStatus(key: "topic-t-late", value: ConnectStorageRecords.topicStatus(topic: "t", connector: "late", task: 0, discoverTimestampMs: 1).value)
        let config = ConnectStorageRecords.connectorConfig(name: "late", properties: Self.config)
        state.restore(key: config.key, value: config.value)
        #expect(state.connectors["late"]?.status == ConnectStatus(state: .running, workerId: "b:8083"))
        #expect(state.connectors["late"]?.taskStatuses == [0: ConnectStatus(state: .running, workerId: "b:8083")])
        #expect(state.connectors["late"]?.topics == ["t"])
        #expect(state.unclaimedStatuses.isEmpty)
        // Tombstones of a connector never configured leave nothing behind.
        let other = ConnectStorageRecords.status(connector: "never", task: nil, state: "RUNNING", trace: nil, workerId: "b:8083", generation: 3)
        state.followStatus(key: other.key, value: other.value)
        state.followStatus(key: other.key, value: nil)
        #expect(state.unclaimedStatuses.isEmpty)
    }

    @Test func aWorkerOfAGroupSetsOnlyTheStatusesOfWhatItIsAssigned() {
        var state = HerderState(workerId: "a:8083")
        state.owned = []
        _ = state.put(name: "my-c", config: Self.config)
        // The leader generates task configs of a connector another worker runs: nothing of its status changes.
        let generated = state.tasksGenerated(name: "my-c", [["task.class": "x"]])
        #expect(!generated.contains { if case .persistStatus = $0 { return true } else { return false } })
        #expect(state.connectors["my-c"]?.status == ConnectStatus(state: .unassigned, workerId: "a:8083"))
        // Once the connector is assigned here, its RUNNING status is set and written.
        state.owned = [.connector("my-c")]
        let running = state.connectorRunning("my-c")
        #expect(running.contains { if case .persistStatus = $0 { return true } else { return false } })
        #expect(state.connectors["my-c"]?.status == ConnectStatus(state: .running, workerId: "a:8083"))
        #expect(state.taskReported(ConnectorTaskId(connector: "my-c", task: 0), .running, trace: nil).isEmpty)
    }

    @Test func aWorkerWritesOnlyTheStatusesOfWhatItRuns() {
        let records = [
            StoredRecord((key: "status-connector-c", value: "{}")),
            StoredRecord((key: "status-task-c-0", value: "{}")),
            StoredRecord((key: "status-task-c-1", value: "{}")),
            StoredRecord((key: "status-task-c-2", value: nil)),
            StoredRecord((key: "topic-t-c", value: "{}")),
        ]
        let kept = HerderState.statusRecords(records, ownedBy: [.task("c", 1)])
        #expect(kept.map(\.key) == ["status-task-c-1", "status-task-c-2", "topic-t-c"])
    }

    @Test func statusKeysNameTheirConnectorAndTask() {
        #expect(ConnectStorageRecords.parseStatus(key: "status-task-a-b-12", value: nil)?.connector == "a-b")
        #expect(ConnectStorageRecords.parseStatus(key: "status-task-a-b-12", value: nil)?.task == 12)
        #expect(ConnectStorageRecords.parseStatus(key: "status-connector-a-b", value: nil)?.task == nil)
        #expect(ConnectStorageRecords.parseStatus(key: "topic-x-y", value: nil) == nil)
    }
}

@Suite("Restart requests in connect-configs")
struct RestartRequestRecordTests {
    @Test func aRestartRequestIsKafkasRecord() {
        let record = ConnectStorageRecords.restartRequest(connector: "a-b", includeTasks: true, onlyFailed: false)
        #expect(record.key == "restart-connector-a-b")
        #expect(record.value == #"{"include-tasks":true,"only-failed":false}"#)
        let parsed = ConnectStorageRecords.parseRestartRequest(key: record.key, value: record.value)
        #expect(parsed?.connector == "a-b")
        #expect(parsed?.includeTasks == true)
        #expect(parsed?.onlyFailed == false)
        #expect(ConnectStorageRecords.parseConfigRecord(key: record.key, value: record.value) == nil)
    }
}
