import KafkaProtocol
import Logging
import VltavaClient

/// Runs a source task (Kafka's `WorkerSourceTask`): polls the connector's task, applies the connector's
/// transformations and converters, produces the records grouped by topic, and once a produce is acknowledged makes
/// the records' source offsets committable; committable offsets go to the offset store every
/// `offset.flush.interval.ms` and when the task stops.
///
/// The loop keeps one produce in flight while the blocking pool converts the next batch and polls the one after, so
/// the connector, the conversion and the broker work at the same time; a batch gathers several polls (up to
/// `maximumBatchRecords`) so that a produce request carries many records.
struct SourceWorkerTask: Sendable {
    let id: ConnectorTaskId
    let taskConfig: [String: String]
    let connectorConfig: [String: String]
    let plugin: ConnectorPlugin
    let context: WorkerContext
    let control: WorkerTaskControl
    let taskContext = SourceTaskContext()

    static let maximumBatchRecords = 20_000
    static let maximumBatchBytes = 8 << 20
    /// The most record bytes put in one produce batch: below the broker's default `max.message.bytes` (1 MiB).
    static let maximumProduceBytes = 900 << 10
    /// How long the poll stage gathers polls into one batch: a connector that always has a little more (change data
    /// capture at a steady rate) would otherwise hold its records back until the batch is full.
    static let maximumGatherTime = Duration.milliseconds(20)
    /// How long to wait before polling again when the connector had nothing.
    static let idleWait = Duration.milliseconds(100)
    /// How long a produce may keep failing (the topic's leader away) before the task fails, as Kafka's producer
    /// gives up after `delivery.timeout.ms` (two minutes).
    static let deliveryTimeout = Duration.seconds(120)

    /// The records of one or more polls, converted and grouped by destination.
    struct PreparedBatch: Sendable {
        struct Destination: Sendable {
            var topic: String
            var partition: Int32?
            var records: [ProducerRecord]
            var bytes: Int
            /// Each record's source partition and offset, when the task listens for acknowledged records.
            var sources: [(partition: ConnectValue, offset: ConnectValue)] = []
        }

        var destinations: [Destination] = []
        /// Record batches the task encoded itself, in the order polled.
        var recordBatches: [SourceRecordBatch] = []
        /// The last source offset of each source partition in the batch, in order of appearance.
        var offsets: [(partition: ConnectValue, offset: ConnectValue)] = []
        var polledRecords = 0

        /// Records `offset` as the last of its source partition. A batch mostly comes from one source partition: the
        /// last one is checked before `index` (the position of each partition in `offsets`) is hashed.
        mutating func noteOffset(_ offset: ConnectValue, of partition: ConnectValue, index: inout [ConnectValue: Int]) {
            if let last = offsets.indices.last, offsets[last].partition == partition {
                offsets[last].offset = offset
            } else if let known = index[partition] {
                offsets[known].offset = offset
            } else {
                index[partition] = offsets.count
                offsets.append((partition, offset))
            }
        }

        var isEmpty: Bool { polledRecords == 0 }
    }

    /// Starts the task's loop.
    static func start(
        id: ConnectorTaskId, taskConfig: [String: String], connectorConfig: [String: String], plugin: ConnectorPlugin,
        context: WorkerContext, paused: Bool
    ) -> WorkerTaskHandle {
        let control = WorkerTaskControl(paused: paused)
        let worker = SourceWorkerTask(
            id: id, taskConfig: taskConfig, connectorConfig: connectorConfig, plugin: plugin, context: context, control: control)
        return WorkerTaskHandle(id: id, control: control, task: Task { await worker.run() })
    }

    func run() async {
        guard let makeTask = plugin.makeSourceTask else {
            await context.report(id, .failed, "\(plugin.className) is not a source connector")
            return
        }
        let box = ConnectorObjectBox(makeTask())
        let offsets = ConnectorOffsets(store: context.offsetStore, connector: id.connector)
        let pipeline: RecordPipeline
        do {
            pipeline = try RecordPipeline(connectorConfig: connectorConfig, worker: context.config)
            let config = taskConfig
            let taskContext = self.taskContext
            try await BlockingCall.run { () throws(ConnectError) in
                box.value.initialize(taskContext)
                try box.value.start(config, offsets: offsets)
            }
        } catch {
            await fail(error)
            return
        }
        var loop = Loop(worker: self, box: box, pipeline: pipeline)
        loop.passesRecordBatches = pipeline.passesBytesThrough && box.value.pollsRecordBatches
        await loop.run()
    }

    func fail(_ error: ConnectError) async {
        await context.taskFailed(id, error)
    }

    /// The state of a running loop.
    struct Loop {
        let worker: SourceWorkerTask
        let box: ConnectorObjectBox<any SourceTask>
        let pipeline: RecordPipeline
        /// Offsets of acknowledged records not yet in the offset store, by offset key.
        var committable: [String: (partition: ConnectValue, offset: ConnectValue)] = [:]
        var usedTopics: Set<String> = []
        var pauseReporting = PauseReporting()
        /// Whether the task's encoded record batches are produced as they are (see `SourceTask.pollRecordBatches`).
        var passesRecordBatches = false

        init(worker: SourceWorkerTask, box: ConnectorObjectBox<any SourceTask>, pipeline: RecordPipeline) {
            self.worker = worker
            self.box = box
            self.pipeline = pipeline
        }

        var chain: TransformationChain { pipeline.chain }
        var converters: RecordConverters { pipeline.converters }
        var tolerance: ErrorTolerance { pipeline.tolerance }
        var context: WorkerContext { worker.context }
        var id: ConnectorTaskId { worker.id }

        /// Three stages at once, on their own threads: the connector polls batch N+2 while batch N+1 is transformed
        /// and converted and batch N is produced. Records polled or converted when the task stops are still sent.
        mutating func run() async {
            let flushInterval = Duration.milliseconds(context.config.offsetFlushIntervalMs)
            var nextFlush = ContinuousClock.now + flushInterval
            var polled = PolledRecords.records([])
            var pending: PreparedBatch?
            var movedSinceIdle = false
            var failure: ConnectError?
            while !worker.control.isStopping, !Task.isCancelled {
                if await pauseIfAsked() { continue }
                do {
                    let poll = poller()
                    let convert = converter(polled)
                    async let nextPolled = BlockingCall.run(poll)
                    async let nextPrepared = BlockingCall.run(convert)
                    let started = ContinuousClock.now
                    if let batch = pending { try await send(batch) }
                    let sent = ContinuousClock.now
                    let prepared = try await nextPrepared
                    polled = try await nextPolled
                    context.logger.trace("source stages", metadata: [
                        "task": "\(id)", "sent": "\(pending?.polledRecords ?? 0)", "converted": "\(prepared.polledRecords)",
                        "polled": "\(polled.count)", "sending": "\(sent - started)", "waiting": "\(ContinuousClock.now - sent)"])
                    pending = prepared.isEmpty ? nil : prepared
                    if polled.isEmpty, pending == nil {
                        if movedSinceIdle {
                            movedSinceIdle = false
                            await MemoryTrim.afterBurst()
                        }
                        try? await Task.sleep(for: SourceWorkerTask.idleWait)
                    } else {
                        movedSinceIdle = true
                    }
                } catch {
                    failure = error as? ConnectError ?? .failed("\(error)")
                    break
                }
                if ContinuousClock.now >= nextFlush {
                    await flushOffsets()
                    nextFlush = ContinuousClock.now + flushInterval
                }
            }
            if failure == nil {
                do {
                    if let batch = pending { try await send(batch) }
                    if !polled.isEmpty { try await send(try await BlockingCall.run(converter(polled))) }
                } catch {
                    failure = error as? ConnectError ?? .failed("\(error)")
                }
            }
            await flushOffsets()
            let box = self.box
            _ = try? await BlockingCall.run { () throws(ConnectError) in box.value.stop() }
            if let failure { await worker.fail(failure) }
        }

        /// Reports RUNNING or PAUSED when that changed; true (after a short wait) while paused.
        private mutating func pauseIfAsked() async -> Bool {
            await pauseReporting.pauseIfAsked(worker.control, context: context, id: id)
        }

        /// The first stage, on the blocking pool: polls until the batch is full or the connector has nothing more.
        private func poller() -> @Sendable () throws(ConnectError) -> PolledRecords {
            let box = self.box
            if passesRecordBatches {
                return { () throws(ConnectError) in
                    .batches(try SourceWorkerTask.gather(
                        { () throws(ConnectError) in try box.value.pollRecordBatches(maximumBatchBytes: SourceWorkerTask.maximumProduceBytes) },
                        size: { ($0.batch.recordCount, $0.batch.bytes.readableBytes) }))
                }
            }
            return { () throws(ConnectError) -> PolledRecords in
                .records(try SourceWorkerTask.gather({ () throws(ConnectError) in try box.value.poll() },
                                                     size: { (1, $0.value.approximateSize) }))
            }
        }

        /// The second stage, on the blocking pool: transforms and converts polled records.
        private func converter(_ polled: PolledRecords) -> @Sendable () throws(ConnectError) -> PreparedBatch {
            let records: [ConnectRecord]
            switch polled {
            case let .batches(batches): return { SourceWorkerTask.prepare(batches) }
            case let .records(polled): records = polled
            }
            let chain = self.chain
            let converters = self.converters
            let tolerance = self.tolerance
            let id = self.id
            let logger = context.logger
            let keepSources = worker.taskContext.recordListener?.wantsRecordPlacements ?? false
            return { () throws(ConnectError) -> PreparedBatch in
                try SourceWorkerTask.prepare(records, chain: chain, converters: converters, tolerance: tolerance,
                                             id: id, logger: logger, keepSources: keepSources)
            }
        }

        /// Produces a batch, creating missing topics and retrying transient failures, then makes its offsets
        /// committable.
        private mutating func send(_ batch: PreparedBatch) async throws(ConnectError) {
            let listener = worker.taskContext.recordListener
            for destination in batch.destinations where !destination.records.isEmpty {
                let results = try await produce(destination)
                worker.control.count(records: destination.records.count)
                if let listener, let partition = destination.partition, results.count == 1,
                   destination.sources.count == destination.records.count {
                    let base = results[0].baseOffset
                    listener.recordsAcknowledged(destination.sources.indices.map { index in
                        AcknowledgedRecord(sourcePartition: destination.sources[index].partition,
                                           sourceOffset: destination.sources[index].offset, topic: destination.topic,
                                           partition: partition, offset: base + Int64(index))
                    })
                }
                if usedTopics.insert(destination.topic).inserted { await context.topicUsed(destination.topic, id) }
            }
            try await sendRecordBatches(batch.recordBatches)
            worker.control.count(records: batch.recordBatches.reduce(0) { $0 + $1.batch.recordCount })
            for (partition, offset) in batch.offsets {
                committable[ConnectStorageRecords.offsetKey(connector: id.connector, partition: partition)] = (partition, offset)
            }
            if !batch.offsets.isEmpty { listener?.offsetsAcknowledged(batch.offsets) }
        }

        private func produce(_ destination: PreparedBatch.Destination) async throws(ConnectError) -> [ProduceResult] {
            var retries = DeliveryRetries()
            while true {
                do {
                    return try await context.client.produce(
                        topic: destination.topic, records: destination.records, partition: destination.partition, acks: .all)
                } catch {
                    try await backOff(after: error, topic: destination.topic, &retries)
                }
            }
        }

        /// The attempts of one produce so far and when it must have succeeded.
        struct DeliveryRetries {
            var attempt = 0
            let deadline = ContinuousClock.now + SourceWorkerTask.deliveryTimeout
        }

        /// After a failed produce: throws when it may not be tried again (not retriable, past the delivery timeout, or
        /// the task stopping), else creates the topic if it is missing or waits a little longer each time.
        func backOff(after error: KafkaClientError, topic: String, _ retries: inout DeliveryRetries) async throws(ConnectError) {
            retries.attempt += 1
            let attempt = retries.attempt
            if !Self.isRetriable(error) || ContinuousClock.now >= retries.deadline || worker.control.isStopping && attempt > 3 {
                throw .failed("cannot produce to \(topic): \(error)")
            }
            if error.errorCode == .unknownTopicOrPartition {
                await createTopic(topic)
                if attempt == 1 { return }  // created just now: produce again at once
            } else if attempt % 10 == 1 {
                context.logger.warning("produce failed, retrying", metadata: ["task": "\(id)", "error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(min(100 * attempt, 1000)))
        }

        /// Whether a produce may succeed if tried again (Kafka's `RetriableException`s and lost connections).
        static func isRetriable(_ error: KafkaClientError) -> Bool {
            if case .invalidArgument = error { return false }
            guard let code = error.errorCode else { return true }
            return [ErrorCode.unknownTopicOrPartition, .notLeaderOrFollower, .leaderNotAvailable, .notEnoughReplicas,
                    .notEnoughReplicasAfterAppend, .requestTimedOut, .networkException, .kafkaStorageError,
                    .notController, .fencedLeaderEpoch, .coordinatorLoadInProgress].contains(code)
        }

        /// Creates a topic a source writes to with the broker's defaults, as a broker with
        /// `auto.create.topics.enable` would on the producer's first metadata request.
        private func createTopic(_ topic: String) async {
            do {
                try await context.client.createTopics([NewTopic(name: topic)])
                context.logger.info("created topic", metadata: ["topic": "\(topic)", "task": "\(id)"])
            } catch {
                if error.errorCode != .topicAlreadyExists {
                    context.logger.warning("cannot create topic", metadata: ["topic": "\(topic)", "error": "\(error)"])
                }
            }
        }

        /// Writes the committable offsets to the offset store; on failure they stay committable for next time.
        mutating func flushOffsets() async {
            defer { worker.taskContext.recordListener?.offsetsCommitted() }
            guard !committable.isEmpty else { return }
            let offsets = committable.values.map { (partition: $0.partition, offset: Optional($0.offset)) }
            do {
                try await context.offsetStore.commit(connector: id.connector, offsets)
                committable = [:]
            } catch {
                context.logger.error("cannot flush source offsets", metadata: ["task": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Transforms and converts polled records, grouped by topic and partition in order of first appearance.
    static func prepare(_ records: [ConnectRecord], chain: TransformationChain, converters: RecordConverters,
                        tolerance: ErrorTolerance, id: ConnectorTaskId, logger: Logger,
                        keepSources: Bool = false) throws(ConnectError) -> PreparedBatch {
        var batch = PreparedBatch()
        batch.polledRecords = records.count
        var destinationIndex: [String: Int] = [:]
        var offsetIndex: [ConnectValue: Int] = [:]
        let hasTransforms = !chain.stages.isEmpty
        // The destination of the record before: consecutive records mostly share it, so its key is not hashed.
        var lastDestination: (topic: String, partition: Int32?, index: Int)?
        for index in records.indices {
            if let partition = records[index].sourcePartition, let offset = records[index].sourceOffset {
                batch.noteOffset(offset, of: partition, index: &offsetIndex)
            }
            // Without transformations the record is converted where it is in the array, not copied out of it.
            var transformed: ConnectRecord?
            if hasTransforms {
                do {
                    transformed = try chain.apply(records[index])
                } catch {
                    if tolerance.skip(error, stage: "TRANSFORMATION", record: "\(records[index])", id: id, logger: logger) { continue }
                    throw error
                }
                if transformed == nil { continue }
            }
            let produced: ProducerRecord
            let topic: String
            let kafkaPartition: Int32?
            do {
                if let output = transformed {
                    produced = try converters.producerRecord(output)
                    (topic, kafkaPartition) = (output.topic, output.kafkaPartition)
                } else {
                    produced = try converters.producerRecord(records[index])
                    (topic, kafkaPartition) = (records[index].topic, records[index].kafkaPartition)
                }
            } catch {
                if tolerance.skip(error, stage: "CONVERTER", record: "\(transformed ?? records[index])", id: id, logger: logger) { continue }
                throw error
            }
            let size = produced.approximateSize
            let destination: Int?
            if let last = lastDestination, last.partition == kafkaPartition, last.topic == topic {
                destination = last.index
            } else {
                destination = destinationIndex[kafkaPartition.map { "\(topic)\u{0}\($0)" } ?? topic]
            }
            let target: Int
            if let destination, batch.destinations[destination].bytes + size <= maximumProduceBytes {
                batch.destinations[destination].records.append(produced)
                batch.destinations[destination].bytes += size
                target = destination
            } else {
                // A full destination is left as it is and a new one started, so a produce batch stays small.
                target = batch.destinations.count
                destinationIndex[kafkaPartition.map { "\(topic)\u{0}\($0)" } ?? topic] = target
                batch.destinations.append(.init(topic: topic, partition: kafkaPartition, records: [produced], bytes: size))
            }
            lastDestination = (topic, kafkaPartition, target)
            if keepSources, let partition = records[index].sourcePartition, let offset = records[index].sourceOffset {
                batch.destinations[target].sources.append((partition, offset))
            }
        }
        return batch
    }
}

extension ProducerRecord {
    /// The bytes a record takes in a batch, near enough.
    var approximateSize: Int {
        (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0) + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.readableBytes ?? 0) } + 16
    }
}

extension ConnectValue {
    /// A rough size in bytes, to bound batches.
    var approximateSize: Int {
        switch self {
        case let .string(text): return text.utf8.count
        case let .bytes(bytes): return bytes.count
        case let .array(items): return items.count * 16
        case let .map(entries): return entries.count * 32
        case let .structure(value): return value.values.count * 16
        default: return 8
        }
    }
}
