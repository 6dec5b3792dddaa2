/// Kafka's `OffsetSyncStore`: the offset syncs read from the offset-syncs topic and the translation of a consumer
/// group's upstream offset into a target offset that skips nothing.
///
/// Each partition keeps 64 syncs: `syncs[0]` is the latest, and `syncs[i]` the latest whose upstream offset agrees
/// with the newest one in every bit above bit i, so the store keeps exact syncs near the end of the topic and ever
/// sparser ones further back. Nothing is translated before the topic has been read to its end once.
struct OffsetSyncStore: Sendable {
    static let slots = 64
    private(set) var readToEnd = false
    private var syncs: [MirrorTopicPartition: [OffsetSync]] = [:]

    /// The first read reached the end of the topic: translation may start.
    mutating func markReadToEnd() { readToEnd = true }

    mutating func handle(_ sync: OffsetSync) {
        let key = MirrorTopicPartition(topic: sync.topic, partition: sync.partition)
        guard var existing = syncs[key], readToEnd, existing[0].upstreamOffset <= sync.upstreamOffset else {
            // Before the first read ends, or after the upstream topic went back (recreated), older syncs are void.
            syncs[key] = Array(repeating: sync, count: Self.slots)
            return
        }
        existing[0] = sync
        for index in 1..<Self.slots {
            let mask = Int64.max << Int64(index)
            guard (existing[index].upstreamOffset ^ sync.upstreamOffset) & mask != 0 else { break }
            existing[index] = sync
        }
        syncs[key] = existing
    }

    /// The target offset for a group at `upstreamOffset` of `partition`: nil when it cannot be translated (not read
    /// to the end yet, no sync for the partition), -1 when every sync is after it (too old to translate exactly).
    /// A group at a synced offset gets that sync's target offset; a group past it gets one more, never further,
    /// because the records in between may or may not have been replicated — so a consumer moved to the target may
    /// read some records again but skips none.
    func translateDownstream(_ partition: MirrorTopicPartition, upstreamOffset: Int64) -> Int64? {
        guard readToEnd, let partitionSyncs = syncs[partition] else { return nil }
        let sync = partitionSyncs.first { $0.upstreamOffset <= upstreamOffset } ?? partitionSyncs[Self.slots - 1]
        if sync.upstreamOffset > upstreamOffset { return -1 }
        return sync.downstreamOffset + (upstreamOffset == sync.upstreamOffset ? 0 : 1)
    }
}
