import NIOCore

/// The limits one client connection lives under (Kafka's socket-server settings, and Vltava's frame timeout).
public struct ConnectionLimits: Sendable, Equatable {
    /// `socket.request.max.bytes`: the largest request frame accepted.
    public var maximumRequestBytes = 104_857_600
    /// Requests read and not yet answered before the connection stops being read from.
    public var maximumPendingRequests = 32
    /// Answer bytes handed to the socket and not yet sent before the connection stops being read from (and
    /// no further request of it is started), so a client that never reads cannot grow the broker's memory.
    public var maximumQueuedResponseBytes = 4 << 20
    /// `connections.max.idle.ms`: a connection with no request in progress and no traffic for this long is closed.
    public var idleTimeoutMs: Int64 = 600_000
    /// `request.read.timeout.ms` (Vltava's): a request frame must arrive whole within this time of its first
    /// byte, else the connection is closed (a client trickling bytes cannot hold a connection and its buffer).
    public var frameTimeoutMs: Int64 = 30_000

    public init() {}
}

/// One connection's logic without I/O: framing progress of the incoming bytes, the requests waiting for their
/// answers (which must leave in request order), back-pressure on reading, and the timeouts. The channel handler
/// feeds it events and carries out the actions it returns; tests drive it directly.
struct ConnectionStateMachine {
    /// What the handler must do.
    enum Action: Equatable {
        /// Write this answer (by its sequence number) to the socket.
        case write(sequence: Int)
        /// Flush what was written.
        case flush
        /// Start processing this request.
        case dispatch(sequence: Int)
        /// Close the connection, saying why in the log.
        case close(reason: String)
        /// Close the connection once what was written has been sent (after a refused authentication's answer).
        case closeAfterSending(reason: String)
        /// Give request memory back to the pool.
        case releaseMemory(Int)
    }

    enum Outcome: Equatable {
        case answered
        /// Answered, and the connection closes once the answer is sent (a failed SASL authentication).
        case answeredThenClose(String)
        case noAnswer
        case failed(String)
    }

    private struct Pending {
        var sequence: Int
        var frameBytes: Int
        var dispatched = false
        var outcome: Outcome?
    }

    let limits: ConnectionLimits
    private var pending: [Pending] = []
    private var nextSequence = 0
    /// Bytes of the current frame still to come (including its 4-byte size while that is incomplete).
    private var frameRemaining = 0
    private var sizeBytesSeen = 0
    private var sizeValue: UInt32 = 0
    private var frameStartedMs: Int64?
    private var lastActivityMs: Int64
    private(set) var queuedResponseBytes = 0
    private(set) var isClosed = false
    /// While the client is not authenticated: the largest frame read (`sasl.server.max.receive.size`).
    var unauthenticatedFrameLimit: Int?
    /// Sizes taken from the request memory pool for frames not yet handed out as requests, oldest first.
    private var reservedFrames: [Int] = []
    /// The size of a frame whose memory could not be taken yet.
    private var memoryWanted: Int?

    init(limits: ConnectionLimits, nowMs: Int64) {
        self.limits = limits
        self.lastActivityMs = nowMs
    }

    /// Requests received and not answered yet.
    var pendingCount: Int { pending.count }

    /// Whether the handler may read more from the socket.
    var shouldRead: Bool {
        !isClosed && memoryWanted == nil && pending.count < limits.maximumPendingRequests
            && queuedResponseBytes <= limits.maximumQueuedResponseBytes
    }

    /// Raw bytes arrived (before framing): tracks where frames start and end, for the frame timeout, to refuse
    /// an oversized frame as soon as its size is known, and to take the frame's size from the request memory
    /// pool (`queued.max.request.bytes`) — when the pool has no room, reading stops until `retryMemory` succeeds.
    mutating func bytesReceived(_ buffer: ByteBuffer, nowMs: Int64, reserve: (Int) -> Bool) -> [Action] {
        guard !isClosed else { return [] }
        lastActivityMs = nowMs
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while index < end {
            if sizeBytesSeen < 4 {
                guard let byte = buffer.getInteger(at: index, as: UInt8.self) else { break }
                if sizeBytesSeen == 0 { frameStartedMs = nowMs }
                sizeValue = sizeValue << 8 | UInt32(byte)
                sizeBytesSeen += 1
                index += 1
                if sizeBytesSeen == 4 {
                    let size = Int32(bitPattern: sizeValue)
                    if size < 0 || Int(size) > limits.maximumRequestBytes {
                        return close("request frame of \(size) bytes (socket.request.max.bytes is \(limits.maximumRequestBytes))")
                    }
                    if let limit = unauthenticatedFrameLimit, Int(size) > limit {
                        return close("frame of \(size) bytes before authentication (sasl.server.max.receive.size is \(limit))")
                    }
                    frameRemaining = Int(size)
                    if reserve(Int(size)) {
                        reservedFrames.append(Int(size))
                    } else {
                        memoryWanted = Int(size)
                    }
                    if frameRemaining == 0 { finishFrame() }
                }
            } else {
                let taken = min(end - index, frameRemaining)
                frameRemaining -= taken
                index += taken
                if frameRemaining == 0 { finishFrame() }
            }
        }
        return []
    }

    /// While reading waits for request memory: tries again to take it.
    mutating func retryMemory(reserve: (Int) -> Bool) {
        guard let wanted = memoryWanted, reserve(wanted) else { return }
        reservedFrames.append(wanted)
        memoryWanted = nil
    }

    /// Whether reading waits for room in the request memory pool.
    var isWaitingForMemory: Bool { memoryWanted != nil }

    private mutating func finishFrame() {
        sizeBytesSeen = 0
        sizeValue = 0
        frameStartedMs = nil
    }

    /// A whole request frame was decoded: it gets the next sequence number; it is dispatched at once unless the
    /// answers already queued are over the limit (then when they drain).
    mutating func requestReceived(nowMs: Int64) -> (sequence: Int, actions: [Action]) {
        let sequence = nextSequence
        nextSequence += 1
        lastActivityMs = nowMs
        let reserved = reservedFrames.isEmpty ? 0 : reservedFrames.removeFirst()
        pending.append(Pending(sequence: sequence, frameBytes: reserved))
        return (sequence, isClosed ? [] : dispatchReady())
    }

    /// Starts waiting requests, in order, while fewer than `maximumPendingRequests` are running and the answers
    /// queued for the client are under their limit: one read can bring many small frames, whose answers must not
    /// all be made at once.
    private mutating func dispatchReady() -> [Action] {
        var actions: [Action] = []
        var running = pending.reduce(0) { $0 + ($1.dispatched && $1.outcome == nil ? 1 : 0) }
        for index in pending.indices where !pending[index].dispatched {
            guard queuedResponseBytes <= limits.maximumQueuedResponseBytes, running < limits.maximumPendingRequests else { break }
            running += 1
            pending[index].dispatched = true
            actions.append(.dispatch(sequence: pending[index].sequence))
        }
        return actions
    }

    /// A request's answer is ready: answers are written in request order, so it may have to wait for earlier ones.
    mutating func responseReady(sequence: Int, _ outcome: Outcome, nowMs: Int64) -> [Action] {
        guard !isClosed, let index = pending.firstIndex(where: { $0.sequence == sequence }) else { return [] }
        pending[index].outcome = outcome
        lastActivityMs = nowMs
        var actions: [Action] = []
        var wrote = false
        while let first = pending.first, let outcome = first.outcome {
            pending.removeFirst()
            if first.frameBytes > 0 { actions.append(.releaseMemory(first.frameBytes)) }
            switch outcome {
            case .answered:
                actions.append(.write(sequence: first.sequence))
                wrote = true
            case .noAnswer:
                continue
            case let .answeredThenClose(reason):
                actions.append(.write(sequence: first.sequence))
                actions.append(.flush)
                isClosed = true
                return actions + [.closeAfterSending(reason: reason)]
            case let .failed(reason):
                if wrote { actions.append(.flush) }
                return actions + close(reason)
            }
        }
        if wrote { actions.append(.flush) }
        return actions + dispatchReady()
    }

    /// Bytes of an answer were handed to the socket (`written`) or left it (`sent`, negative: done).
    mutating func responseBytesQueued(_ bytes: Int) {
        queuedResponseBytes += bytes
    }

    mutating func responseBytesSent(_ bytes: Int, nowMs: Int64) -> [Action] {
        queuedResponseBytes = max(0, queuedResponseBytes - bytes)
        lastActivityMs = nowMs
        return isClosed ? [] : dispatchReady()
    }

    /// The handler starts reading again after the broker held reading back: a frame that was cut off by the hold
    /// gets the whole frame timeout from now (its client could not send the rest meanwhile).
    mutating func readingResumed(nowMs: Int64) {
        if frameStartedMs != nil { frameStartedMs = nowMs }
    }

    /// The broker spent `milliseconds` answering what it read (a read of thousands of pipelined requests takes a
    /// while): a frame cut off at the end of that read is not the client's delay for that long.
    mutating func brokerWasBusy(milliseconds: Int64) {
        if let started = frameStartedMs, milliseconds > 0 { frameStartedMs = started + milliseconds }
    }

    /// The periodic check: a frame that takes too long to arrive, or a connection idle for too long, is closed.
    mutating func tick(nowMs: Int64) -> [Action] {
        guard !isClosed else { return [] }
        // While the broker holds reading back (too many requests pending, answers unread, no request memory), a
        // frame cannot complete through any fault of the client's: its clock starts again.
        if frameStartedMs != nil, !shouldRead { frameStartedMs = nowMs }
        if let started = frameStartedMs, nowMs - started >= limits.frameTimeoutMs {
            return close("a request frame did not arrive whole within \(limits.frameTimeoutMs) ms")
        }
        if pending.isEmpty, frameStartedMs == nil, queuedResponseBytes == 0, nowMs - lastActivityMs >= limits.idleTimeoutMs {
            return close("idle for \(limits.idleTimeoutMs) ms (connections.max.idle.ms)")
        }
        return []
    }

    /// The earliest time `tick` may have something to do.
    var nextDeadlineMs: Int64 {
        if let started = frameStartedMs { return started + limits.frameTimeoutMs }
        return lastActivityMs + limits.idleTimeoutMs
    }

    private mutating func close(_ reason: String) -> [Action] {
        isClosed = true
        return [.close(reason: reason)]
    }

    /// The connection went away: the answers still pending are dropped (the handler releases what they hold),
    /// and all request memory it holds goes back to the pool.
    mutating func closed() -> (dropped: [Int], memory: Int) {
        isClosed = true
        let memory = pending.reduce(0) { $0 + $1.frameBytes } + reservedFrames.reduce(0, +)
        defer {
            pending.removeAll()
            reservedFrames.removeAll()
            memoryWanted = nil
        }
        return (pending.map(\.sequence), memory)
    }
}
