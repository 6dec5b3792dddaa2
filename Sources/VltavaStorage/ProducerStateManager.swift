import NIOCore

/// What the idempotence check decided for a batch.
enum ProducerCheck: Equatable {
    /// A new batch in sequence: append it.
    case append
    /// A retry of a batch already in the log: answer with its original offsets, append nothing.
    case duplicate(firstOffset: Int64, lastOffset: Int64)
    /// The producer's epoch is older than the one the partition has seen.
    case invalidEpoch
    /// The batch's first sequence does not follow the last one appended.
    case outOfOrder(expected: Int32, received: Int32)
}

/// Per-partition state of idempotent and transactional producers: for each producer id, its epoch, the
/// sequence and offset ranges of its last five batches (a producer keeps at most five requests in flight), and the
/// first offset of its ongoing transaction, as Kafka's ProducerStateManager keeps them.
struct ProducerStateManager {
    struct BatchMetadata: Equatable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Int64
        var lastOffset: Int64
    }

    struct Entry: Equatable {
        var epoch: Int16
        var batches: [BatchMetadata]
        /// The epoch of the transaction coordinator that wrote the producer's last marker; -1 before any.
        var coordinatorEpoch: Int32 = -1
        /// The newest timestamp of the producer's last batch or marker.
        var lastTimestamp: Int64 = -1
        /// The first offset of the producer's ongoing transaction.
        var currentTransactionFirstOffset: Int64?
    }

    static let retainedBatches = 5
    private(set) var producers: [Int64: Entry] = [:]
    /// The first offset of every ongoing transaction, by producer id (the same as in `producers`, kept apart so the
    /// last stable offset need not look at every producer).
    private(set) var ongoingTransactions: [Int64: Int64] = [:]
    /// The smallest first offset of the ongoing transactions.
    private(set) var firstUnstableOffset: Int64?

    static func lastSequence(first: Int32, recordCount: Int64) -> Int32 {
        // Sequences wrap around at Int32.max, as Kafka's DefaultRecordBatch.incrementSequence does.
        let last = Int64(first) + recordCount - 1
        return Int32(truncatingIfNeeded: last > Int64(Int32.max) ? last - Int64(Int32.max) - 1 : last)
    }

    func check(producerId: Int64, epoch: Int16, firstSequence: Int32, lastSequence: Int32) -> ProducerCheck {
        guard producerId >= 0 else { return .append }
        guard let entry = producers[producerId] else { return .append }
        if epoch < entry.epoch { return .invalidEpoch }
        if epoch > entry.epoch {
            return firstSequence == 0 ? .append : .outOfOrder(expected: 0, received: firstSequence)
        }
        if let duplicate = entry.batches.first(where: { $0.firstSequence == firstSequence && $0.lastSequence == lastSequence }) {
            return .duplicate(firstOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset)
        }
        guard let last = entry.batches.last else { return .append }
        let expected = last.lastSequence == Int32.max ? 0 : last.lastSequence + 1
        return firstSequence == expected ? .append : .outOfOrder(expected: expected, received: firstSequence)
    }

    /// The epoch check alone, for batches without sequences that a coordinator writes (Kafka checks no sequence
    /// for them either).
    func checkEpoch(producerId: Int64, epoch: Int16) -> ProducerCheck {
        guard producerId >= 0, let entry = producers[producerId] else { return .append }
        return epoch < entry.epoch ? .invalidEpoch : .append
    }

    /// Records a data batch. A transactional batch from a producer with no ongoing transaction begins one.
    mutating func update(producerId: Int64, epoch: Int16, batch: BatchMetadata, isTransactional: Bool = false,
                         timestamp: Int64 = -1) {
        guard producerId >= 0 else { return }
        var entry = producers[producerId] ?? Entry(epoch: epoch, batches: [])
        if epoch != entry.epoch {
            // A new epoch starts a new sequence; an ongoing transaction stays open until its marker, as in Kafka.
            entry.epoch = epoch
            entry.batches = []
        }
        entry.batches.append(batch)
        if entry.batches.count > Self.retainedBatches { entry.batches.removeFirst(entry.batches.count - Self.retainedBatches) }
        entry.lastTimestamp = timestamp
        if isTransactional, entry.currentTransactionFirstOffset == nil {
            entry.currentTransactionFirstOffset = batch.firstOffset
            ongoingTransactions[producerId] = batch.firstOffset
            firstUnstableOffset = min(firstUnstableOffset ?? batch.firstOffset, batch.firstOffset)
        }
        producers[producerId] = entry
    }

    /// Whether a marker of `epoch` may end the producer's transaction: not when the producer has a newer epoch.
    func acceptsMarker(producerId: Int64, epoch: Int16) -> Bool {
        guard let entry = producers[producerId] else { return true }
        return epoch >= entry.epoch
    }

    /// Records a COMMIT or ABORT marker at `offset` (checked with `acceptsMarker` first). It ends the producer's
    /// ongoing transaction, if there is one; its sequences are untouched, unless the marker's epoch is newer (a
    /// coordinator that fenced the producer), which starts a new sequence as a new epoch does. Returns the aborted
    /// transaction to index, with the last stable offset once it is complete.
    mutating func completeTransaction(producerId: Int64, epoch: Int16, coordinatorEpoch: Int32, isAbort: Bool,
                                      offset: Int64, timestamp: Int64) -> AbortedTransaction? {
        var entry = producers[producerId] ?? Entry(epoch: epoch, batches: [])
        if epoch != entry.epoch {
            entry.epoch = epoch
            entry.batches = []
        }
        entry.coordinatorEpoch = coordinatorEpoch
        entry.lastTimestamp = timestamp
        let firstOffset = entry.currentTransactionFirstOffset
        entry.currentTransactionFirstOffset = nil
        producers[producerId] = entry
        guard let firstOffset else { return nil }
        ongoingTransactions[producerId] = nil
        if firstUnstableOffset == firstOffset { firstUnstableOffset = ongoingTransactions.values.min() }
        guard isAbort else { return nil }
        return AbortedTransaction(producerId: producerId, firstOffset: firstOffset, lastOffset: offset,
                                  lastStableOffset: firstUnstableOffset ?? offset + 1)
    }

    // MARK: Snapshots

    /// Version 2 adds each producer's coordinator epoch, last timestamp and ongoing transaction to version 1.
    private static let snapshotVersion: Int16 = 2

    func snapshot() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.snapshotVersion, endianness: .big)
        buffer.writeInteger(Int32(producers.count), endianness: .big)
        for (id, entry) in producers.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(id, endianness: .big)
            buffer.writeInteger(entry.epoch, endianness: .big)
            buffer.writeInteger(entry.coordinatorEpoch, endianness: .big)
            buffer.writeInteger(entry.lastTimestamp, endianness: .big)
            buffer.writeInteger(entry.currentTransactionFirstOffset ?? -1, endianness: .big)
            buffer.writeInteger(UInt8(entry.batches.count))
            for batch in entry.batches {
                buffer.writeInteger(batch.firstSequence, endianness: .big)
                buffer.writeInteger(batch.lastSequence, endianness: .big)
                buffer.writeInteger(batch.firstOffset, endianness: .big)
                buffer.writeInteger(batch.lastOffset, endianness: .big)
            }
        }
        return buffer
    }

    init() {}

    /// Reads a snapshot written by `snapshot()`, of this version or version 1; nil if it is damaged.
    init?(snapshot: ByteBuffer) {
        var buffer = snapshot
        guard let version = buffer.readInteger(endianness: .big, as: Int16.self), version == 1 || version == 2,
              let count = buffer.readInteger(endianness: .big, as: Int32.self), count >= 0,
              Int(count) * (version == 1 ? 11 : 31) <= buffer.readableBytes else { return nil }
        for _ in 0..<count {
            guard let id = buffer.readInteger(endianness: .big, as: Int64.self),
                  let epoch = buffer.readInteger(endianness: .big, as: Int16.self) else { return nil }
            var entry = Entry(epoch: epoch, batches: [])
            if version == 2 {
                guard let coordinatorEpoch = buffer.readInteger(endianness: .big, as: Int32.self),
                      let lastTimestamp = buffer.readInteger(endianness: .big, as: Int64.self),
                      let transactionFirstOffset = buffer.readInteger(endianness: .big, as: Int64.self)
                else { return nil }
                entry.coordinatorEpoch = coordinatorEpoch
                entry.lastTimestamp = lastTimestamp
                if transactionFirstOffset >= 0 { entry.currentTransactionFirstOffset = transactionFirstOffset }
            }
            guard let batchCount = buffer.readInteger(as: UInt8.self), Int(batchCount) * 24 <= buffer.readableBytes
            else { return nil }
            for _ in 0..<batchCount {
                guard let firstSequence = buffer.readInteger(endianness: .big, as: Int32.self),
                      let lastSequence = buffer.readInteger(endianness: .big, as: Int32.self),
                      let firstOffset = buffer.readInteger(endianness: .big, as: Int64.self),
                      let lastOffset = buffer.readInteger(endianness: .big, as: Int64.self)
                else { return nil }
                entry.batches.append(BatchMetadata(firstSequence: firstSequence, lastSequence: lastSequence,
                                                   firstOffset: firstOffset, lastOffset: lastOffset))
            }
            producers[id] = entry
            if let first = entry.currentTransactionFirstOffset {
                ongoingTransactions[id] = first
                firstUnstableOffset = min(firstUnstableOffset ?? first, first)
            }
        }
        guard buffer.readableBytes == 0 else { return nil }
    }
}
