import KafkaProtocol
import SchemaRegistry
import VltavaClient

/// The herder's answers to the REST API's requests, with Kafka's rules and messages.
extension Herder {
    /// Creates a connector, or replaces its config when `allowReplace` (`PUT /connectors/{name}/config`).
    /// Validates first: an unknown class or invalid values are 400, an existing name without `allowReplace` 409.
    public func putConnector(name: String, config: [String: String], initialState: TargetState? = nil,
                             allowReplace: Bool) async throws(ConnectRestError) -> (created: Bool, record: ConnectorRecord) {
        guard !name.isEmpty else { throw ConnectRestError(400, "Connector name must not be empty") }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ConnectRestError(400, "Connector name must not contain control characters")
        }
        let plugin: ConnectorPlugin
        do {
            plugin = try ConnectorPlugins.named(config["connector.class"] ?? "")
        } catch {
            if config["connector.class"] == nil {
                throw ConnectRestError(400, ConnectorValidation.missingClassMessage)
            }
            throw ConnectRestError(400, Self.message(error))
        }
        let validation = try await ConnectorValidation.blocking(plugin: plugin, config: config)
        if validation.errorCount > 0 { throw ConnectRestError(400, validation.failureMessage) }
        return try await serially { () async throws(ConnectRestError) -> (created: Bool, record: ConnectorRecord) in
            if await self.state.connectors[name] != nil, !allowReplace {
                throw ConnectRestError(409, "Connector \(name) already exists")
            }
            let (created, actions) = await self.putState(name: name, config: config, initialState: initialState)
            try await self.perform(actions)
            return (created, try await self.connector(name))
        }
    }

    private func putState(name: String, config: [String: String], initialState: TargetState?) -> (Bool, [HerderAction]) {
        state.put(name: name, config: config, initialState: initialState)
    }

    /// `DELETE /connectors/{name}`: stops it and removes its config and statuses (its offsets stay, as in Kafka).
    public func deleteConnector(_ name: String) async throws(ConnectRestError) {
        try await serially { () async throws(ConnectRestError) in
            _ = try await self.connector(name)
            try await self.perform(await self.mutate { $0.delete(name: name) })
        }
    }

    /// `PUT /connectors/{name}/pause|resume|stop`.
    public func setTargetState(_ name: String, _ target: TargetState) async throws(ConnectRestError) {
        try await serially { () async throws(ConnectRestError) in
            _ = try await self.connector(name)
            try await self.perform(await self.mutate { $0.setTarget(name: name, target) })
        }
    }

    /// `POST /connectors/{name}/restart`; returns the statuses right after the restart was asked for (RESTARTING
    /// where something restarts).
    @discardableResult
    public func restartConnector(_ name: String, includeTasks: Bool, onlyFailed: Bool) async throws(ConnectRestError) -> ConnectorRecord {
        try await serially { () async throws(ConnectRestError) -> ConnectorRecord in
            _ = try await self.connector(name)
            let actions = await self.mutate { $0.restart(name: name, includeTasks: includeTasks, onlyFailed: onlyFailed) }
            let snapshot = try await self.connector(name)
            if await self.isDistributed {
                // The workers that run the connector and its tasks restart them when they read the request.
                let request = ConnectStorageRecords.restartRequest(connector: name, includeTasks: includeTasks, onlyFailed: onlyFailed)
                try await self.perform([.persistConfig([StoredRecord(request)])])
            } else {
                try await self.perform(actions)
            }
            return snapshot
        }
    }

    /// `POST /connectors/{name}/tasks/{task}/restart`.
    public func restartTask(_ id: ConnectorTaskId) async throws(ConnectRestError) {
        try await serially { () async throws(ConnectRestError) in
            let record = try await self.connector(id.connector)
            guard record.taskConfigs.indices.contains(id.task) else {
                throw ConnectRestError(404, "Task \(id) not found")
            }
            try await self.perform([.restartTask(id)])
        }
    }

    /// `PUT /connectors/{name}/topics/reset`.
    public func resetTopics(_ name: String) async throws(ConnectRestError) {
        try await serially { () async throws(ConnectRestError) in
            _ = try await self.connector(name)
            try await self.perform(await self.mutate { $0.resetTopics(name: name) })
        }
    }

    func mutate(_ body: (inout HerderState) -> [HerderAction]) -> [HerderAction] {
        body(&state)
    }

    // MARK: Offsets (KIP-875)

    /// `GET /connectors/{name}/offsets`: a source connector's offsets from the offset store, a sink's committed
    /// consumer offsets as `{"kafka_topic","kafka_partition"}` / `{"kafka_offset"}`.
    public func offsets(_ name: String) async throws(ConnectRestError) -> [(partition: JSONValue, offset: JSONValue)] {
        let record = try connector(name)
        if try Self.plugin(record).type == .source {
            return offsetStore.offsets(connector: name).map { (ConnectStorageRecords.json($0.partition), ConnectStorageRecords.json($0.offset)) }
        }
        let committed: [String: [Int32: Int64]]
        do {
            committed = try await client.committedOffsets(group: SinkWorkerTask.groupId(name))
        } catch {
            throw ConnectRestError(500, "cannot read the offsets of the consumer group \(SinkWorkerTask.groupId(name)): \(error)")
        }
        var result: [(partition: JSONValue, offset: JSONValue)] = []
        for (topic, partitions) in committed.sorted(by: { $0.key < $1.key }) {
            for (partition, offset) in partitions.sorted(by: { $0.key < $1.key }) {
                result.append((.object([("kafka_topic", .string(topic)), ("kafka_partition", .integer(partition))]),
                               .object([("kafka_offset", .integer(offset))])))
            }
        }
        return result
    }

    /// `PATCH /connectors/{name}/offsets` (the connector must be STOPPED); returns Kafka's message.
    public func alterOffsets(_ name: String, _ offsets: [(partition: JSONValue, offset: JSONValue)]) async throws(ConnectRestError) -> String {
        try await serially { () async throws(ConnectRestError) -> String in
            let record = try await self.stoppedConnector(name)
            if try Self.plugin(record).type == .source {
                let values = offsets.map { (partition: ConnectStorageRecords.connectValue($0.partition),
                                            offset: $0.offset == .null ? nil : Optional(ConnectStorageRecords.connectValue($0.offset))) }
                do {
                    try await self.offsetStore.commit(connector: name, values)
                } catch {
                    throw ConnectRestError(500, "cannot write the offsets: \(error)")
                }
                return "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."
            }
            var byTopic: [String: [Int32: Int64]] = [:]
            for (partition, offset) in offsets {
                guard let topic = partition["kafka_topic"]?.stringValue, let number = partition["kafka_partition"]?.integerValue,
                      let index = Int32(exactly: number) else {
                    throw ConnectRestError(400, "Sink connector offsets must name their partition with \"kafka_topic\" (a string) and \"kafka_partition\" (an integer)")
                }
                guard offset != .null else {
                    throw ConnectRestError(400, "Removing the offset of a single sink partition is not supported yet; DELETE /connectors/\(name)/offsets removes them all")
                }
                guard let value = offset["kafka_offset"]?.integerValue, value >= 0 else {
                    throw ConnectRestError(400, "Sink connector offsets must be given as {\"kafka_offset\": <a non-negative integer>}")
                }
                byTopic[topic, default: [:]][index] = value
            }
            for (topic, partitions) in byTopic.sorted(by: { $0.key < $1.key }) {
                do {
                    try await self.client.commitOffsets(group: SinkWorkerTask.groupId(name), topic: topic, offsets: partitions)
                } catch {
                    throw ConnectRestError(500, "cannot commit the offsets of \(topic): \(error)")
                }
            }
            return "The offsets for this connector have been altered successfully"
        }
    }

    /// `DELETE /connectors/{name}/offsets` (the connector must be STOPPED).
    public func resetOffsets(_ name: String) async throws(ConnectRestError) -> String {
        try await serially { () async throws(ConnectRestError) -> String in
            let record = try await self.stoppedConnector(name)
            if try Self.plugin(record).type == .source {
                do {
                    try await self.offsetStore.removeAll(connector: name)
                } catch {
                    throw ConnectRestError(500, "cannot reset the offsets: \(error)")
                }
                return "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."
            }
            do throws(KafkaClientError) {
                try await self.client.deleteGroup(SinkWorkerTask.groupId(name))
            } catch {
                if error.errorCode != ErrorCode.groupIdNotFound {
                    throw ConnectRestError(500, "cannot delete the consumer group \(SinkWorkerTask.groupId(name)): \(error)")
                }
            }
            return "The offsets for this connector have been reset successfully"
        }
    }

    private func stoppedConnector(_ name: String) throws(ConnectRestError) -> ConnectorRecord {
        let record = try connector(name)
        guard record.targetState == .stopped else {
            throw ConnectRestError(400, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done "
                + "for the specified connector by issuing a 'PUT' request to the '/connectors/\(name)/stop' endpoint")
        }
        return record
    }

    static func plugin(_ record: ConnectorRecord) throws(ConnectRestError) -> ConnectorPlugin {
        do {
            return try ConnectorPlugins.named(record.config["connector.class"] ?? "")
        } catch {
            throw ConnectRestError(400, message(error))
        }
    }

    /// A connect error's message as Kafka words it (a config error's message alone).
    static func message(_ error: ConnectError) -> String {
        if case let .config(_, message) = error { return message }
        return error.description
    }
}

extension ConnectorValidation {
    static let missingClassMessage = "Connector config {} contains no connector type"
}
