import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// Fetch: reads each partition from its offset, up to the partition and response byte limits (the first
    /// batch whole even when larger, KIP-74). When fewer than `minBytes` are ready it waits, up to `maxWaitMs`,
    /// for appends to the partitions asked for. Fetch sessions are not kept: every answer has session id 0,
    /// which tells clients to send full fetches.
    func handleFetch(_ request: FetchRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let first = readFetch(request, context: context)
        let waitMs = Int64(request.maxWaitMs)
        if first.bytes >= Int(request.minBytes) || waitMs <= 0 || first.hasError || first.partitionCount == 0 {
            first.countServedBytes()
            return context.eventLoop.makeSucceededFuture(.fetch(first.response, first.records))
        }
        first.records.close()
        let waiter = DelayedFetch(broker: self, request: request, context: context, bytesSoFar: first.bytes)
        return waiter.start(waitMs: waitMs, logs: first.logs)
    }

    static let maximumFetchBytes = 57_671_680

    struct FetchAttempt {
        var response: FetchResponse
        var records: FetchedRecords
        var bytes: Int
        var hasError: Bool
        var partitionCount: Int
        var logs: [PartitionLog]
        /// The record bytes read from each of `logs`.
        var servedBytes: [Int]

        /// Adds what this answer carries to each partition's bytes out; called once for the answer that is sent.
        func countServedBytes() {
            for (log, bytes) in zip(logs, servedBytes) where bytes > 0 { log.traffic.fetched(bytes: bytes) }
        }
    }

    func readFetch(_ request: FetchRequest, context: RequestContext) -> FetchAttempt {
        let version = context.version
        let records = FetchedRecords()
        var response = FetchResponse()
        // Kafka's broker-side `fetch.max.bytes` (55 MiB) caps what one answer may hold, whatever the client asks.
        var remaining = min(request.maxBytes > 0 ? Int(request.maxBytes) : Int.max, Self.maximumFetchBytes)
        var bytes = 0
        var hasError = false
        var partitionCount = 0
        var logs: [PartitionLog] = []
        var servedBytes: [Int] = []
        let readCommitted = request.isolationLevel == 1
        for topicRequest in request.topics {
            let topic = version >= 13 ? self.topic(withId: topicRequest.topicId) : metadata.topic(named: topicRequest.topic)
            var topicResponse = FetchResponse.FetchableTopicResponse(topic: topicRequest.topic, topicId: topicRequest.topicId)
            let readable = topic.map { authorized(context, .read, .topic, $0.name) } ?? true
            for partitionRequest in topicRequest.partitions {
                partitionCount += 1
                var partition = FetchResponse.PartitionData(partitionIndex: partitionRequest.partition)
                partition.abortedTransactions = readCommitted ? [] : nil
                // Kafka never sends null records, even with an error: librdkafka cannot parse a null record set.
                partition.records = ByteBuffer()
                if !readable {
                    partition.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    partition.highWatermark = -1
                    hasError = true
                    topicResponse.partitions.append(partition)
                    continue
                }
                guard let topic, let log = self.logs.log(topic: topic.name, partition: partitionRequest.partition) else {
                    partition.errorCode = (topic.map { storageErrorOrUnknown($0.name, partitionRequest.partition) }
                        ?? (version >= 13 ? ErrorCode.unknownTopicId : ErrorCode.unknownTopicOrPartition)).rawValue
                    if version >= 12, let topic, let (leadership, endpoint) = currentLeader(
                        of: TopicPartition(topic: topic.name, partition: partitionRequest.partition), connection: context.connection) {
                        partition.currentLeader = .init(leaderId: leadership.leader, leaderEpoch: leadership.leaderEpoch)
                        if version >= 16, let endpoint, !response.nodeEndpoints.contains(where: { $0.nodeId == endpoint.nodeId }) {
                            response.nodeEndpoints.append(.init(nodeId: endpoint.nodeId, host: endpoint.host, port: endpoint.port, rack: endpoint.rack))
                        }
                    }
                    partition.highWatermark = -1
                    hasError = true
                    topicResponse.partitions.append(partition)
                    continue
                }
                logs.append(log)
                servedBytes.append(0)
                let limit = min(Int(partitionRequest.partitionMaxBytes), remaining)
                do {
                    // read_committed never reads past the last stable offset, and learns which of the transactions
                    // in what it reads were aborted (the client drops their records).
                    let read = try log.fetch(offset: partitionRequest.fetchOffset, maxBytes: max(0, limit), minOneBatch: bytes == 0,
                                             stableOnly: readCommitted,
                                             inMemoryLimit: context.connection.usesTls ? .max : PartitionLog.inMemorySliceLimit)
                    partition.highWatermark = read.highWatermark
                    partition.lastStableOffset = read.lastStableOffset
                    partition.logStartOffset = read.logStartOffset
                    if readCommitted, read.slice.length > 0 {
                        partition.abortedTransactions = try log.abortedTransactions(
                            from: partitionRequest.fetchOffset, upTo: read.lastStableOffset)
                            .map { .init(producerId: $0.producerId, firstOffset: $0.firstOffset) }
                    }
                    partition.records = records.attach(read.slice)
                    bytes += read.slice.length
                    servedBytes[servedBytes.count - 1] = read.slice.length
                    remaining -= read.slice.length
                } catch let StorageError.offsetOutOfRange(_, start, end) {
                    partition.errorCode = ErrorCode.offsetOutOfRange.rawValue
                    partition.highWatermark = end
                    partition.lastStableOffset = end
                    partition.logStartOffset = start
                    hasError = true
                } catch {
                    partition.errorCode = ErrorCode.kafkaStorageError.rawValue
                    hasError = true
                }
                topicResponse.partitions.append(partition)
            }
            response.responses.append(topicResponse)
        }
        return FetchAttempt(response: response, records: records, bytes: bytes, hasError: hasError,
                            partitionCount: partitionCount, logs: logs, servedBytes: servedBytes)
    }
}

/// A fetch waiting for data. Appends to its partitions add up the bytes they wrote; only once those reach what
/// the first read lacked of `minBytes` (or `maxWaitMs` passes) are the partitions read again, on the broker's
/// request-handler pool, never on an event loop.
final class DelayedFetch: Sendable {
    private struct State {
        var listeners: [(PartitionLog, UInt64)] = []
        var timeout: Scheduled<Void>?
        var done = false
        /// Bytes still to be appended before a read can reach `minBytes`.
        var missingBytes: Int
        var readScheduled = false
    }

    private let broker: Broker
    private let request: FetchRequest
    private let context: RequestContext
    private let promise: EventLoopPromise<BrokerResponse>
    private let state: NIOLockedValueBox<State>

    init(broker: Broker, request: FetchRequest, context: RequestContext, bytesSoFar: Int) {
        self.broker = broker
        self.request = request
        self.context = context
        self.promise = context.eventLoop.makePromise()
        self.state = NIOLockedValueBox(State(missingBytes: max(1, Int(request.minBytes) - bytesSoFar)))
    }

    /// Waits on `logs`, the partitions the first read found.
    func start(waitMs: Int64, logs: [PartitionLog]) -> EventLoopFuture<BrokerResponse> {
        var listeners: [(PartitionLog, UInt64)] = []
        for log in logs {
            let id = log.addAppendListener { [self] bytes in self.appended(bytes) }
            listeners.append((log, id))
        }
        let timeout = context.eventLoop.scheduleTask(in: .milliseconds(waitMs)) { [self] in
            self.read(force: true)
        }
        let finished = state.withLockedValue { state -> Bool in
            state.listeners = listeners
            state.timeout = timeout
            return state.done
        }
        if finished { removeListeners() }
        return promise.futureResult
    }

    private func appended(_ bytes: Int) {
        let due = state.withLockedValue { state -> Bool in
            state.missingBytes -= bytes
            guard state.missingBytes <= 0, !state.readScheduled, !state.done else { return false }
            state.readScheduled = true
            return true
        }
        if due { read(force: false) }
    }

    private func read(force: Bool) {
        broker.offload(on: context.eventLoop) { [self] in
            self.finish(force: force)
        }
    }

    private func finish(force: Bool) {
        if state.withLockedValue({ $0.done }) { return }
        let attempt = broker.readFetch(request, context: context)
        let answer = state.withLockedValue { state -> Bool in
            state.readScheduled = false
            guard !state.done else { return false }
            guard force || attempt.bytes >= Int(request.minBytes) || attempt.hasError else {
                // Batches were cut by the byte limits: wait for more.
                state.missingBytes = max(1, Int(request.minBytes) - attempt.bytes)
                return false
            }
            state.done = true
            return true
        }
        guard answer else {
            attempt.records.close()
            return
        }
        removeListeners()
        attempt.countServedBytes()
        promise.succeed(.fetch(attempt.response, attempt.records))
    }

    private func removeListeners() {
        let (listeners, timeout) = state.withLockedValue { state in
            defer {
                state.listeners = []
                state.timeout = nil
            }
            return (state.listeners, state.timeout)
        }
        timeout?.cancel()
        for (log, id) in listeners { log.removeAppendListener(id) }
    }
}
