import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
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
            return context.eventLoop.makeSucceededFuture(.fetch(first.response, first.records))
        }
        first.records.close()
        let waiter = DelayedFetch(broker: self, request: request, context: context)
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
        let readCommitted = request.isolationLevel == 1
        for topicRequest in request.topics {
            let topic = version >= 13 ? self.topic(withId: topicRequest.topicId) : metadata.topic(named: topicRequest.topic)
            var topicResponse = FetchResponse.FetchableTopicResponse(topic: topicRequest.topic, topicId: topicRequest.topicId)
            for partitionRequest in topicRequest.partitions {
                partitionCount += 1
                var partition = FetchResponse.PartitionData(partitionIndex: partitionRequest.partition)
                partition.abortedTransactions = readCommitted ? [] : nil
                guard let topic, let log = self.logs.log(topic: topic.name, partition: partitionRequest.partition) else {
                    partition.errorCode = (topic.map { storageErrorOrUnknown($0.name, partitionRequest.partition) }
                        ?? (version >= 13 ? ErrorCode.unknownTopicId : ErrorCode.unknownTopicOrPartition)).rawValue
                    partition.highWatermark = -1
                    hasError = true
                    topicResponse.partitions.append(partition)
                    continue
                }
                logs.append(log)
                let limit = min(Int(partitionRequest.partitionMaxBytes), remaining)
                do {
                    let read = try log.read(offset: partitionRequest.fetchOffset, maxBytes: max(0, limit), minOneBatch: bytes == 0)
                    partition.highWatermark = read.highWatermark
                    partition.lastStableOffset = read.highWatermark
                    partition.logStartOffset = read.logStartOffset
                    if read.length > 0 {
                        partition.records = try records.attach(read)
                        bytes += read.length
                        remaining -= read.length
                    } else {
                        partition.records = ByteBuffer()
                    }
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
                            partitionCount: partitionCount, logs: logs)
    }
}

/// A fetch waiting for data: it re-reads when one of its partitions is appended to, and answers when it has
/// `minBytes` or when `maxWaitMs` has passed. Confined to the connection's event loop.
final class DelayedFetch: @unchecked Sendable {
    private let broker: Broker
    private let request: FetchRequest
    private let context: RequestContext
    private let promise: EventLoopPromise<BrokerResponse>
    private var listeners: [(PartitionLog, UInt64)] = []
    private var timeout: Scheduled<Void>?
    private var done = false
    private let wakeScheduled = NIOLockedValueBox(false)

    init(broker: Broker, request: FetchRequest, context: RequestContext) {
        self.broker = broker
        self.request = request
        self.context = context
        self.promise = context.eventLoop.makePromise()
    }

    /// Waits on `logs`, the partitions the first read found.
    func start(waitMs: Int64, logs: [PartitionLog]) -> EventLoopFuture<BrokerResponse> {
        for log in logs {
            let id = log.addAppendListener { [self] in self.wake() }
            listeners.append((log, id))
        }
        timeout = context.eventLoop.scheduleTask(in: .milliseconds(waitMs)) { [self] in
            self.finish(force: true)
        }
        // An append may have landed between the first read and the listeners.
        wake()
        return promise.futureResult
    }

    private func wake() {
        let alreadyScheduled = wakeScheduled.withLockedValue { scheduled -> Bool in
            defer { scheduled = true }
            return scheduled
        }
        if alreadyScheduled { return }
        context.eventLoop.execute { [self] in
            self.wakeScheduled.withLockedValue { $0 = false }
            self.finish(force: false)
        }
    }

    private func finish(force: Bool) {
        guard !done else { return }
        let attempt = broker.readFetch(request, context: context)
        guard force || attempt.bytes >= Int(request.minBytes) || attempt.hasError else {
            attempt.records.close()
            return
        }
        done = true
        timeout?.cancel()
        for (log, id) in listeners { log.removeAppendListener(id) }
        listeners.removeAll()
        promise.succeed(.fetch(attempt.response, attempt.records))
    }
}
