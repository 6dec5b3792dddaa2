import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import VltavaClient

/// Runs a sink task (Kafka's `WorkerSinkTask`): reads the connector's topics (`topics`, or `topics.regex`), the
/// partitions split across the connector's tasks (task i of n reads every partition whose index in the sorted list
/// of all topic-partitions is i modulo n), from the offsets committed for the consumer group
/// `connect-<connector>` (else `consumer.auto.offset.reset`, earliest by default); converts, transforms and
/// `put`s the records; every `offset.flush.interval.ms` and when stopping, `flush`es the task and commits what it
/// was given.
///
/// One fetch is in flight while the previous batch is put, on its own connection (a fetch long-polls and a broker
/// answers a connection's requests in order).
struct SinkWorkerTask: Sendable {
    let id: ConnectorTaskId
    let taskCount: Int
    let taskConfig: [String: String]
    let connectorConfig: [String: String]
    let plugin: ConnectorPlugin
    let context: WorkerContext
    let control: WorkerTaskControl

    /// How often the topics and partitions are looked up again (new partitions, topics matching the regex).
    static let metadataRefreshInterval = Duration.seconds(10)
    /// While none of its topics exists, how often the task looks again (Kafka's consumer asks for metadata again
    /// after `retry.backoff.ms` while a subscribed topic is unknown).
    static let missingTopicsRecheck = Duration.milliseconds(200)

    /// The consumer group of a sink connector, as Kafka names it.
    static func groupId(_ connector: String) -> String { "connect-\(connector)" }

    static func start(
        id: ConnectorTaskId, taskCount: Int, taskConfig: [String: String], connectorConfig: [String: String],
        plugin: ConnectorPlugin, context: WorkerContext, paused: Bool
    ) -> WorkerTaskHandle {
        let control = WorkerTaskControl(paused: paused)
        let worker = SinkWorkerTask(
            id: id, taskCount: taskCount, taskConfig: taskConfig, connectorConfig: connectorConfig, plugin: plugin,
            context: context, control: control)
        return WorkerTaskHandle(id: id, control: control, task: Task { await worker.run() })
    }

    func run() async {
        guard let makeTask = plugin.makeSinkTask else {
            await context.report(id, .failed, "\(plugin.className) is not a sink connector")
            return
        }
        let box = ConnectorObjectBox(makeTask())
        let subscription: SinkSubscription
        let pipeline: RecordPipeline
        let taskContext: SinkTaskContext
        do {
            subscription = try SinkSubscription(config: connectorConfig)
            pipeline = try RecordPipeline(connectorConfig: connectorConfig, worker: context.config)
            var config = taskConfig
            // Kafka gives every sink task the connector's `topics`/`topics.regex`.
            for key in ["topics", "topics.regex"] where config[key] == nil { config[key] = connectorConfig[key] }
            let startConfig = config
            let control = self.control
            let initializedContext = SinkTaskContext(
                logger: context.logger, errantRecordReporter: pipeline.tolerance.toleratesAll ? ErrantRecordReporter() : nil,
                stopRequested: { control.isStopping })
            taskContext = initializedContext
            try await BlockingCall.run { () throws(ConnectError) in
                box.value.initialize(initializedContext)
                try box.value.start(startConfig)
            }
        } catch {
            await fail(error)
            return
        }
        let fetchClient = context.makeClient()
        var loop = Loop(worker: self, box: box, subscription: subscription, pipeline: pipeline, fetchClient: fetchClient,
                        taskContext: taskContext)
        await loop.run()
        await fetchClient.close()
    }

    func fail(_ error: ConnectError) async {
        await context.taskFailed(id, error)
    }

    /// The running loop's state.
    struct Loop {
        let worker: SinkWorkerTask
        let box: ConnectorObjectBox<any SinkTask>
        let subscription: SinkSubscription
        let pipeline: RecordPipeline
        let fetchClient: KafkaClient
        let taskContext: SinkTaskContext
        /// The next offset to fetch, by topic and partition.
        var positions: [String: [Int32: Int64]] = [:]
        /// The offset after the last record put, by topic and partition, not yet committed.
        var uncommitted: [String: [Int32: Int64]] = [:]
        var committedOnce: [String: [Int32: Int64]]?
        var usedTopics: Set<String> = []
        var pauseReporting = PauseReporting()

        init(worker: SinkWorkerTask, box: ConnectorObjectBox<any SinkTask>, subscription: SinkSubscription,
             pipeline: RecordPipeline, fetchClient: KafkaClient, taskContext: SinkTaskContext) {
            self.worker = worker
            self.box = box
            self.subscription = subscription
            self.pipeline = pipeline
            self.fetchClient = fetchClient
            self.taskContext = taskContext
        }

        var chain: TransformationChain { pipeline.chain }
        var converters: RecordConverters { pipeline.converters }
        var tolerance: ErrorTolerance { pipeline.tolerance }
        var context: WorkerContext { worker.context }
        var id: ConnectorTaskId { worker.id }

        mutating func run() async {
            let flushInterval = Duration.milliseconds(context.config.offsetFlushIntervalMs)
            var nextFlush = ContinuousClock.now + flushInterval
            var nextMetadata = ContinuousClock.now
            var current: [FetchedPartitionOfTopic] = []
            var failure: ConnectError?
            var movedSinceIdle = false
            while !worker.control.isStopping, !Task.isCancelled {
                if await pauseIfAsked() { continue }
                if ContinuousClock.now >= nextMetadata {
                    await refreshAssignment()
                    nextMetadata = ContinuousClock.now + (positions.isEmpty ? SinkWorkerTask.missingTopicsRecheck : SinkWorkerTask.metadataRefreshInterval)
                }
                if positions.isEmpty, current.isEmpty {
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                do {
                    let fetchPositions = positions
                    let client = fetchClient
                    async let next = Self.fetchAll(client, fetchPositions)
                    let delivered = current.contains { !$0.fetched.records.isEmpty }
                    try await deliver(current)
                    current = []
                    if delivered {
                        movedSinceIdle = true
                    } else if movedSinceIdle {
                        movedSinceIdle = false
                        await MemoryTrim.afterBurst()
                    }
                    switch await next {
                    case let .success(fetched):
                        current = fetched
                        for partition in fetched {
                            positions[partition.topic]?[partition.fetched.partition] = partition.fetched.nextOffset
                        }
                    case let .failure(error):
                        await recoverFromFetchError(error)
                    }
                } catch {
                    failure = error
                    break
                }
                if ContinuousClock.now >= nextFlush {
                    do {
                        try await flushAndCommit()
                    } catch {
                        failure = error
                        break
                    }
                    nextFlush = ContinuousClock.now + flushInterval
                }
            }
            if failure == nil {
                do {
                    try await deliver(current)
                    try await flushAndCommit()
                } catch {
                    failure = error
                }
            }
            let box = self.box
            _ = try? await BlockingCall.run { () throws(ConnectError) in box.value.stop() }
            if failure == SinkTaskContext.stopped {
                // The task gave its batch up to stop promptly: not committed, so read again by the next task.
                context.logger.info("sink task stopped before delivering its last batch", metadata: ["task": "\(id)"])
            } else if let failure {
                await worker.fail(failure)
            }
        }

        private mutating func pauseIfAsked() async -> Bool {
            await pauseReporting.pauseIfAsked(worker.control, context: context, id: id)
        }

        /// One fetch per topic; a topic-wide failure ends the round with that error.
        static func fetchAll(_ client: KafkaClient, _ positions: [String: [Int32: Int64]])
            async -> Result<[FetchedPartitionOfTopic], KafkaClientError> {
            var result: [FetchedPartitionOfTopic] = []
            let wait = TimeAmount.milliseconds(Int64(max(50, 500 / max(1, positions.count))))
            for (topic, offsets) in positions.sorted(by: { $0.key < $1.key }) where !offsets.isEmpty {
                do {
                    let fetched = try await client.fetch(topic: topic, offsets: offsets, maxWait: wait, partitionMaxBytes: 2 << 20)
                    result += fetched.map { FetchedPartitionOfTopic(topic: topic, fetched: $0) }
                } catch {
                    return .failure(error)
                }
            }
            return .success(result)
        }

        /// After a failed fetch: positions out of range start over by the reset policy; otherwise wait a little
        /// (the broker may be restarting) and look the partitions up again.
        private mutating func recoverFromFetchError(_ error: KafkaClientError) async {
            if error.errorCode == .offsetOutOfRange {
                context.logger.warning("offset out of range, resetting", metadata: ["task": "\(id)", "error": "\(error)"])
                for (topic, partitions) in positions {
                    if let reset = try? await resetOffsets(topic: topic, partitions: Array(partitions.keys)) {
                        positions[topic] = reset
                    }
                }
                return
            }
            context.logger.warning("fetch failed, retrying", metadata: ["task": "\(id)", "error": "\(error)"])
            try? await Task.sleep(for: .milliseconds(500))
            await refreshAssignment()
        }

        /// Converts, transforms and puts fetched records (on the blocking pool); their offsets become committable.
        private mutating func deliver(_ fetched: [FetchedPartitionOfTopic]) async throws(ConnectError) {
            let records = fetched.flatMap(\.fetched.records)
            guard !records.isEmpty else { return }
            let box = self.box
            let chain = self.chain
            let converters = self.converters
            let tolerance = self.tolerance
            let id = self.id
            let logger = context.logger
            let reporter = taskContext.errantRecordReporter
            let deadLetters = try await BlockingCall.run { () throws(ConnectError) -> [DeadLetter] in
                var converted: [ConnectRecord] = []
                var skipped: [DeadLetter] = []
                converted.reserveCapacity(records.count)
                for record in records {
                    let connectRecord: ConnectRecord
                    var stage = ""
                    do throws(ConnectError) {
                        connectRecord = try converters.connectRecord(record, stage: &stage)
                    } catch {
                        if tolerance.skip(error, stage: stage, record: "\(record.topic)-\(record.partition)@\(record.offset)", id: id, logger: logger) {
                            skipped.append(DeadLetter(record: record, stage: stage, error: error))
                            continue
                        }
                        throw error
                    }
                    do throws(ConnectError) {
                        if let transformed = try chain.apply(connectRecord) { converted.append(transformed) }
                    } catch {
                        if tolerance.skip(error, stage: "TRANSFORMATION", record: "\(connectRecord)", id: id, logger: logger) {
                            skipped.append(DeadLetter(record: record, stage: "TRANSFORMATION", error: error))
                            continue
                        }
                        throw error
                    }
                }
                try box.value.put(converted)
                for (record, error) in reporter?.take() ?? [] {
                    _ = tolerance.skip(error, stage: "TASK_PUT", record: "\(record)", id: id, logger: logger)
                    if let consumed = Self.consumedRecord(of: record, in: records) {
                        skipped.append(DeadLetter(record: consumed, stage: "TASK_PUT", error: error))
                    }
                }
                return skipped
            }
            if let topic = tolerance.deadLetterTopic, !deadLetters.isEmpty {
                try await sendToDeadLetterQueue(deadLetters, topic: topic)
            }
            for record in records {
                uncommitted[record.topic, default: [:]][record.partition] = record.offset + 1
            }
            worker.control.count(records: records.count)
            for topic in Set(records.map(\.topic)) where usedTopics.insert(topic).inserted {
                await context.topicUsed(topic, id)
            }
        }

        /// The record as read that a task reports errant: same partition and offset, the same topic unless a
        /// transformation renamed it.
        static func consumedRecord(of record: ConnectRecord, in records: [ConsumedRecord]) -> ConsumedRecord? {
            let candidates = records.filter { $0.partition == record.kafkaPartition && $0.offset == record.kafkaOffset }
            return candidates.first { $0.topic == record.topic } ?? candidates.first
        }

        /// Produces skipped records as they were read (key, value, headers) to the dead-letter topic, with Kafka's
        /// `__connect.errors.*` headers when asked; a dead-letter queue that cannot be written fails the task.
        private func sendToDeadLetterQueue(_ letters: [DeadLetter], topic: String) async throws(ConnectError) {
            let records = letters.map { $0.producerRecord(connector: id.connector, task: id.task, withContext: tolerance.deadLetterHeaders) }
            for attempt in 0..<2 {
                do {
                    try await context.client.produce(topic: topic, records: records, acks: .all)
                    return
                } catch {
                    guard attempt == 0, error.errorCode == .unknownTopicOrPartition else {
                        throw .failed("cannot write to the dead letter queue \(topic): \(error)")
                    }
                    _ = try? await context.client.createTopics([NewTopic(
                        name: topic, partitions: 1, replicationFactor: tolerance.deadLetterReplicationFactor)])
                }
            }
        }

        /// Flushes the task, then commits the offsets of what it was given for the group `connect-<name>`.
        private mutating func flushAndCommit() async throws(ConnectError) {
            guard !uncommitted.isEmpty else { return }
            let box = self.box
            try await BlockingCall.run { () throws(ConnectError) in try box.value.flush() }
            let group = SinkWorkerTask.groupId(id.connector)
            for (topic, offsets) in uncommitted.sorted(by: { $0.key < $1.key }) {
                do {
                    try await context.client.commitOffsets(group: group, topic: topic, offsets: offsets)
                    uncommitted[topic] = nil
                } catch {
                    context.logger.error("cannot commit sink offsets", metadata: ["task": "\(id)", "topic": "\(topic)", "error": "\(error)"])
                }
            }
        }

        /// Looks up the subscribed topics' partitions, keeps this task's share, and starts new partitions at their
        /// committed offsets (or by the reset policy).
        private mutating func refreshAssignment() async {
            do {
                let topics = try await subscription.topics(fetchClient)
                var all: [(String, Int32)] = []
                if !topics.isEmpty {
                    let metadata = try await fetchClient.refreshMetadata(topics: topics)
                    for topic in metadata.topics where topic.errorCode == .none && topics.contains(topic.name) {
                        all += topic.partitions.map { (topic.name, $0.partition) }
                    }
                }
                all.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
                var mine: [String: [Int32]] = [:]
                for (index, topicPartition) in all.enumerated() where index % worker.taskCount == id.task {
                    mine[topicPartition.0, default: []].append(topicPartition.1)
                }
                for topic in positions.keys where mine[topic] == nil { positions[topic] = nil }
                for (topic, partitions) in mine {
                    let known = positions[topic] ?? [:]
                    let new = partitions.filter { known[$0] == nil }
                    var updated = known.filter { partitions.contains($0.key) }
                    if !new.isEmpty {
                        let committed = try await committedOffsets()
                        var missing: [Int32] = []
                        for partition in new {
                            if let offset = committed[topic]?[partition] { updated[partition] = offset } else { missing.append(partition) }
                        }
                        if !missing.isEmpty {
                            for (partition, offset) in try await resetOffsets(topic: topic, partitions: missing) { updated[partition] = offset }
                        }
                    }
                    positions[topic] = updated
                }
            } catch {
                context.logger.warning("cannot look up the topics of a sink", metadata: ["task": "\(id)", "error": "\(error)"])
            }
        }

        private mutating func committedOffsets() async throws -> [String: [Int32: Int64]] {
            if let committedOnce { return committedOnce }
            let committed = try await context.client.committedOffsets(group: SinkWorkerTask.groupId(id.connector))
            committedOnce = committed
            return committed
        }

        /// `consumer.override.auto.offset.reset` of the connector, else the worker's `consumer.auto.offset.reset`,
        /// else earliest (Connect's default for sink consumers).
        private func resetOffsets(topic: String, partitions: [Int32]) async throws -> [Int32: Int64] {
            let policy = worker.connectorConfig["consumer.override.auto.offset.reset"]
                ?? context.config.properties["consumer.auto.offset.reset"] ?? "earliest"
            return try await fetchClient.listOffsets(topic: topic, partitions: partitions, spec: policy == "latest" ? .latest : .earliest)
        }
    }
}

/// A record skipped under `errors.tolerance=all`, for the dead-letter queue.
struct DeadLetter: Sendable {
    var record: ConsumedRecord
    var stage: String
    var error: ConnectError

    /// The record as read, plus Kafka's error context headers when asked.
    func producerRecord(connector: String, task: Int, withContext: Bool) -> ProducerRecord {
        var headers = record.headers
        if withContext {
            let exceptionClass: String
            switch error {
            case .config: exceptionClass = "org.apache.kafka.common.config.ConfigException"
            case .data: exceptionClass = "org.apache.kafka.connect.errors.DataException"
            case .failed: exceptionClass = "org.apache.kafka.connect.errors.ConnectException"
            }
            let context: [(String, String)] = [
                ("__connect.errors.topic", record.topic), ("__connect.errors.partition", String(record.partition)),
                ("__connect.errors.offset", String(record.offset)), ("__connect.errors.connector.name", connector),
                ("__connect.errors.task.id", String(task)), ("__connect.errors.stage", stage),
                ("__connect.errors.exception.class.name", exceptionClass),
                ("__connect.errors.exception.message", SinkWorkerTask.message(of: error)),
            ]
            headers += context.map { RecordHeader(key: $0.0, value: ByteBuffer(string: $0.1)) }
        }
        return ProducerRecord(key: record.key, value: record.value, headers: headers, timestamp: record.timestamp)
    }
}

extension SinkWorkerTask {
    static func message(of error: ConnectError) -> String {
        if case let .config(_, message) = error { return message }
        return error.description
    }
}

/// A fetched partition with the topic it belongs to.
struct FetchedPartitionOfTopic: Sendable {
    var topic: String
    var fetched: FetchedPartition
}

/// What a sink connector reads: `topics` (a list) or `topics.regex` (topics whose whole name matches).
struct SinkSubscription: Sendable {
    let topics: [String]
    let regex: JavaRegex?

    init(config: [String: String]) throws(ConnectError) {
        topics = ConnectConfig.list(config, "topics")
        let pattern = config["topics.regex"].flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 }
        if !topics.isEmpty, pattern != nil {
            throw .config(name: "topics", message: "topics and topics.regex are mutually exclusive options, but both are set.")
        }
        if topics.isEmpty, pattern == nil {
            throw .config(name: "topics", message: "Must configure one of topics or topics.regex")
        }
        if let pattern {
            do {
                regex = try JavaRegex(pattern)
            } catch {
                throw .config(name: "topics.regex", message: "Invalid regex: \(pattern)")
            }
        } else {
            regex = nil
        }
    }

    /// The topics to read now.
    func topics(_ client: KafkaClient) async throws -> [String] {
        guard let regex else { return topics }
        return try await client.listTopics().filter { regex.matchesWhole($0) }
    }
}
