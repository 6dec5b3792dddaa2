#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import NIOConcurrencyHelpers
import VltavaSecurity

/// A topic as the cluster knows it.
public struct TopicMetadata: Codable, Equatable, Sendable {
    public var name: String
    public var topicId: KafkaUUID
    public var partitionCount: Int32
    /// The topic's config overrides.
    public var configs: [String: String]
    /// The replicas of each partition, by partition (cluster mode; nil on a single node, where it is always this node).
    public var replicaAssignment: [[Int32]]?

    public init(name: String, topicId: KafkaUUID, partitionCount: Int32, configs: [String: String],
                replicaAssignment: [[Int32]]? = nil) {
        self.name = name
        self.topicId = topicId
        self.partitionCount = partitionCount
        self.configs = configs
        self.replicaAssignment = replicaAssignment
    }
}

extension KafkaUUID: Codable {
    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        self.init(mostSignificantBits: try container.decode(UInt64.self), leastSignificantBits: try container.decode(UInt64.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(mostSignificantBits)
        try container.encode(leastSignificantBits)
    }
}

/// The cluster's metadata: topics, their partition counts and configs, and the producer id block. Kept behind a
/// protocol so that a single node can keep it in a local file and a cluster in etcd.
public protocol ClusterMetadataStore: Sendable {
    var clusterId: String { get }
    func topics() -> [TopicMetadata]
    func topic(named name: String) -> TopicMetadata?
    /// The topic with this id (Fetch v13+ and Metadata name topics by id).
    func topic(withId id: KafkaUUID) -> TopicMetadata?
    func createTopic(_ topic: TopicMetadata) throws(StorageError)
    func deleteTopic(named name: String) throws(StorageError)
    func updateTopic(_ topic: TopicMetadata) throws(StorageError)
    /// A new producer id, never handed out before, also across restarts.
    func allocateProducerId() throws(StorageError) -> Int64
    /// The SCRAM credentials of every user, by user and mechanism.
    func scramCredentials() -> [String: [ScramMechanism: ScramCredential]]
    func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential?
    /// Adds, replaces and removes SCRAM credentials in one durable change.
    func alterScramCredentials(upserting upserts: [ScramCredentialChange], deleting deletions: [ScramCredentialChange]) throws(StorageError)
    /// Every ACL.
    func acls() -> [AclBinding]
    /// Adds and removes ACLs in one durable change (adding one that exists changes nothing).
    func alterAcls(adding: [AclBinding], removing: [AclBinding]) throws(StorageError)
    /// Every client quota, by entity.
    func clientQuotas() -> [ClientQuotaEntity: [ClientQuotaKey: Double]]
    /// Sets and removes quota values in one durable change; an entity left without values is forgotten.
    func alterClientQuotas(_ changes: [ClientQuotaChange]) throws(StorageError)
}

/// Quota values to set and to remove on one entity.
public struct ClientQuotaChange: Sendable {
    public var entity: ClientQuotaEntity
    public var set: [ClientQuotaKey: Double]
    public var remove: Set<ClientQuotaKey>

    public init(entity: ClientQuotaEntity, set: [ClientQuotaKey: Double] = [:], remove: Set<ClientQuotaKey> = []) {
        self.entity = entity
        self.set = set
        self.remove = remove
    }
}

/// One user's credential for one mechanism, to add (with the credential) or remove.
public struct ScramCredentialChange: Sendable {
    public var user: String
    public var mechanism: ScramMechanism
    public var credential: ScramCredential?

    public init(user: String, mechanism: ScramMechanism, credential: ScramCredential? = nil) {
        self.user = user
        self.mechanism = mechanism
        self.credential = credential
    }
}

/// The single-node metadata store: one JSON file in the data folder, replaced atomically on every change.
public final class LocalMetadataStore: ClusterMetadataStore, @unchecked Sendable {
    private struct Contents: Codable {
        var version: Int = 1
        var clusterId: String
        var nodeId: Int32
        var topics: [TopicMetadata]
        /// Producer ids below this may have been handed out; allocation resumes here after a restart.
        var producerIdLimit: Int64
        /// SCRAM credentials by user and mechanism name (absent in files written before they existed).
        var scramCredentials: [String: [String: ScramCredential]]?
        /// ACLs (absent in files written before they existed).
        var acls: [AclBinding]?
        /// Client quotas (absent in files written before they existed).
        var clientQuotas: [StoredClientQuota]?
    }

    private static let producerIdBlock: Int64 = 1000
    private let path: String
    /// Guards `contents` and the lookups, held only to read or publish them: readers (every produce and fetch)
    /// never wait for a write's fsyncs.
    private let lock = NIOLock()
    /// Serializes changes; held while the new metadata file is written and synced.
    private let writeLock = NIOLock()
    private var contents: Contents {
        didSet { reindex() }
    }
    /// Lookups by name and id, kept with `contents`: the produce and fetch paths ask for every request.
    private var byName: [String: TopicMetadata] = [:]
    private var byId: [KafkaUUID: TopicMetadata] = [:]
    private var nextProducerId: Int64

    /// Opens or creates the store at `<dataDirectory>/vltava-metadata.json`. A stored cluster id wins over
    /// `clusterId`, as Kafka's meta.properties does.
    public init(dataDirectory: String, clusterId: String, nodeId: Int32) throws(StorageError) {
        self.path = dataDirectory + "/vltava-metadata.json"
        try FileSystem.createDirectory(dataDirectory)
        if FileSystem.exists(path) {
            let bytes = try FileSystem.readAll(path)
            do {
                contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
            } catch {
                throw .invalidMetadata("\(path): \(error)")
            }
        } else {
            contents = Contents(clusterId: clusterId, nodeId: nodeId, topics: [], producerIdLimit: 0)
        }
        nextProducerId = contents.producerIdLimit
        reindex()
        try save()
    }

    private func reindex() {
        byName = Dictionary(contents.topics.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        byId = Dictionary(contents.topics.map { ($0.topicId, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var clusterId: String { lock.withLock { contents.clusterId } }

    public func topics() -> [TopicMetadata] {
        lock.withLock { contents.topics }
    }

    public func topic(named name: String) -> TopicMetadata? {
        lock.withLock { byName[name] }
    }

    public func topic(withId id: KafkaUUID) -> TopicMetadata? {
        lock.withLock { byId[id] }
    }

    public func createTopic(_ topic: TopicMetadata) throws(StorageError) {
        try mutate { contents throws(StorageError) in
            if contents.topics.contains(where: { $0.name == topic.name }) {
                throw .topicExists(topic.name)
            }
            contents.topics.append(topic)
        }
    }

    public func deleteTopic(named name: String) throws(StorageError) {
        try mutate { contents in contents.topics.removeAll { $0.name == name } }
    }

    public func updateTopic(_ topic: TopicMetadata) throws(StorageError) {
        try mutate { contents in
            if let index = contents.topics.firstIndex(where: { $0.name == topic.name }) { contents.topics[index] = topic }
        }
    }

    public func allocateProducerId() throws(StorageError) -> Int64 {
        writeLock.lock()
        defer { writeLock.unlock() }
        var updated = lock.withLock { contents }
        if nextProducerId >= updated.producerIdLimit {
            updated.producerIdLimit = nextProducerId + Self.producerIdBlock
            try write(updated)
            lock.withLock { contents = updated }
        }
        let id = nextProducerId
        nextProducerId += 1
        return id
    }

    public func scramCredentials() -> [String: [ScramMechanism: ScramCredential]] {
        SecurityMetadata.scramCredentials(lock.withLock { contents.scramCredentials ?? [:] })
    }

    public func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential? {
        lock.withLock { contents.scramCredentials?[user]?[mechanism.rawValue] }
    }

    public func alterScramCredentials(upserting upserts: [ScramCredentialChange], deleting deletions: [ScramCredentialChange])
        throws(StorageError) {
        try mutate { contents in
            var credentials = contents.scramCredentials ?? [:]
            SecurityMetadata.alterScramCredentials(&credentials, upserting: upserts, deleting: deletions)
            contents.scramCredentials = credentials
        }
    }

    public func acls() -> [AclBinding] {
        lock.withLock { contents.acls ?? [] }
    }

    public func alterAcls(adding: [AclBinding], removing: [AclBinding]) throws(StorageError) {
        try mutate { contents in
            var acls = contents.acls ?? []
            SecurityMetadata.alterAcls(&acls, adding: adding, removing: removing)
            contents.acls = acls
        }
    }

    public func clientQuotas() -> [ClientQuotaEntity: [ClientQuotaKey: Double]] {
        SecurityMetadata.clientQuotas(lock.withLock { contents.clientQuotas ?? [] })
    }

    public func alterClientQuotas(_ changes: [ClientQuotaChange]) throws(StorageError) {
        try mutate { contents in
            contents.clientQuotas = SecurityMetadata.alterClientQuotas(contents.clientQuotas ?? [], changes)
        }
    }

    /// Applies a change: under the write lock only, so lookups go on while the file is written and synced; the
    /// new contents are published once durable.
    private func mutate(_ change: (inout Contents) throws(StorageError) -> Void) throws(StorageError) {
        writeLock.lock()
        defer { writeLock.unlock() }
        var updated = lock.withLock { contents }
        try change(&updated)
        try write(updated)
        lock.withLock { contents = updated }
    }

    private func save() throws(StorageError) {
        writeLock.lock()
        defer { writeLock.unlock() }
        try write(lock.withLock { contents })
    }

    private func write(_ contents: Contents) throws(StorageError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(contents)
        } catch {
            throw .invalidMetadata("cannot encode metadata: \(error)")
        }
        try FileSystem.writeAtomically(Array(data), to: path)
    }
}
