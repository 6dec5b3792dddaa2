import VltavaClient

/// What the poll stage gathered: records to transform and convert, or record batches the task encoded itself.
enum PolledRecords: Sendable {
    case records([ConnectRecord])
    case batches([SourceRecordBatch])

    var count: Int {
        switch self {
        case let .records(records): return records.count
        case let .batches(batches): return batches.reduce(0) { $0 + $1.batch.recordCount }
        }
    }

    var isEmpty: Bool {
        switch self {
        case let .records(records): return records.isEmpty
        case let .batches(batches): return batches.isEmpty
        }
    }
}

extension RecordPipeline {
    /// Whether records leave the pipeline with the bytes they came with: no transformation, and ByteArrayConverter
    /// (which passes bytes through) for keys, values and headers.
    var passesBytesThrough: Bool {
        chain.stages.isEmpty && converters.key is ByteArrayConverter && converters.value is ByteArrayConverter
            && converters.header is ByteArrayConverter
    }
}

extension SourceWorkerTask {
    /// The poll stage: polls until the batch is full (records or bytes), or the connector has nothing more, or — once
    /// something came — `maximumGatherTime` has passed. `size` gives an item's records and bytes.
    static func gather<Item>(_ poll: () throws(ConnectError) -> [Item],
                             size: (Item) -> (records: Int, bytes: Int)) throws(ConnectError) -> [Item] {
        var polled: [Item] = []
        var records = 0
        var bytes = 0
        let deadline = ContinuousClock.now + maximumGatherTime
        while records < maximumBatchRecords, bytes < maximumBatchBytes, polled.isEmpty || ContinuousClock.now < deadline {
            let items = try poll()
            if items.isEmpty { break }
            for item in items {
                let (itemRecords, itemBytes) = size(item)
                records += itemRecords
                bytes += itemBytes
            }
            if polled.isEmpty { polled = items } else { polled += items }
        }
        return polled
    }

    /// Record batches as a prepared batch: nothing to convert, only the last source offset of each source partition.
    static func prepare(_ batches: [SourceRecordBatch]) -> PreparedBatch {
        var prepared = PreparedBatch()
        var offsetIndex: [ConnectValue: Int] = [:]
        for batch in batches {
            prepared.polledRecords += batch.batch.recordCount
            prepared.noteOffset(batch.sourceOffset, of: batch.sourcePartition, index: &offsetIndex)
        }
        prepared.recordBatches = batches
        return prepared
    }
}

extension SourceWorkerTask.Loop {
    /// Produces record batches topic by topic in rounds: a round's request carries the next batch of each partition
    /// (Kafka takes one batch per partition in a request), so a partition's batches go in order. Only the partitions
    /// that failed are produced again.
    mutating func sendRecordBatches(_ batches: [SourceRecordBatch]) async throws(ConnectError) {
        var topics: [String] = []
        var queues: [String: [Int32: [SourceRecordBatch]]] = [:]
        for batch in batches {
            if queues[batch.topic] == nil { topics.append(batch.topic) }
            queues[batch.topic, default: [:]][batch.batch.partition, default: []].append(batch)
        }
        for topic in topics {
            let queue = queues[topic] ?? [:]
            let partitions = queue.keys.sorted()
            for round in 0..<(queue.values.map(\.count).max() ?? 0) {
                let next = partitions.compactMap { partition in queue[partition].flatMap { round < $0.count ? $0[round] : nil } }
                try await produceRound(next, topic: topic)
            }
            if usedTopics.insert(topic).inserted { await context.topicUsed(topic, id) }
        }
    }

    private func produceRound(_ round: [SourceRecordBatch], topic: String) async throws(ConnectError) {
        var pending = round
        var retries = DeliveryRetries()
        while !pending.isEmpty {
            let outcome: [Int32: Result<ProduceResult, KafkaClientError>]
            do {
                outcome = try await context.client.produce(topic: topic, batches: pending.map(\.batch), acks: .all)
            } catch {
                try await backOff(after: error, topic: topic, &retries)
                continue
            }
            var failed: [SourceRecordBatch] = []
            var failure: KafkaClientError?
            for batch in pending {
                switch outcome[batch.batch.partition] {
                case let .success(result)?:
                    batch.acknowledged?(result.baseOffset)
                case let .failure(error)?:
                    failed.append(batch)
                    failure = failure ?? error
                case nil:
                    failed.append(batch)
                    failure = failure ?? .malformedResponse("no answer for \(topic)-\(batch.batch.partition)")
                }
            }
            pending = failed
            if let failure { try await backOff(after: failure, topic: topic, &retries) }
        }
    }
}
