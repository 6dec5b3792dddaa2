import Logging
import NIOConcurrencyHelpers
import NIOCore
import VltavaClient

/// The `_schemas` topic through a Kafka client: creates it (compacted, one partition), reads it to its end at
/// start, keeps reading it, and writes records that become visible once read back. Works against any Kafka.
actor KafkaSchemaStore {
    let client: KafkaClient
    let topic: String
    let logger: Logger
    /// How long a write may wait for its record to come back (50002 after that).
    let writeTimeout: Duration

    private(set) var state: RegistryState {
        didSet { stateChanged = true }
    }
    private var stateChanged = false
    /// `state` as of the last record read, for readers that cannot wait for the actor (the broker's produce
    /// path checking schema ids).
    nonisolated let published: NIOLockedValueBox<RegistryState>
    /// The next offset of `_schemas` to read: every record before it is in `state`.
    private(set) var nextOffset: Int64 = 0
    private var writeLocked = false
    private var writeWaiters: [CheckedContinuation<Void, Never>] = []

    init(client: KafkaClient, topic: String, identity: @escaping @Sendable (StoredSchema) -> String, logger: Logger,
         writeTimeout: Duration = .seconds(30)) {
        self.client = client
        self.topic = topic
        self.logger = logger
        self.writeTimeout = writeTimeout
        self.state = RegistryState(identity: identity)
        self.published = NIOLockedValueBox(RegistryState(identity: identity))
    }

    /// Creates the topic when missing and reads it to its current end, retrying while the cluster cannot be
    /// reached (the broker of `vltava serve` starts beside the registry).
    func start() async throws {
        var attempt = 0
        while true {
            do {
                try await ensureTopic()
                try await catchUpToEnd()
                logger.info("schema store ready", metadata: [
                    "topic": "\(topic)", "records": "\(nextOffset)", "subjects": "\(state.subjects.count)",
                ])
                return
            } catch {
                attempt += 1
                if attempt % 10 == 1 {
                    logger.warning("schema store not ready, retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(min(100 * attempt, 1000)))
            }
        }
    }

    private func ensureTopic() async throws {
        let existing = try await client.listTopics(includeInternal: true)
        guard !existing.contains(topic) else { return }
        do {
            try await client.createTopics([NewTopic(
                name: topic, partitions: 1, replicationFactor: -1,
                configs: [ConfigAssignment(name: "cleanup.policy", value: "compact")])])
        } catch let error where error.errorCode == .topicAlreadyExists {
            return
        }
    }

    /// Reads until the end the log has now.
    func catchUpToEnd() async throws {
        let end = try await client.listOffsets(topic: topic, partitions: [0], spec: .latest)[0] ?? 0
        while nextOffset < end {
            try await readOnce(maxWait: .milliseconds(100))
        }
    }

    /// One fetch from `nextOffset`, applied to the state.
    func readOnce(maxWait: TimeAmount, through client: KafkaClient? = nil) async throws {
        let fetched = try await (client ?? self.client).fetch(topic: topic, offsets: [0: nextOffset], maxWait: maxWait)
        for partition in fetched where partition.partition == 0 {
            for record in partition.records where record.offset >= nextOffset {
                apply(record)
                nextOffset = record.offset + 1
            }
            nextOffset = max(nextOffset, partition.nextOffset)
        }
        if stateChanged {
            stateChanged = false
            let state = state
            published.withLockedValue { $0 = state }
        }
    }

    private func apply(_ record: ConsumedRecord) {
        guard var keyBytes = record.key, let keyText = keyBytes.readString(length: keyBytes.readableBytes),
            let key = SchemaStoreKey(parsing: keyText)
        else { return }
        let value = record.value.flatMap { buffer -> String? in
            var buffer = buffer
            return buffer.readString(length: buffer.readableBytes)
        }
        state.apply(key: key, value: value)
    }

    /// Keeps reading new records until cancelled (another registry's writes, our own writes).
    func followTopic() async {
        // A second client for the long polls: the broker answers a connection's requests in order, so the
        // requests of a write on the same connection would wait for the poll to end.
        let followClient = KafkaClient(bootstrapServers: await client.bootstrapServers, configuration: await client.configuration)
        defer { Task { await followClient.close() } }
        while !Task.isCancelled {
            do {
                try await readOnce(maxWait: .milliseconds(500), through: followClient)
            } catch {
                if Task.isCancelled { return }
                logger.warning("reading \(topic) failed, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Runs `body` as the only writer: registrations read the state, decide, and write without another
    /// write in between. The state is first brought to the topic's end, so writes of another registry count.
    func exclusively<T: Sendable>(_ body: @Sendable (isolated KafkaSchemaStore) async throws -> T) async throws -> T {
        if writeLocked {
            await withCheckedContinuation { writeWaiters.append($0) }
        } else {
            writeLocked = true
        }
        defer {
            if writeWaiters.isEmpty { writeLocked = false } else { writeWaiters.removeFirst().resume() }
        }
        do {
            try await catchUpToEnd()
        } catch {
            throw Self.storeError("cannot read \(topic)", error)
        }
        return try await body(self)
    }

    /// 50002 for a request to Kafka that timed out, else 50001.
    static func storeError(_ what: String, _ error: any Error) -> RegistryError {
        if case .timedOut = error as? KafkaClientError { return .timeout("\(what): \(error)") }
        return .store("\(what): \(error)")
    }

    /// Writes records and returns once they have been read back into the state.
    func write(_ records: [(SchemaStoreKey, String?)]) async throws(RegistryError) {
        let producerRecords = records.map { key, value in
            ProducerRecord(key: ByteBuffer(string: key.serialized), value: value.map { ByteBuffer(string: $0) })
        }
        let results: [ProduceResult]
        do {
            results = try await client.produce(topic: topic, records: producerRecords, partition: 0, acks: .all)
        } catch {
            throw Self.storeError("cannot write to \(topic)", error)
        }
        guard let last = results.map({ $0.baseOffset + Int64($0.recordCount) - 1 }).max() else { return }
        let deadline = ContinuousClock.now + writeTimeout
        while nextOffset <= last {
            guard ContinuousClock.now < deadline else { throw .timeout("record at offset \(last) of \(topic) not read back") }
            do {
                try await readOnce(maxWait: .milliseconds(100))
            } catch {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
