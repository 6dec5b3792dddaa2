import CoreMetrics
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A topic and partition.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Kafka's folder name for the partition.
    public var description: String { "\(topic)-\(partition)" }
}

/// All partition logs of the node: opens and recovers them at start, creates and deletes them with their
/// topics, runs retention and time-based flushes, and owns the flusher thread.
public final class LogManager: @unchecked Sendable {
    public let dataDirectory: String
    public let metadata: ClusterMetadataStore
    public let flusher: LogFlusher
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let lock = NIOLock()
    /// Held while a topic is created, so that a second creation of the same topic learns that it exists only once
    /// the first has opened every partition (a coordinator creating its internal topic uses the logs right after).
    private let creationLock = NIOLock()
    private var logs: [TopicPartition: PartitionLog] = [:]
    private var brokerDefaults: [String: String]
    private let cleanerSettings: LogCleanerSettings
    private var logStartOffsets: [TopicPartition: Int64] = [:]
    private var offline: Set<TopicPartition> = []
    /// Whether this node keeps a partition's log: every partition on a single node, the partitions it leads in a
    /// cluster.
    private let hostsPartition: @Sendable (TopicPartition) -> Bool

    private var checkpointPath: String { dataDirectory + "/log-start-offset-checkpoint" }

    /// Opens every partition of the topics in `metadata` that `hostsPartition` says this node keeps (all of them
    /// unless told otherwise). `cleaner` bounds the memory of compaction.
    public init(dataDirectory: String, metadata: ClusterMetadataStore, brokerDefaults: [String: String] = [:],
                cleaner: LogCleanerSettings = LogCleanerSettings(), logger: Logger,
                clock: @escaping @Sendable () -> Int64, metrics: (any MetricsFactory)? = nil,
                hostsPartition: @escaping @Sendable (TopicPartition) -> Bool = { _ in true }) throws(StorageError) {
        self.dataDirectory = dataDirectory
        self.hostsPartition = hostsPartition
        self.metadata = metadata
        self.brokerDefaults = brokerDefaults
        self.cleanerSettings = cleaner
        self.logger = logger
        self.clock = clock
        self.flusher = LogFlusher(clock: clock, metrics: metrics)
        try FileSystem.createDirectory(dataDirectory)
        logStartOffsets = try readCheckpoint()
        let started = clock()
        var count = 0
        for topic in metadata.topics() {
            for partition in 0..<topic.partitionCount where hostsPartition(TopicPartition(topic: topic.name, partition: partition)) {
                do {
                    try open(topic: topic, partition: partition)
                    count += 1
                } catch let StorageError.corrupt(reason) {
                    // One damaged partition must not keep the others offline, nor be served wrong.
                    let key = TopicPartition(topic: topic.name, partition: partition)
                    logger.error("partition is corrupt and kept offline", metadata: ["partition": "\(key)", "reason": "\(reason)"])
                    lock.withLock { _ = offline.insert(key) }
                }
            }
        }
        logger.info("log recovery done", metadata: [
            "partitions": "\(count)", "dataDirectory": "\(dataDirectory)", "ms": "\(clock() - started)",
        ])
    }

    @discardableResult
    private func open(topic: TopicMetadata, partition: Int32) throws(StorageError) -> PartitionLog {
        let key = TopicPartition(topic: topic.name, partition: partition)
        let log = try PartitionLog(
            topic: topic.name, partition: partition, directory: dataDirectory + "/" + key.description,
            config: LogConfig(overrides: topic.configs, brokerDefaults: brokerDefaults),
            logStartOffset: logStartOffsets[key] ?? 0, nowMs: clock(), logger: logger)
        log.flusher = flusher
        lock.withLock { logs[key] = log }
        return log
    }

    public func log(for topicPartition: TopicPartition) -> PartitionLog? {
        lock.withLock { logs[topicPartition] }
    }

    /// Every open partition log, for the scrape-time metrics (watermarks, sizes, traffic).
    public var allLogs: [PartitionLog] {
        lock.withLock { Array(logs.values) }
    }

    /// Whether a partition's files were found damaged at start-up; it is not served until repaired.
    public func isOffline(_ topicPartition: TopicPartition) -> Bool {
        lock.withLock { offline.contains(topicPartition) }
    }

    public func log(topic: String, partition: Int32) -> PartitionLog? {
        log(for: TopicPartition(topic: topic, partition: partition))
    }

    /// The effective config of a topic (its overrides over the broker's defaults).
    public func config(forTopic topic: TopicMetadata) -> LogConfig {
        LogConfig(overrides: topic.configs, brokerDefaults: lock.withLock { brokerDefaults })
    }

    public var defaults: [String: String] { lock.withLock { brokerDefaults } }

    /// Creates a topic's metadata and its partition folders (those this node keeps); `replicaAssignment` names
    /// each partition's replicas in a cluster (nil: the metadata store places them).
    public func createTopic(name: String, partitions: Int32, configs: [String: String],
                            replicaAssignment: [[Int32]]? = nil) throws(StorageError) -> TopicMetadata {
        creationLock.lock()
        defer { creationLock.unlock() }
        return try createWhileLocked(name: name, partitions: partitions, configs: configs, replicaAssignment: replicaAssignment)
    }

    /// The topic of this name, created first if there is none (an internal topic on its first use): once it returns,
    /// every partition is open, even when another thread created the topic at the same moment.
    public func ensureTopic(name: String, partitions: Int32, configs: [String: String]) throws(StorageError) -> TopicMetadata {
        if let topic = metadata.topic(named: name), isOpenWhereHosted(topic) { return topic }
        creationLock.lock()
        defer { creationLock.unlock() }
        if let topic = metadata.topic(named: name) {
            // Created by another node of the cluster: its partitions here may not be open yet.
            try openHostedPartitions(of: topic)
            return topic
        }
        return try createWhileLocked(name: name, partitions: partitions, configs: configs)
    }

    private func createWhileLocked(name: String, partitions: Int32, configs: [String: String],
                                   replicaAssignment: [[Int32]]? = nil) throws(StorageError) -> TopicMetadata {
        try TopicConfigs.validate(configs)
        try checkDescriptorHeadroom(partitions: Int(partitions))
        let created = TopicMetadata(name: name, topicId: .random(), partitionCount: partitions, configs: configs,
                                    replicaAssignment: replicaAssignment)
        try metadata.createTopic(created)
        // The store may have added what it decided (a cluster's replica assignment).
        let topic = metadata.topic(named: name) ?? created
        do {
            for partition in 0..<partitions where hosts(name, partition) { try open(topic: topic, partition: partition) }
        } catch {
            // Leave no half-created topic behind: its metadata and the partitions opened so far go.
            try? deleteTopic(name: name)
            throw error
        }
        logger.info("topic created", metadata: ["topic": "\(name)", "partitions": "\(partitions)", "configs": "\(configs)"])
        return topic
    }

    private func hosts(_ topic: String, _ partition: Int32) -> Bool {
        hostsPartition(TopicPartition(topic: topic, partition: partition))
    }

    private func isOpenWhereHosted(_ topic: TopicMetadata) -> Bool {
        (0..<topic.partitionCount).allSatisfy { partition in
            !hosts(topic.name, partition) || log(topic: topic.name, partition: partition) != nil
                || isOffline(TopicPartition(topic: topic.name, partition: partition))
        }
    }

    private func openHostedPartitions(of topic: TopicMetadata) throws(StorageError) {
        for partition in 0..<topic.partitionCount where hosts(topic.name, partition) {
            let key = TopicPartition(topic: topic.name, partition: partition)
            guard log(for: key) == nil, !isOffline(key) else { continue }
            try open(topic: topic, partition: partition)
            logger.info("partition opened", metadata: ["partition": "\(key)"])
        }
    }

    /// Brings the open logs in line with the metadata after another node changed it (cluster mode): opens the
    /// partitions this node now keeps, deletes those of topics that are gone and closes those it no longer keeps.
    /// Runs disk I/O: never on an event loop.
    public func reconcileWithMetadata() {
        creationLock.lock()
        defer { creationLock.unlock() }
        for topic in metadata.topics() {
            do {
                try openHostedPartitions(of: topic)
            } catch {
                logger.error("cannot open a partition", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
            }
        }
        for (key, log) in lock.withLock({ logs }) {
            let topic = metadata.topic(named: key.topic)
            guard topic == nil || key.partition >= (topic?.partitionCount ?? 0) || !hostsPartition(key) else { continue }
            lock.withLock { _ = logs.removeValue(forKey: key) }
            if topic == nil {
                do {
                    try log.delete()
                    lock.withLock { _ = logStartOffsets.removeValue(forKey: key) }
                    logger.info("partition deleted", metadata: ["partition": "\(key)"])
                } catch {
                    logger.error("cannot delete a partition", metadata: ["partition": "\(key)", "error": "\(error)"])
                }
            } else {
                log.close()
                logger.info("partition closed: led by another broker", metadata: ["partition": "\(key)"])
            }
        }
    }

    /// Refuses to open `partitions` more partitions (three descriptors each: log, offset and time index) when
    /// they would take the process past 90 % of its descriptor limit: running out would fail every later open
    /// and keep the broker from starting again on its data.
    func checkDescriptorHeadroom(partitions: Int) throws(StorageError) {
        guard partitions > 0, let limit = FileSystem.descriptorLimit() else { return }
        let inUse = FileSystem.openDescriptorCount() ?? 0
        let needed = partitions * 3
        if inUse + needed > limit * 9 / 10 {
            throw .tooManyOpenFiles(
                "\(partitions) partitions need about \(needed) file descriptors; \(inUse) of the limit of \(limit) are in use (raise ulimit -n)")
        }
    }

    /// Deletes a topic: its metadata first, then its partition folders.
    public func deleteTopic(name: String) throws(StorageError) {
        guard let topic = metadata.topic(named: name) else { return }
        try metadata.deleteTopic(named: name)
        for partition in 0..<topic.partitionCount {
            let key = TopicPartition(topic: name, partition: partition)
            let log = lock.withLock { () -> PartitionLog? in
                offline.remove(key)
                return logs.removeValue(forKey: key)
            }
            try log?.delete()
            lock.withLock { _ = logStartOffsets.removeValue(forKey: key) }
        }
        try writeCheckpoint()
        logger.info("topic deleted", metadata: ["topic": "\(name)"])
    }

    /// Raises a topic's partition count.
    public func addPartitions(topic name: String, count: Int32) throws(StorageError) {
        guard var topic = metadata.topic(named: name) else { return }
        let old = topic.partitionCount
        try checkDescriptorHeadroom(partitions: Int(count) - Int(old))
        topic.partitionCount = count
        try metadata.updateTopic(topic)
        for partition in old..<count where hosts(name, partition) {
            guard log(topic: name, partition: partition) == nil, let current = metadata.topic(named: name) else { continue }
            try open(topic: current, partition: partition)
        }
        logger.info("partitions added", metadata: ["topic": "\(name)", "partitions": "\(count)"])
    }

    /// Replaces a topic's config overrides.
    public func setConfigs(topic name: String, configs: [String: String]) throws(StorageError) {
        guard var topic = metadata.topic(named: name) else { return }
        try TopicConfigs.validate(configs)
        topic.configs = configs
        try metadata.updateTopic(topic)
        let config = self.config(forTopic: topic)
        for partition in 0..<topic.partitionCount {
            log(topic: name, partition: partition)?.updateConfig(config)
        }
    }

    /// DeleteRecords: moves a partition's log start and remembers it across restarts.
    public func deleteRecords(_ topicPartition: TopicPartition, before offset: Int64) throws(StorageError) -> Int64 {
        guard let log = log(for: topicPartition) else { throw .closed }
        let start = try log.deleteRecords(before: offset)
        lock.withLock { logStartOffsets[topicPartition] = start }
        try writeCheckpoint()
        return start
    }

    /// Retention and compaction: run periodically, off the event loops.
    public func runMaintenance() {
        let now = clock()
        var startsMoved = false
        for log in lock.withLock({ Array(logs.values) }) {
            let before = log.logStartOffset
            do {
                try log.applyRetention(nowMs: now)
            } catch {
                logger.error("retention failed", metadata: ["partition": "\(log.topic)-\(log.partition)", "error": "\(error)"])
            }
            do {
                // Each pass cleans up to where its offset map filled; the next one goes on from there.
                while try LogCleaner.clean(log, nowMs: now, settings: cleanerSettings, logger: logger).mapFilled {}
            } catch {
                logger.error("compaction failed", metadata: ["partition": "\(log.topic)-\(log.partition)", "error": "\(error)"])
            }
            if log.logStartOffset != before {
                lock.withLock { logStartOffsets[TopicPartition(topic: log.topic, partition: log.partition)] = log.logStartOffset }
                startsMoved = true
            }
        }
        if startsMoved { try? writeCheckpoint() }
    }

    /// Asks for an fsync of every log whose `flush.ms` has passed with data waiting.
    public func flushDueLogs() {
        let now = clock()
        for log in lock.withLock({ Array(logs.values) }) where log.isFlushDue(nowMs: now) {
            flusher.schedule(log)
        }
    }

    /// Flushes and closes every log and stops the flusher.
    public func shutdown() {
        let all = lock.withLock { Array(logs.values) }
        for log in all { log.close() }
        flusher.shutdown()
        try? writeCheckpoint()
    }

    // MARK: Log start checkpoint (Kafka's format: version, count, then "topic partition offset" lines)

    private func readCheckpoint() throws(StorageError) -> [TopicPartition: Int64] {
        guard FileSystem.exists(checkpointPath) else { return [:] }
        let text = String(decoding: try FileSystem.readAll(checkpointPath), as: UTF8.self)
        var result: [TopicPartition: Int64] = [:]
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let partition = Int32(parts[1]), let offset = Int64(parts[2]) else {
                throw .invalidMetadata("bad line in \(checkpointPath): \(line)")
            }
            result[TopicPartition(topic: String(parts[0]), partition: partition)] = offset
        }
        return result
    }

    private func writeCheckpoint() throws(StorageError) {
        let entries = lock.withLock { logStartOffsets.filter { $0.value > 0 } }
        var text = "0\n\(entries.count)\n"
        for (key, offset) in entries.sorted(by: { $0.key.description < $1.key.description }) {
            text += "\(key.topic) \(key.partition) \(offset)\n"
        }
        try FileSystem.writeAtomically(Array(text.utf8), to: checkpointPath)
    }
}
