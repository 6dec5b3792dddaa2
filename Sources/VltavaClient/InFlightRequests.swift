import NIOCore

/// The requests of one connection that wait for their responses, oldest first.
///
/// A Kafka broker answers the requests of a connection in the order it received them, so a response must carry
/// the correlation id of the oldest waiting request; anything else means the stream is out of step and the
/// connection can no longer be trusted. No I/O here: the channel handler runs what this decides.
struct InFlightRequests<Waiter> {
    private var waiting = CircularBuffer<(correlationId: Int32, waiter: Waiter)>()
    private var nextCorrelationId: Int32

    init(firstCorrelationId: Int32 = 1) {
        self.nextCorrelationId = firstCorrelationId
    }

    /// The number of requests still waiting.
    var count: Int { waiting.count }

    /// Hands out the correlation id of the next request; ids wrap around after Int32.max, skipping negatives.
    mutating func allocateCorrelationId() -> Int32 {
        let id = nextCorrelationId
        nextCorrelationId = id == .max ? 0 : id + 1
        return id
    }

    /// Records a request that expects a response (a Produce with acks=0 expects none and is not recorded).
    mutating func append(correlationId: Int32, waiter: Waiter) {
        waiting.append((correlationId, waiter))
    }

    /// What a response with `correlationId` means for the connection.
    enum Match {
        /// The response belongs to this waiter, which is no longer waiting.
        case matched(Waiter)
        /// No request was waiting for a response.
        case unsolicited
        /// The oldest waiting request has another id: the connection is out of step.
        case outOfOrder(expected: Int32)
    }

    /// Matches a response to the oldest waiting request.
    mutating func receive(correlationId: Int32) -> Match {
        guard let oldest = waiting.first else { return .unsolicited }
        guard oldest.correlationId == correlationId else { return .outOfOrder(expected: oldest.correlationId) }
        waiting.removeFirst()
        return .matched(oldest.waiter)
    }

    /// Removes and returns every waiter, oldest first, for when the connection fails.
    mutating func removeAll() -> [Waiter] {
        let waiters = waiting.map(\.waiter)
        waiting.removeAll()
        return waiters
    }
}
