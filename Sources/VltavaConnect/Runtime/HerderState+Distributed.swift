/// The herder state's part in a group of workers: what there is to assign, statuses other workers publish, and
/// which status records this worker may write.
extension HerderState {
    /// Every connector and every task of the committed task configurations: the work the leader hands out.
    public var configuredWork: Set<ConnectAssignmentItem> {
        var work: Set<ConnectAssignmentItem> = []
        for (name, connector) in connectors {
            work.insert(.connector(name))
            for index in connector.taskConfigs.indices { work.insert(.task(name, Int32(index))) }
        }
        return work
    }

    /// Applies a `connect-status` record another worker (or this one) wrote: statuses of connectors and tasks,
    /// and the topics connectors use.
    public mutating func followStatus(key: String, value: String?) {
        guard let parsed = ConnectStorageRecords.parseStatus(key: key, value: value) else {
            restoreStatus(key: key, value: value)
            return
        }
        guard connectors[parsed.connector] != nil else {
            var unclaimed = unclaimedStatuses[parsed.connector] ?? UnclaimedStatuses()
            if let task = parsed.task {
                unclaimed.taskStatuses[task] = parsed.status
            } else {
                unclaimed.status = parsed.status
            }
            unclaimedStatuses[parsed.connector] = unclaimed.status == nil && unclaimed.taskStatuses.isEmpty && unclaimed.topics.isEmpty
                ? nil : unclaimed
            return
        }
        if let task = parsed.task {
            connectors[parsed.connector]?.taskStatuses[task] = parsed.status
        } else if let status = parsed.status {
            connectors[parsed.connector]?.status = status
        }
    }

    /// The status a running connector object reports (RUNNING, or PAUSED as its target state says).
    public mutating func connectorRunning(_ name: String) -> [HerderAction] {
        guard let connector = connectors[name] else { return [] }
        return setConnectorStatus(name, connector.targetState == .paused ? .paused : .running)
    }

    /// The status of a connector assigned to this worker but asked to stop.
    public mutating func connectorStoppedHere(_ name: String) -> [HerderAction] {
        setConnectorStatus(name, .stopped)
    }

    /// Keeps only the status records this worker may write: statuses of what it runs, and tombstones (the leader
    /// deletes a connector's statuses).
    public static func statusRecords(_ records: [StoredRecord], ownedBy owned: Set<ConnectAssignmentItem>) -> [StoredRecord] {
        records.filter { record in
            guard record.value != nil, let parsed = ConnectStorageRecords.parseStatus(key: record.key, value: nil) else { return true }
            let item: ConnectAssignmentItem = parsed.task.map { .task(parsed.connector, Int32($0)) } ?? .connector(parsed.connector)
            return owned.contains(item)
        }
    }
}
