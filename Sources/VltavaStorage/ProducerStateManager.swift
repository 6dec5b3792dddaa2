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

/// Per-partition state of idempotent producers: for each producer id, its epoch and the sequence and offset
/// ranges of its last five batches (a producer keeps at most five requests in flight), as Kafka keeps them.
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
    }

    static let retainedBatches = 5
    private(set) var producers: [Int64: Entry] = [:]

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

    mutating func update(producerId: Int64, epoch: Int16, batch: BatchMetadata) {
        guard producerId >= 0 else { return }
        var entry = producers[producerId] ?? Entry(epoch: epoch, batches: [])
        if epoch != entry.epoch {
            entry = Entry(epoch: epoch, batches: [])
        }
        entry.batches.append(batch)
        if entry.batches.count > Self.retainedBatches { entry.batches.removeFirst(entry.batches.count - Self.retainedBatches) }
        producers[producerId] = entry
    }

    /// Forgets batches at or above `offset` (after the log was truncated there).
    mutating func truncate(from offset: Int64) {
        for (id, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset >= offset }
            producers[id] = entry.batches.isEmpty ? nil : entry
        }
    }

    // MARK: Snapshots

    private static let snapshotVersion: Int16 = 1

    func snapshot() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.snapshotVersion, endianness: .big)
        buffer.writeInteger(Int32(producers.count), endianness: .big)
        for (id, entry) in producers.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(id, endianness: .big)
            buffer.writeInteger(entry.epoch, endianness: .big)
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

    /// Reads a snapshot written by `snapshot()`; nil if it is damaged.
    init?(snapshot: ByteBuffer) {
        var buffer = snapshot
        guard buffer.readInteger(endianness: .big, as: Int16.self) == Self.snapshotVersion,
              let count = buffer.readInteger(endianness: .big, as: Int32.self), count >= 0,
              Int(count) * 11 <= buffer.readableBytes else { return nil }
        for _ in 0..<count {
            guard let id = buffer.readInteger(endianness: .big, as: Int64.self),
                  let epoch = buffer.readInteger(endianness: .big, as: Int16.self),
                  let batchCount = buffer.readInteger(as: UInt8.self), Int(batchCount) * 24 <= buffer.readableBytes
            else { return nil }
            var batches: [BatchMetadata] = []
            for _ in 0..<batchCount {
                batches.append(BatchMetadata(
                    firstSequence: buffer.readInteger(endianness: .big)!, lastSequence: buffer.readInteger(endianness: .big)!,
                    firstOffset: buffer.readInteger(endianness: .big)!, lastOffset: buffer.readInteger(endianness: .big)!))
            }
            producers[id] = Entry(epoch: epoch, batches: batches)
        }
        guard buffer.readableBytes == 0 else { return nil }
    }
}
