import Testing
@testable import VltavaConnect

@Suite("Connect internal topic records")
struct ConnectStorageRecordsTests {
    @Test func offsetsUseKafkasKeyAndValueShapes() throws {
        let partition = FileStreamSourceTask.partition("/tmp/in.txt")
        let key = ConnectStorageRecords.offsetKey(connector: "file-source", partition: partition)
        #expect(key == #"["file-source",{"filename":"/tmp/in.txt"}]"#)
        let parsed = try #require(ConnectStorageRecords.parseOffsetKey(key))
        #expect(parsed.connector == "file-source" && parsed.partition == partition)
        let value = ConnectStorageRecords.offsetValue(.map([ConnectMapEntry(key: .string("position"), value: .int64(12))]))
        #expect(value == #"{"position":12}"#)
        #expect(ConnectStorageRecords.parseOffsetValue(value) == .map([ConnectMapEntry(key: .string("position"), value: .int64(12))]))
        #expect(ConnectStorageRecords.parseOffsetKey(#"{"not":"a list"}"#) == nil)
        #expect(ConnectStorageRecords.offsetValue(nil) == nil, "a null value deletes the offset")
    }

    @Test func configRecordsRoundTripInKafkasFormat() {
        let connector = ConnectStorageRecords.connectorConfig(name: "sink-1", properties: ["b": "2", "a": "1"])
        #expect(connector.key == "connector-sink-1")
        #expect(connector.value == #"{"properties":{"a":"1","b":"2"}}"#)
        #expect(ConnectStorageRecords.parseConfigRecord(key: connector.key, value: connector.value)
            == .connector(name: "sink-1", properties: ["a": "1", "b": "2"]))
        let task = ConnectStorageRecords.taskConfig(connector: "my-conn-x", task: 3, properties: ["file": "/f"])
        #expect(task.key == "task-my-conn-x-3")
        #expect(ConnectStorageRecords.parseConfigRecord(key: task.key, value: task.value)
            == .task(connector: "my-conn-x", task: 3, properties: ["file": "/f"]), "connector names may hold dashes")
        let commit = ConnectStorageRecords.taskCommit(connector: "c", tasks: 2)
        #expect(commit.value == #"{"tasks":2}"#)
        #expect(ConnectStorageRecords.parseConfigRecord(key: commit.key, value: commit.value) == .commit(connector: "c", tasks: 2))
        let stopped = ConnectStorageRecords.targetState(connector: "c", state: "STOPPED")
        #expect(stopped.value == #"{"state":"PAUSED","state.v2":"STOPPED"}"#)
        #expect(ConnectStorageRecords.parseConfigRecord(key: stopped.key, value: stopped.value) == .targetState(connector: "c", state: "STOPPED"))
        #expect(ConnectStorageRecords.parseConfigRecord(key: "connector-gone", value: nil) == .connector(name: "gone", properties: nil))
        #expect(ConnectStorageRecords.parseConfigRecord(key: "session-key", value: "{}") == nil)
    }

    @Test func statusRecordsAsKafkaWritesThem() {
        let status = ConnectStorageRecords.status(connector: "c", task: 0, state: "RUNNING", trace: nil, workerId: "host:8083", generation: 4)
        #expect(status.key == "status-task-c-0")
        #expect(status.value == #"{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":4}"#)
        #expect(ConnectStorageRecords.status(connector: "c", task: nil, state: "FAILED", trace: "boom", workerId: "w", generation: 1).key
            == "status-connector-c")
    }
}
