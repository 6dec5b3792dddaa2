import NIOConcurrencyHelpers
import VltavaClient

/// Where a worker keeps connector configurations, task configurations and target states: the records of
/// `connect-configs` (`ConnectStorageRecords`), read back in order when the worker starts.
public protocol ConfigStore: Sendable {
    /// Every record stored so far, in the order written.
    func load() async throws(ConnectError) -> [(key: String, value: String?)]
    /// Stores records (a nil value deletes its key); durable when this returns.
    func write(_ records: [(key: String, value: String?)]) async throws(ConnectError)
}

/// Where a worker publishes connector and task statuses and the topics connectors use (`connect-status`).
public protocol StatusStore: Sendable {
    func load() async throws(ConnectError) -> [(key: String, value: String?)]
    func write(_ records: [(key: String, value: String?)]) async throws(ConnectError)
}

/// Records kept in memory: standalone mode's configs (Kafka's standalone worker keeps REST-created connectors in
/// memory too) and statuses.
public final class MemoryStore: ConfigStore, StatusStore, @unchecked Sendable {
    private let records = NIOLockedValueBox<[(key: String, value: String?)]>([])

    public init() {}

    public func load() async throws(ConnectError) -> [(key: String, value: String?)] {
        records.withLockedValue { $0 }
    }

    public func write(_ records: [(key: String, value: String?)]) async throws(ConnectError) {
        self.records.withLockedValue { stored in
            for record in records {
                stored.removeAll { $0.key == record.key }
                if record.value != nil { stored.append(record) }
            }
        }
    }
}

/// Standalone mode's config store.
public typealias MemoryConfigStore = MemoryStore
/// Standalone mode's status store.
public typealias MemoryStatusStore = MemoryStore

/// `config.storage.topic` (default `connect-configs`): compacted, one partition, so records keep their order.
public struct KafkaConfigStore: ConfigStore {
    let log: CompactedTopicLog

    public init(client: KafkaClient, topic: String, replicationFactor: Int16) {
        log = CompactedTopicLog(client: client, topic: topic, partitions: 1, replicationFactor: replicationFactor)
    }

    public func load() async throws(ConnectError) -> [(key: String, value: String?)] { try await log.readAll() }
    public func write(_ records: [(key: String, value: String?)]) async throws(ConnectError) { try await log.write(records) }

    /// The records written since the last read, and how far the topic is read now (-1: it does not exist).
    func readNew() async throws(ConnectError) -> (records: [(key: String, value: String?)], offset: Int64) {
        let records = try await log.readAll()
        return (records, await log.nextOffset(partition: 0))
    }
}

/// `status.storage.topic` (default `connect-status`): compacted, 5 partitions, keys spread by murmur2 as Kafka's
/// producer spreads them.
public struct KafkaStatusStore: StatusStore {
    let log: CompactedTopicLog

    public init(client: KafkaClient, topic: String, partitions: Int32, replicationFactor: Int16) {
        log = CompactedTopicLog(client: client, topic: topic, partitions: partitions, replicationFactor: replicationFactor)
    }

    public func load() async throws(ConnectError) -> [(key: String, value: String?)] { try await log.readAll() }
    public func write(_ records: [(key: String, value: String?)]) async throws(ConnectError) { try await log.write(records) }
}

/// `offset.storage.topic` (default `connect-offsets`): compacted, 25 partitions, keys `["<connector>",{partition}]`
/// spread by murmur2 of the key bytes as Kafka's producer does. `load()` reads it to its end into a map that
/// answers `offset(connector:partition:)` without a round trip; commits go to the topic, then into the map.
public final class KafkaOffsetStore: OffsetStore, @unchecked Sendable {
    let log: CompactedTopicLog
    private let entries = NIOLockedValueBox<[String: String]>([:])

    public init(client: KafkaClient, topic: String, partitions: Int32, replicationFactor: Int16) {
        log = CompactedTopicLog(client: client, topic: topic, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// Reads the topic to its end (the last record of a key wins; a null value removes it).
    public func load() async throws(ConnectError) {
        let records = try await log.readAll()
        entries.withLockedValue { entries in
            for record in records { entries[record.key] = record.value }
        }
    }

    public func offset(connector: String, partition: ConnectValue) -> ConnectValue? {
        let key = ConnectStorageRecords.offsetKey(connector: connector, partition: partition)
        return ConnectStorageRecords.parseOffsetValue(entries.withLockedValue { $0[key] })
    }

    public func offsets(connector: String) -> [(partition: ConnectValue, offset: ConnectValue)] {
        entries.withLockedValue { $0 }.sorted { $0.key < $1.key }.compactMap { key, value in
            guard let parsed = ConnectStorageRecords.parseOffsetKey(key), parsed.connector == connector,
                  let offset = ConnectStorageRecords.parseOffsetValue(value) else { return nil }
            return (parsed.partition, offset)
        }
    }

    public func commit(connector: String, _ offsets: [(partition: ConnectValue, offset: ConnectValue?)]) async throws(ConnectError) {
        let records = offsets.map {
            (key: ConnectStorageRecords.offsetKey(connector: connector, partition: $0.partition),
             value: ConnectStorageRecords.offsetValue($0.offset))
        }
        try await log.write(records)
        entries.withLockedValue { entries in
            for record in records { entries[record.key] = record.value }
        }
    }
}
