import KafkaProtocol

/// A transactional id as ListTransactions shows it.
public struct TransactionOverview: Hashable, Sendable {
    public var transactionalId: String
    public var producerId: Int64
    public var state: String
    /// The broker coordinating it.
    public var coordinatorId: Int32
}

/// A transactional id as DescribeTransactions shows it.
public struct TransactionDescription: Hashable, Sendable {
    public var transactionalId: String
    public var coordinatorId: Int32
    public var state: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var timeoutMs: Int32
    /// When the ongoing transaction started, in milliseconds since the epoch (-1 when none).
    public var startTimeMs: Int64
    /// The partitions in the ongoing transaction, by topic.
    public var partitions: [String: [Int32]]
}

/// A producer a partition has seen, as DescribeProducers shows it.
public struct ProducerDescription: Hashable, Sendable {
    public var producerId: Int64
    public var producerEpoch: Int32
    public var lastSequence: Int32
    public var lastTimestamp: Int64
    public var coordinatorEpoch: Int32
    /// The first offset of its open transaction in the partition (-1 when none).
    public var currentTransactionStartOffset: Int64
}

extension KafkaClient {
    /// Every transactional id of every broker, filtered by state names and producer ids (empty: all), and by how
    /// long the transaction has been running (-1: any).
    public func listTransactions(states: [String] = [], producerIds: [Int64] = [], minimumDurationMs: Int64 = -1)
        async throws(KafkaClientError) -> [TransactionOverview] {
        let metadata = try await refreshMetadata(topics: [])
        var result: [TransactionOverview] = []
        for broker in metadata.brokers {
            let connection = try await connection(toBroker: broker.nodeId)
            var request = ListTransactionsRequest(stateFilters: states, producerIdFilters: producerIds)
            request.durationFilter = minimumDurationMs
            let response = try await connection.send(request, maximumVersion: 1)
            try KafkaClientError.check(response.errorCode, resource: "ListTransactions")
            result += response.transactionStates.map {
                TransactionOverview(transactionalId: $0.transactionalId, producerId: $0.producerId, state: $0.transactionState,
                                    coordinatorId: broker.nodeId)
            }
        }
        return result.sorted { $0.transactionalId < $1.transactionalId }
    }

    /// The state, producer and partitions of a transactional id, asked of its coordinator.
    public func describeTransaction(_ transactionalId: String) async throws(KafkaClientError) -> TransactionDescription {
        let found = try await send(FindCoordinatorRequest(key: transactionalId, keyType: 1), maximumVersion: 3)
        try KafkaClientError.check(found.errorCode, message: found.errorMessage, resource: transactionalId)
        if metadata?.broker(id: found.nodeId) == nil { try await refreshMetadata(topics: []) }
        let connection = try await connection(toBroker: found.nodeId)
        let response = try await connection.send(DescribeTransactionsRequest(transactionalIds: [transactionalId]), maximumVersion: 0)
        guard let state = response.transactionStates.first(where: { $0.transactionalId == transactionalId }) else {
            throw .malformedResponse("DescribeTransactions did not describe \(transactionalId)")
        }
        try KafkaClientError.check(state.errorCode, resource: transactionalId)
        var partitions: [String: [Int32]] = [:]
        for topic in state.topics { partitions[topic.topic, default: []] += topic.partitions }
        return TransactionDescription(
            transactionalId: transactionalId, coordinatorId: found.nodeId, state: state.transactionState,
            producerId: state.producerId, producerEpoch: state.producerEpoch, timeoutMs: state.transactionTimeoutMs,
            startTimeMs: state.transactionStartTimeMs, partitions: partitions)
    }

    /// The producers a partition has seen (DescribeProducers, asked of its leader).
    public func describeProducers(topic: String, partition: Int32) async throws(KafkaClientError) -> [ProducerDescription] {
        let leader = try await leader(topic: topic, partition: partition)
        let request = DescribeProducersRequest(topics: [.init(name: topic, partitionIndexes: [partition])])
        let response = try await send(request, to: leader, maximumVersion: 0)
        guard let answer = response.topics.first(where: { $0.name == topic })?.partitions.first(where: { $0.partitionIndex == partition })
        else { throw .malformedResponse("DescribeProducers did not describe \(topic)-\(partition)") }
        try KafkaClientError.check(answer.errorCode, message: answer.errorMessage, resource: "\(topic)-\(partition)")
        return answer.activeProducers.map {
            ProducerDescription(producerId: $0.producerId, producerEpoch: $0.producerEpoch, lastSequence: $0.lastSequence,
                                lastTimestamp: $0.lastTimestamp, coordinatorEpoch: $0.coordinatorEpoch,
                                currentTransactionStartOffset: $0.currentTxnStartOffset)
        }
    }

    /// Ends a hanging transaction in one partition by writing an ABORT marker for its producer there
    /// (WriteTxnMarkers to the partition's leader), as `kafka-transactions.sh abort` does.
    public func abortTransaction(topic: String, partition: Int32, producerId: Int64, producerEpoch: Int16,
                                 coordinatorEpoch: Int32) async throws(KafkaClientError) {
        let leader = try await leader(topic: topic, partition: partition)
        let request = WriteTxnMarkersRequest(markers: [.init(
            producerId: producerId, producerEpoch: producerEpoch, transactionResult: false,
            topics: [.init(name: topic, partitionIndexes: [partition])], coordinatorEpoch: coordinatorEpoch)])
        let response = try await send(request, to: leader, maximumVersion: 1)
        for marker in response.markers {
            for topicResult in marker.topics {
                for result in topicResult.partitions {
                    try KafkaClientError.check(result.errorCode, resource: "\(topicResult.name)-\(result.partitionIndex)")
                }
            }
        }
    }

    /// The node id of a partition's leader.
    func leader(topic: String, partition: Int32) async throws(KafkaClientError) -> Int32 {
        let metadata = try await refreshMetadata(topics: [topic])
        guard let found = metadata.topics.first(where: { $0.name == topic }) else {
            throw .broker(code: .unknownTopicOrPartition, message: nil, resource: topic)
        }
        try KafkaClientError.check(found.errorCode.rawValue, resource: topic)
        guard let leader = found.partitions.first(where: { $0.partition == partition })?.leader, leader >= 0 else {
            throw .broker(code: .unknownTopicOrPartition, message: nil, resource: "\(topic)-\(partition)")
        }
        return leader
    }
}
