import KafkaProtocol
import NIOCore
import VltavaSecurity

extension Broker {
    /// The user a quota is looked up for: the principal's name (`ANONYMOUS` without authentication).
    static func quotaUser(_ principal: String) -> String {
        principal.hasPrefix("User:") ? String(principal.dropFirst("User:".count)) : principal
    }

    /// Produce under `producer_byte_rate`: the records' bytes are recorded against the client's quota; over it, the
    /// answer carries the throttle time and the connection stops reading for that long (KIP-219), as Kafka's
    /// `ClientQuotaManager` does. acks=0 requests are throttled too, without an answer.
    func throttledProduce(_ request: ProduceRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let future = handleProduce(request, context: context)
        guard quotas.isActive else { return future }
        let bytes = request.topicData.reduce(0) { total, topic in
            topic.partitionData.reduce(total) { $0 + ($1.records?.readableBytes ?? 0) }
        }
        let throttle = quotas.record(.producerByteRate, user: Self.quotaUser(context.connection.principal),
                                     clientId: context.header.clientId ?? "", value: Double(bytes), nowMs: clock())
        guard throttle > 0 else { return future }
        context.connection.throttle.throttle(throttle)
        return future.map { $0.raisingThrottleTime(to: throttle) }
    }

    /// `request_percentage`: the time a request took on the request-handler pool, as a percentage of one thread
    /// over the quota window (Kafka's `ClientRequestQuotaManager`). Over it, the connection's next requests wait,
    /// it reads nothing for the throttle time, and the answer carries the throttle (the longest of its quotas', as
    /// Kafka writes it). Returns the throttle in milliseconds.
    func recordRequestTime(since started: NIODeadline, frame: KafkaRequestFrame, connection: ConnectionContext) -> Int64 {
        let nanoseconds = (NIODeadline.now() - started).nanoseconds
        let percentSeconds = Double(nanoseconds) / 1e9 * 100
        let throttle = quotas.record(.requestPercentage, user: Self.quotaUser(connection.principal),
                                     clientId: frame.header.clientId ?? "", value: percentSeconds, nowMs: clock())
        connection.throttle.throttle(throttle)
        return throttle
    }

    /// CreateTopics, CreatePartitions and DeleteTopics under `controller_mutation_rate` (KIP-599): each topic's
    /// partitions are taken from the client's token bucket. The versions that know THROTTLING_QUOTA_EXCEEDED
    /// (CreateTopics 6+, CreatePartitions 3+, DeleteTopics 5+) are strict — a topic is refused while the bucket is in
    /// debt, and the answer carries the time to pay it back; older versions are permissive — everything is taken,
    /// and the debt becomes the throttle. Either way the connection then reads nothing for that long.
    /// `body` answers with an `admit` that takes the partitions of each topic; the answer's `throttleTime` carries
    /// the throttle. `strictFrom`: the first version that knows THROTTLING_QUOTA_EXCEEDED.
    func withMutationQuota<Response>(context: RequestContext, strictFrom strictVersion: Int16,
                                     throttleTime: WritableKeyPath<Response, Int32>,
                                     _ body: ((Int64) -> Bool) -> Response) -> Response {
        guard quotas.isActive else { return body { _ in true } }
        let strict = context.version >= strictVersion
        let user = Self.quotaUser(context.connection.principal), clientId = context.header.clientId ?? ""
        var refused: Int64 = 0
        var response = body { partitions in
            guard let throttle = quotas.takeMutations(partitions, user: user, clientId: clientId, strict: strict, nowMs: clock()) else {
                return true
            }
            refused = max(refused, throttle)
            return false
        }
        let throttle = strict ? refused : quotas.mutationThrottle(user: user, clientId: clientId, nowMs: clock())
        guard throttle > 0 else { return response }
        context.connection.throttle.throttle(throttle)
        response[keyPath: throttleTime] = Int32(clamping: throttle)
        return response
    }

    /// Fetch under `consumer_byte_rate`: the answer's record bytes are recorded; a client over its quota gets,
    /// as from Kafka, an answer without records (the bytes taken back from its rate) carrying the throttle time,
    /// and its connection stops reading for that long.
    func throttledFetch(_ request: FetchRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let future = handleFetch(request, context: context)
        guard quotas.isActive else { return future }
        let user = Self.quotaUser(context.connection.principal), clientId = context.header.clientId ?? ""
        return future.map { response in
            guard case let .fetch(body, records) = response else { return response }
            let bytes = Double(records.recordBytes(in: body))
            let now = self.clock()
            let throttle = self.quotas.record(.consumerByteRate, user: user, clientId: clientId, value: bytes, nowMs: now)
            guard throttle > 0 else { return response }
            self.quotas.unrecord(.consumerByteRate, user: user, clientId: clientId, value: bytes, nowMs: now)
            records.close()
            context.connection.throttle.throttle(throttle)
            var empty = body
            for topic in empty.responses.indices {
                for partition in empty.responses[topic].partitions.indices {
                    empty.responses[topic].partitions[partition].records = ByteBuffer()
                }
            }
            return BrokerResponse.fetch(empty, FetchedRecords()).raisingThrottleTime(to: throttle)
        }
    }
}
