import KafkaProtocol
import KafkaRecords
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension KafkaClient {
    /// Produces records to a topic: all to `partition` when given, else keyed records by Kafka's murmur2
    /// partitioner and unkeyed ones to one randomly chosen partition. Each partition's records go as one v2
    /// batch to its leader; one request per leader. A leader that moved is looked up again once.
    @discardableResult
    public func produce(
        topic: String, records: [ProducerRecord], partition: Int32? = nil, acks: Acks = .all,
        compression: CompressionCodec = .none, timeout: TimeAmount = .seconds(30)
    ) async throws(KafkaClientError) -> [ProduceResult] {
        guard !records.isEmpty else { return [] }
        var metadata = try await dataPathTopicMetadata(topic)
        if let partition, !(0..<Int32(metadata.partitions.count)).contains(partition) {
            forgetTopicMetadata(topic)  // partitions may have been added since it was cached
            metadata = try await dataPathTopicMetadata(topic)
        }
        let count = Int32(metadata.partitions.count)
        if let partition, !(0..<count).contains(partition) {
            throw .broker(code: .unknownTopicOrPartition, message: "topic has \(count) partitions", resource: "\(topic)-\(partition)")
        }
        let stickyPartition = Int32.random(in: 0..<max(count, 1))
        var byPartition: [Int32: [ProducerRecord]] = [:]
        if let single = partition ?? (count <= 1 || records.allSatisfy { $0.key == nil } ? stickyPartition : nil) {
            byPartition[single] = records  // one partition: the array is shared, not copied record by record
        } else {
            for index in records.indices {
                let target = records[index].key.map { Partitioner.partition(forKey: $0, partitionCount: count) } ?? stickyPartition
                byPartition[target, default: []].append(records[index])
            }
        }
        var results: [ProduceResult] = []
        var pending = byPartition
        for attempt in 0..<2 {
            var retry: [Int32: [ProducerRecord]] = [:]
            for (leader, partitions) in Self.groupByLeader(pending.keys, metadata: metadata) {
                let outcome: [(Int32, Result<ProduceResult, KafkaClientError>)]
                do {
                    var batches: [EncodedRecordBatch] = []
                    for partition in partitions {
                        let records = pending[partition] ?? []
                        batches.append(EncodedRecordBatch(
                            partition: partition, bytes: try Self.encodeBatch(records, compression: compression), recordCount: records.count))
                    }
                    outcome = try await produceToLeader(leader, topic: topic, batches: batches, acks: acks, timeout: timeout)
                } catch {
                    if Self.metadataMayBeStale(error) { forgetTopicMetadata(topic) }
                    throw error
                }
                for (partition, result) in outcome {
                    switch result {
                    case let .success(produced):
                        results.append(produced)
                    case let .failure(error) where attempt == 0 && Self.leaderMoved(error):
                        retry[partition] = pending[partition]
                    case let .failure(error):
                        if Self.metadataMayBeStale(error) { forgetTopicMetadata(topic) }
                        throw error
                    }
                }
            }
            if retry.isEmpty { break }
            dropConnections(toLeadersOf: retry.keys, metadata: metadata)
            forgetTopicMetadata(topic)
            metadata = try await dataPathTopicMetadata(topic)
            pending = retry
        }
        return results.sorted { $0.partition < $1.partition }
    }

    /// Whether an error means the partition's leadership changed, so that asking the new leader may succeed.
    static func leaderMoved(_ error: KafkaClientError) -> Bool {
        switch error.errorCode {
        case .notLeaderOrFollower?, .leaderNotAvailable?, .unknownTopicOrPartition?, .fencedLeaderEpoch?:
            return true
        default:
            return false
        }
    }

    /// Partitions grouped by their leader's node id; a partition without a leader fails with LEADER_NOT_AVAILABLE.
    static func groupByLeader(
        _ partitions: some Sequence<Int32>, metadata: ClusterMetadata.Topic
    ) -> [(leader: Int32, partitions: [Int32])] {
        var groups: [Int32: [Int32]] = [:]
        for partition in partitions {
            let leader = metadata.partitions.first { $0.partition == partition }?.leader ?? -1
            groups[leader, default: []].append(partition)
        }
        return groups.map { ($0.key, $0.value.sorted()) }.sorted { $0.leader < $1.leader }
    }

    func dropConnections(toLeadersOf partitions: some Sequence<Int32>, metadata: ClusterMetadata.Topic) {
        for (leader, _) in Self.groupByLeader(partitions, metadata: metadata) where leader >= 0 {
            dropConnection(toBroker: leader)
        }
    }

    /// Produces record batches encoded already (`RecordBatch.encoded()` or a `RecordBatchRewriter`'s), at most one
    /// per partition, in one request per leader. Each partition's outcome stands alone, so that a caller retries only
    /// the partitions that failed; only a failure of a whole request (a connection lost) is thrown.
    public func produce(
        topic: String, batches: [EncodedRecordBatch], acks: Acks = .all, timeout: TimeAmount = .seconds(30)
    ) async throws(KafkaClientError) -> [Int32: Result<ProduceResult, KafkaClientError>] {
        var byPartition: [Int32: EncodedRecordBatch] = [:]
        for batch in batches {
            guard byPartition.updateValue(batch, forKey: batch.partition) == nil else {
                throw .invalidArgument("two batches for \(topic)-\(batch.partition) in one request")
            }
        }
        guard !byPartition.isEmpty else { return [:] }
        var metadata = try await dataPathTopicMetadata(topic)
        if byPartition.keys.contains(where: { $0 >= Int32(metadata.partitions.count) }) {
            forgetTopicMetadata(topic)  // partitions may have been added since it was cached
            metadata = try await dataPathTopicMetadata(topic)
        }
        let count = Int32(metadata.partitions.count)
        var outcome: [Int32: Result<ProduceResult, KafkaClientError>] = [:]
        for partition in byPartition.keys where !(0..<count).contains(partition) {
            outcome[partition] = .failure(.broker(
                code: .unknownTopicOrPartition, message: "topic has \(count) partitions", resource: "\(topic)-\(partition)"))
        }
        for (leader, partitions) in Self.groupByLeader(byPartition.keys.filter({ outcome[$0] == nil }), metadata: metadata) {
            let answers: [(Int32, Result<ProduceResult, KafkaClientError>)]
            do {
                answers = try await produceToLeader(
                    leader, topic: topic, batches: partitions.compactMap { byPartition[$0] }, acks: acks, timeout: timeout)
            } catch {
                if Self.metadataMayBeStale(error) { forgetTopicMetadata(topic) }
                throw error
            }
            for (partition, result) in answers {
                if case let .failure(error) = result, Self.metadataMayBeStale(error) { forgetTopicMetadata(topic) }
                outcome[partition] = result
            }
        }
        return outcome
    }

    private func produceToLeader(
        _ leader: Int32, topic: String, batches: [EncodedRecordBatch], acks: Acks, timeout: TimeAmount
    ) async throws(KafkaClientError) -> [(Int32, Result<ProduceResult, KafkaClientError>)] {
        guard leader >= 0 else {
            return batches.map { ($0.partition, .failure(.broker(code: .leaderNotAvailable, message: nil, resource: "\(topic)-\($0.partition)"))) }
        }
        let connection = try await connection(toBroker: leader)
        // v3 is the first version that carries v2 record batches.
        let version = try connection.negotiatedVersion(ProduceRequest.self, minimum: 3)
        let request = ProduceRequest(
            transactionalId: nil, acks: acks.rawValue, timeoutMs: Int32(timeout.nanoseconds / 1_000_000),
            topicData: [.init(name: topic, partitionData: batches.map { .init(index: $0.partition, records: $0.bytes) })])
        if acks == .none {
            try await connection.sendWithoutResponse(request, version: version)
            return batches.map { ($0.partition, .success(ProduceResult(partition: $0.partition, baseOffset: -1, recordCount: $0.recordCount))) }
        }
        let response = try await connection.send(request, version: version, timeout: timeout + .seconds(5))
        var outcome: [(Int32, Result<ProduceResult, KafkaClientError>)] = []
        for batch in batches {
            let partition = batch.partition
            let answer = response.responses.first { $0.name == topic }?
                .partitionResponses.first { $0.index == partition }
            guard let answer else {
                outcome.append((partition, .failure(.malformedResponse("no answer for \(topic)-\(partition)"))))
                continue
            }
            if answer.errorCode != 0 {
                outcome.append((partition, .failure(.broker(
                    code: ErrorCode(rawValue: answer.errorCode), message: answer.errorMessage, resource: "\(topic)-\(partition)"))))
            } else {
                outcome.append((partition, .success(ProduceResult(
                    partition: partition, baseOffset: answer.baseOffset, recordCount: batch.recordCount))))
            }
        }
        return outcome
    }

    /// One v2 batch of the records, without producer id (not idempotent), timestamps in milliseconds.
    static func encodeBatch(_ records: [ProducerRecord], compression: CompressionCodec) throws(KafkaClientError) -> ByteBuffer {
        let now = WallClock.milliseconds()
        var earliest: Int64?
        for index in records.indices {
            if let timestamp = records[index].timestamp { earliest = min(earliest ?? timestamp, timestamp) }
        }
        let baseTimestamp = earliest ?? now
        var batchRecords: [Record] = []
        batchRecords.reserveCapacity(records.count)
        for index in records.indices {
            batchRecords.append(Record(
                offsetDelta: Int32(truncatingIfNeeded: index), timestampDelta: (records[index].timestamp ?? now) - baseTimestamp,
                key: records[index].key, value: records[index].value, headers: records[index].headers))
        }
        let batch = RecordBatch(compression: compression, baseTimestamp: baseTimestamp, records: batchRecords)
        do {
            return try batch.encoded()
        } catch {
            throw .invalidArgument("cannot encode record batch: \(error)")
        }
    }
}

/// The wall clock (CLOCK_REALTIME), for record timestamps and anything else stamped with the time of day.
public enum WallClock {
    /// Milliseconds since the Unix epoch, the unit of record timestamps.
    public static func milliseconds() -> Int64 { microseconds() / 1000 }

    /// Microseconds since the Unix epoch.
    public static func microseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}
