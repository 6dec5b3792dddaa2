import KafkaProtocol
import VltavaStorage

/// The offsets that transactional producers committed with TxnOffsetCommit and whose transaction has not ended
/// (Kafka's pending transactional offset commits), by producer id, group and partition. OffsetFetch does not see
/// them; the transaction's COMMIT marker turns them into committed offsets, its ABORT marker drops them.
public struct PendingTransactionalOffsets: Sendable, Equatable {
    /// Producer id → group → partition → offset, each with the offset of its record in `__consumer_offsets`.
    public private(set) var byProducer: [Int64: [String: [TopicPartition: CommittedOffset]]] = [:]

    public init() {}

    /// Whether no transaction has pending offsets.
    public var isEmpty: Bool { byProducer.isEmpty }

    /// Keeps `offset` as `producerId`'s pending offset of the group's partition (a later one of the same
    /// transaction replaces it).
    mutating func add(producerId: Int64, group: String, _ partition: TopicPartition, _ offset: CommittedOffset) {
        byProducer[producerId, default: [:]][group, default: [:]][partition] = offset
    }

    /// Whether an open transaction has offsets for the group.
    func hasPending(group: String) -> Bool {
        byProducer.values.contains { $0[group] != nil }
    }

    /// Whether an open transaction has an offset for the group's partition.
    func hasPending(group: String, _ partition: TopicPartition) -> Bool {
        byProducer.values.contains { $0[group]?[partition] != nil }
    }

    /// The group's partitions that an open transaction has offsets for.
    func partitions(of group: String) -> Set<TopicPartition> {
        byProducer.values.reduce(into: []) { result, groups in
            if let partitions = groups[group] { result.formUnion(partitions.keys) }
        }
    }

    /// Drops every open transaction's offset of the group's partition (the partition's offset was deleted).
    mutating func remove(group: String, _ partition: TopicPartition) {
        for producerId in Array(byProducer.keys) {
            guard byProducer[producerId]?[group]?.removeValue(forKey: partition) != nil else { continue }
            if byProducer[producerId]?[group]?.isEmpty == true { byProducer[producerId]?[group] = nil }
            if byProducer[producerId]?.isEmpty == true { byProducer[producerId] = nil }
        }
    }

    /// Drops every open transaction's offsets of the group (the group was deleted).
    mutating func remove(group: String) {
        for producerId in Array(byProducer.keys) where byProducer[producerId]?[group] != nil {
            byProducer[producerId]?[group] = nil
            if byProducer[producerId]?.isEmpty == true { byProducer[producerId] = nil }
        }
    }

    /// Removes and returns the producer's pending offsets, when its transaction ends.
    mutating func end(producerId: Int64) -> [String: [TopicPartition: CommittedOffset]] {
        byProducer.removeValue(forKey: producerId) ?? [:]
    }
}
