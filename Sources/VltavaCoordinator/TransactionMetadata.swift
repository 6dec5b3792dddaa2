import KafkaProtocol
import VltavaStorage

/// The states of a transactional id, with the numbers Kafka writes in `__transaction_state`
/// (`TransactionLogValue.TransactionStatus`) and the names DescribeTransactions and ListTransactions show.
public enum TransactionState: Int8, Sendable, CaseIterable {
    /// No transaction in progress (a fresh id, or after InitProducerId).
    case empty = 0
    /// Partitions or offsets were added; records may be written.
    case ongoing = 1
    /// EndTxn(commit) is recorded; the COMMIT markers are being written.
    case prepareCommit = 2
    /// EndTxn(abort), a fence or a timeout is recorded; the ABORT markers are being written.
    case prepareAbort = 3
    /// Every COMMIT marker is written.
    case completeCommit = 4
    /// Every ABORT marker is written.
    case completeAbort = 5
    /// The id expired and is being removed.
    case dead = 6
    /// A new producer with the id fenced the old one while its transaction was ongoing (never written).
    case prepareEpochFence = 7

    public var name: String {
        switch self {
        case .empty: return "Empty"
        case .ongoing: return "Ongoing"
        case .prepareCommit: return "PrepareCommit"
        case .prepareAbort: return "PrepareAbort"
        case .completeCommit: return "CompleteCommit"
        case .completeAbort: return "CompleteAbort"
        case .dead: return "Dead"
        case .prepareEpochFence: return "PrepareEpochFence"
        }
    }

    /// The state by its name (ListTransactions' filter); nil for an unknown name.
    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = state
    }

    /// The states a transaction may move to from this one (Kafka's `validPreviousStates`, turned around).
    public func canMove(to next: TransactionState) -> Bool {
        switch next {
        case .empty: return [.empty, .completeCommit, .completeAbort].contains(self)
        case .ongoing: return [.ongoing, .empty, .completeCommit, .completeAbort].contains(self)
        case .prepareCommit: return self == .ongoing
        case .prepareAbort: return [.ongoing, .prepareEpochFence].contains(self)
        case .completeCommit: return self == .prepareCommit
        case .completeAbort: return self == .prepareAbort
        case .dead: return [.empty, .completeCommit, .completeAbort].contains(self)
        case .prepareEpochFence: return self == .ongoing
        }
    }

    /// Whether a transaction in this state has nothing in flight (an idle id that may expire).
    public var isIdle: Bool { [.empty, .completeCommit, .completeAbort].contains(self) }
}

/// What the coordinator knows of one transactional id (Kafka's `TransactionMetadata` without its locks).
public struct TransactionMetadata: Sendable, Equatable {
    public static let noProducerId: Int64 = -1
    public static let noProducerEpoch: Int16 = -1

    public var transactionalId: String
    public var producerId: Int64
    /// The producer id before the last rotation (an exhausted epoch), so a retry of that InitProducerId is known.
    public var lastProducerId: Int64 = noProducerId
    public var producerEpoch: Int16
    /// The epoch before the last bump, so a retried InitProducerId (KIP-360) gets the same answer.
    public var lastProducerEpoch: Int16 = noProducerEpoch
    public var timeoutMs: Int32
    public var state: TransactionState
    public var partitions: Set<TopicPartition>
    /// When the ongoing transaction started (-1 when none).
    public var startTimestampMs: Int64
    public var lastUpdateTimestampMs: Int64

    public init(transactionalId: String, producerId: Int64, lastProducerId: Int64 = noProducerId,
                producerEpoch: Int16, lastProducerEpoch: Int16 = noProducerEpoch, timeoutMs: Int32,
                state: TransactionState, partitions: Set<TopicPartition> = [], startTimestampMs: Int64 = -1,
                lastUpdateTimestampMs: Int64) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.lastProducerId = lastProducerId
        self.producerEpoch = producerEpoch
        self.lastProducerEpoch = lastProducerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        self.partitions = partitions
        self.startTimestampMs = startTimestampMs
        self.lastUpdateTimestampMs = lastUpdateTimestampMs
    }

    /// An epoch this close to the maximum cannot be bumped again: a new producer id is given instead.
    public var isEpochExhausted: Bool { Self.isEpochExhausted(producerEpoch) }
    public static func isEpochExhausted(_ epoch: Int16) -> Bool { epoch >= Int16.max - 1 }

    // MARK: Transitions (each returns the metadata to write; it takes effect once written)

    /// InitProducerId on an idle id: the epoch bumped (or, for a retry of a bump the client did not hear about,
    /// the same answer again). PRODUCER_FENCED when the client's epoch is neither the current nor the last one.
    func incrementingEpoch(timeoutMs: Int32, expectedEpoch: Int16?, nowMs: Int64) -> Result<TransactionMetadata, TransactionError> {
        var next = self
        switch expectedEpoch {
        case nil:
            next.producerEpoch = producerEpoch &+ 1
            next.lastProducerEpoch = Self.noProducerEpoch
        case let expected? where producerEpoch == Self.noProducerEpoch || expected == producerEpoch:
            next.producerEpoch = producerEpoch &+ 1
            next.lastProducerEpoch = producerEpoch
        case let expected? where expected == lastProducerEpoch:
            break
        default:
            return .failure(.producerFenced)
        }
        next.timeoutMs = timeoutMs
        next.state = .empty
        next.partitions = []
        next.startTimestampMs = -1
        next.lastUpdateTimestampMs = nowMs
        return .success(next)
    }

    /// InitProducerId when the epoch is exhausted: a new producer id with epoch 0.
    func rotatingProducerId(to newProducerId: Int64, timeoutMs: Int32, nowMs: Int64, recordLastEpoch: Bool) -> TransactionMetadata {
        var next = self
        next.lastProducerId = producerId
        next.producerId = newProducerId
        next.lastProducerEpoch = recordLastEpoch ? producerEpoch : Self.noProducerEpoch
        next.producerEpoch = 0
        next.timeoutMs = timeoutMs
        next.state = .empty
        next.partitions = []
        next.startTimestampMs = -1
        next.lastUpdateTimestampMs = nowMs
        return next
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the partitions join the transaction, which starts now if none is
    /// ongoing.
    func addingPartitions(_ added: Set<TopicPartition>, nowMs: Int64) -> TransactionMetadata {
        var next = self
        if state != .ongoing {
            next.startTimestampMs = nowMs
            next.partitions = []
        }
        next.partitions.formUnion(added)
        next.state = .ongoing
        next.lastUpdateTimestampMs = nowMs
        return next
    }

    /// A new producer, a timeout or an expiry fences the current one: its epoch is bumped (never handed to a
    /// client) and the ongoing transaction aborted with it.
    func fencingEpoch(nowMs: Int64) -> TransactionMetadata {
        var next = self
        next.producerEpoch = producerEpoch &+ 1
        next.lastProducerEpoch = Self.noProducerEpoch
        next.state = .prepareAbort
        next.lastUpdateTimestampMs = nowMs
        return next
    }

    /// EndTxn: PrepareCommit or PrepareAbort, with the same partitions.
    func preparing(commit: Bool, nowMs: Int64) -> TransactionMetadata {
        var next = self
        next.state = commit ? .prepareCommit : .prepareAbort
        next.lastUpdateTimestampMs = nowMs
        return next
    }

    /// Every marker is written: CompleteCommit or CompleteAbort, no partitions left.
    func completing(nowMs: Int64) -> TransactionMetadata {
        var next = self
        next.state = state == .prepareCommit ? .completeCommit : .completeAbort
        next.partitions = []
        next.lastUpdateTimestampMs = nowMs
        return next
    }

    /// `transactional.id.expiration.ms` passed with the id idle: removed.
    func dying(nowMs: Int64) -> TransactionMetadata {
        var next = self
        next.state = .dead
        next.partitions = []
        next.lastUpdateTimestampMs = nowMs
        return next
    }
}

/// Why the coordinator refused a request; each maps to Kafka's error code for it.
public enum TransactionError: Error, Sendable, Equatable {
    case invalidRequest
    case invalidTransactionTimeout
    case concurrentTransactions
    case producerFenced
    case invalidProducerIdMapping
    case invalidTxnState
    case coordinatorLoadInProgress
    case coordinatorNotAvailable
    case transactionalIdNotFound
    case storage

    public var errorCode: ErrorCode {
        switch self {
        case .invalidRequest: return .invalidRequest
        case .invalidTransactionTimeout: return .invalidTransactionTimeout
        case .concurrentTransactions: return .concurrentTransactions
        case .producerFenced: return .producerFenced
        case .invalidProducerIdMapping: return .invalidProducerIdMapping
        case .invalidTxnState: return .invalidTxnState
        case .coordinatorLoadInProgress: return .coordinatorLoadInProgress
        case .coordinatorNotAvailable: return .coordinatorNotAvailable
        case .transactionalIdNotFound: return .transactionalIdNotFound
        case .storage: return .coordinatorNotAvailable
        }
    }
}
