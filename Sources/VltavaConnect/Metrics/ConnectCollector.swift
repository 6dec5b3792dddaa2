import VltavaMetrics

/// Connectors and tasks by state as this worker sees them (`GET /connectors/{name}/status`), read from the herder
/// at scrape time.
public struct ConnectCollector: ScrapeCollector {
    let herder: Herder

    public init(herder: Herder) {
        self.herder = herder
    }

    static let states: [ConnectState] = [.unassigned, .running, .paused, .failed, .restarting, .stopped]

    public func collect(into writer: inout PrometheusTextWriter) async {
        var connectorStates: [ConnectState: Int64] = [:]
        var taskStates: [(connector: String, counts: [ConnectState: Int64])] = []
        for name in await herder.connectorNames().sorted() {
            guard let record = try? await herder.connector(name) else { continue }
            connectorStates[record.status.state, default: 0] += 1
            var counts: [ConnectState: Int64] = [:]
            for status in record.taskStatuses.values { counts[status.state, default: 0] += 1 }
            taskStates.append((name, counts))
        }
        writer.family("vltava_connect_connectors", .gauge, help: "Kafka Connect connectors by state.")
        for state in Self.states {
            writer.sample("vltava_connect_connectors", [("state", state.rawValue)], connectorStates[state] ?? 0)
        }
        writer.family("vltava_connect_tasks", .gauge, help: "Kafka Connect tasks of a connector by state.")
        for (connector, counts) in taskStates {
            for state in Self.states {
                writer.sample("vltava_connect_tasks", [("connector", connector), ("state", state.rawValue)], counts[state] ?? 0)
            }
        }
        // Source tasks count the records Kafka acknowledged, sink tasks those they handed to put (Kafka Connect's
        // source-record-write-total and sink-record-read-total); a restarted task starts again from zero.
        writer.family("vltava_connect_task_records_total", .counter,
                      help: "Records a Kafka Connect task running on this worker has moved since it started.")
        for (connector, tasks) in await herder.taskRecordCounts().sorted(by: { $0.key < $1.key }) {
            for (task, count) in tasks.sorted(by: { $0.key < $1.key }) {
                writer.sample("vltava_connect_task_records_total", [("connector", connector), ("task", String(task))], count)
            }
        }
    }
}
