import KafkaProtocol
import KafkaRecords
import NIOCore

extension KafkaClient {
    /// Looks up one offset per partition with ListOffsets, asking each partition's leader.
    public func listOffsets(
        topic: String, partitions: [Int32], spec: OffsetSpec
    ) async throws(KafkaClientError) -> [Int32: Int64] {
        do {
            return try await listOffsetsOnce(topic: topic, partitions: partitions, spec: spec)
        } catch {
            if Self.metadataMayBeStale(error) { forgetTopicMetadata(topic) }
            throw error
        }
    }

    private func listOffsetsOnce(
        topic: String, partitions: [Int32], spec: OffsetSpec
    ) async throws(KafkaClientError) -> [Int32: Int64] {
        let metadata = try await dataPathTopicMetadata(topic)
        var offsets: [Int32: Int64] = [:]
        for (leader, group) in Self.groupByLeader(partitions, metadata: metadata) {
            guard leader >= 0 else { throw .broker(code: .leaderNotAvailable, message: nil, resource: "\(topic)-\(group[0])") }
            let connection = try await connection(toBroker: leader)
            // v1 is the first version that answers with a single offset instead of a list.
            let version = try connection.negotiatedVersion(ListOffsetsRequest.self, minimum: 1)
            let request = ListOffsetsRequest(
                replicaId: -1, isolationLevel: 0,
                topics: [.init(name: topic, partitions: group.map { .init(partitionIndex: $0, timestamp: spec.wireTimestamp) })])
            let response = try await connection.send(request, version: version)
            for answer in response.topics.filter({ $0.name == topic }).flatMap(\.partitions) {
                try KafkaClientError.check(answer.errorCode, resource: "\(topic)-\(answer.partitionIndex)")
                offsets[answer.partitionIndex] = answer.offset
            }
        }
        for partition in partitions where offsets[partition] == nil {
            throw .malformedResponse("ListOffsets gave no offset for \(topic)-\(partition)")
        }
        return offsets
    }

    /// Fetches records of a topic from `offsets` (partition → next offset), one Fetch per leader. The broker
    /// waits up to `maxWait` for `minBytes` of data, so a caller that loops does not spin.
    public func fetch(
        topic: String, offsets: [Int32: Int64], maxWait: TimeAmount = .milliseconds(500), minBytes: Int32 = 1,
        maxBytes: Int32 = 50 << 20, partitionMaxBytes: Int32 = 1 << 20
    ) async throws(KafkaClientError) -> [FetchedPartition] {
        let answers = try await fetchRecordBatches(
            topic: topic, offsets: offsets, maxWait: maxWait, minBytes: minBytes, maxBytes: maxBytes,
            partitionMaxBytes: partitionMaxBytes)
        var fetched: [FetchedPartition] = []
        for answer in answers {
            guard let requested = offsets[answer.partition] else { continue }
            let records = try Self.decodeFetchedRecords(answer.records, topic: topic, partition: answer.partition, from: requested)
            fetched.append(FetchedPartition(
                partition: answer.partition, records: records.records, highWatermark: answer.highWatermark,
                nextOffset: records.nextOffset))
        }
        return fetched
    }

    /// Fetches as `fetch` does, but returns each partition's record batches as the broker sent them, for a caller
    /// that copies them on rather than decode them (MirrorMaker's pass-through).
    public func fetchRecordBatches(
        topic: String, offsets: [Int32: Int64], maxWait: TimeAmount = .milliseconds(500), minBytes: Int32 = 1,
        maxBytes: Int32 = 50 << 20, partitionMaxBytes: Int32 = 1 << 20
    ) async throws(KafkaClientError) -> [FetchedRecordBatches] {
        do {
            return try await fetchOnce(topic: topic, offsets: offsets, maxWait: maxWait, minBytes: minBytes,
                                       maxBytes: maxBytes, partitionMaxBytes: partitionMaxBytes)
        } catch {
            if Self.metadataMayBeStale(error) { forgetTopicMetadata(topic) }
            throw error
        }
    }

    private func fetchOnce(
        topic: String, offsets: [Int32: Int64], maxWait: TimeAmount, minBytes: Int32, maxBytes: Int32,
        partitionMaxBytes: Int32
    ) async throws(KafkaClientError) -> [FetchedRecordBatches] {
        let metadata = try await dataPathTopicMetadata(topic)
        var fetched: [FetchedRecordBatches] = []
        for (leader, group) in Self.groupByLeader(offsets.keys, metadata: metadata) {
            guard leader >= 0 else { throw .broker(code: .leaderNotAvailable, message: nil, resource: "\(topic)-\(group[0])") }
            let connection = try await connection(toBroker: leader)
            // v4 is the first version whose records are v2 batches under read_uncommitted/committed semantics.
            let version = try connection.negotiatedVersion(FetchRequest.self, minimum: 4)
            let request = FetchRequest(
                replicaId: -1, maxWaitMs: Int32(maxWait.nanoseconds / 1_000_000), minBytes: minBytes,
                maxBytes: maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
                topics: [.init(
                    topic: topic, topicId: metadata.topicId,
                    partitions: group.map { .init(partition: $0, fetchOffset: offsets[$0]!, partitionMaxBytes: partitionMaxBytes) })])
            let response = try await connection.send(request, version: version, timeout: connection.requestTimeout + maxWait)
            try KafkaClientError.check(response.errorCode, resource: topic)
            // From v13 on, topics are named by id only.
            let answers = response.responses
                .filter { version >= 13 ? $0.topicId == metadata.topicId : $0.topic == topic }
                .flatMap(\.partitions)
            for answer in answers where offsets[answer.partitionIndex] != nil {
                try KafkaClientError.check(answer.errorCode, resource: "\(topic)-\(answer.partitionIndex)")
                fetched.append(FetchedRecordBatches(
                    partition: answer.partitionIndex, records: answer.records, highWatermark: answer.highWatermark))
            }
        }
        return fetched.sorted { $0.partition < $1.partition }
    }

    /// Decodes the batches of a fetch answer. A broker may cut the last batch short (it fills up to the byte
    /// limit) and may start with a batch that begins before the requested offset; both are handled here.
    public static func decodeFetchedRecords(
        _ bytes: ByteBuffer?, topic: String, partition: Int32, from requested: Int64
    ) throws(KafkaClientError) -> (records: [ConsumedRecord], nextOffset: Int64) {
        guard var bytes else { return ([], requested) }
        var records: [ConsumedRecord] = []
        var nextOffset = requested
        while bytes.readableBytes >= RecordBatchHeader.size {
            let header: RecordBatchHeader
            do {
                header = try RecordBatchHeader(parsing: bytes)
            } catch {
                throw .malformedResponse("record batch of \(topic)-\(partition): \(error)")
            }
            guard header.totalSize <= bytes.readableBytes else { break }
            let batch: RecordBatch
            do {
                batch = try RecordBatch(decoding: &bytes)
            } catch {
                throw .malformedResponse("record batch of \(topic)-\(partition) at offset \(header.baseOffset): \(error)")
            }
            nextOffset = max(nextOffset, header.lastOffset + 1)
            guard !batch.isControl else { continue }
            for record in batch.records {
                let offset = batch.baseOffset + Int64(record.offsetDelta)
                guard offset >= requested else { continue }
                records.append(ConsumedRecord(
                    topic: topic, partition: partition, offset: offset, timestamp: batch.timestamp(of: record),
                    key: record.key, value: record.value, headers: record.headers))
            }
        }
        return (records, nextOffset)
    }
}
