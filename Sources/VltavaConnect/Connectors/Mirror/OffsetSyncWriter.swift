/// A topic partition named by topic and index.
struct MirrorTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    var topic: String
    var partition: Int32

    var description: String { "\(topic)-\(partition)" }

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition) }
}

/// Decides when the source task writes an offset sync (Kafka's `OffsetSyncWriter`): at once when a partition has no
/// sync yet this lifetime, when a record was skipped upstream (compaction, transaction markers), when the target was
/// truncated, or when translating with the last sync would land `offset.lag.max` or more behind; otherwise the
/// latest pair waits and goes out at the next offset commit, so a quiet partition still gets an exact sync. Kafka's
/// task sends each due sync as the record is acknowledged; here they queue in order until the task's next poll.
struct OffsetSyncWriter: Sendable {
    struct PartitionState: Sendable, Hashable {
        var previousUpstreamOffset: Int64 = -1
        var previousDownstreamOffset: Int64 = -1
        var lastSyncDownstreamOffset: Int64 = -1
        var shouldSync = false

        /// Whether a sync should be sent now for this pair.
        mutating func update(upstream: Int64, downstream: Int64, maxOffsetLag: Int64) -> Bool {
            let noSyncYet = lastSyncDownstreamOffset == -1
            // Translation lands one past the last sync, hence the + 1.
            let tooStale = downstream - (lastSyncDownstreamOffset + 1) >= maxOffsetLag
            let skippedUpstream = upstream - previousUpstreamOffset != 1
            let truncatedDownstream = downstream < previousDownstreamOffset
            if noSyncYet || tooStale || skippedUpstream || truncatedDownstream {
                lastSyncDownstreamOffset = downstream
                shouldSync = true
            }
            previousUpstreamOffset = upstream
            previousDownstreamOffset = downstream
            return shouldSync
        }
    }

    let maxOffsetLag: Int64
    private(set) var states: [MirrorTopicPartition: PartitionState] = [:]
    /// Syncs due, in order, and the latest sync of each partition waiting for the next commit.
    private(set) var pending: [OffsetSync] = []
    private(set) var delayed: [MirrorTopicPartition: OffsetSync] = [:]

    init(maxOffsetLag: Int64) {
        self.maxOffsetLag = maxOffsetLag
    }

    /// A record of `source` at `upstream` was written at `downstream` on the target.
    mutating func record(_ source: MirrorTopicPartition, upstream: Int64, downstream: Int64) {
        let sync = OffsetSync(topic: source.topic, partition: source.partition, upstreamOffset: upstream, downstreamOffset: downstream)
        if states[source, default: PartitionState()].update(upstream: upstream, downstream: downstream, maxOffsetLag: maxOffsetLag) {
            delayed[source] = nil
            pending.append(sync)
            states[source]?.shouldSync = false
        } else {
            delayed[source] = sync
        }
    }

    /// `count` records of `source` from `upstream` on, one after the other, were written one after the other from
    /// `downstream` on: the same syncs as `record` for each of them, found without visiting each.
    mutating func record(_ source: MirrorTopicPartition, upstream: Int64, downstream: Int64, count: Int) {
        guard count > 0 else { return }
        record(source, upstream: upstream, downstream: downstream)
        guard count > 1, var state = states[source] else { return }
        // Past the first record nothing was skipped upstream and nothing truncated downstream: only staleness
        // decides, which first holds `maxOffsetLag` records after the last sync.
        let last = Int64(count - 1)
        var lastIsSync = false
        while true {
            let next = max(1, state.lastSyncDownstreamOffset + 1 + maxOffsetLag - downstream)
            guard next <= last else { break }
            state.lastSyncDownstreamOffset = downstream + next
            delayed[source] = nil
            pending.append(OffsetSync(topic: source.topic, partition: source.partition,
                                      upstreamOffset: upstream + next, downstreamOffset: downstream + next))
            lastIsSync = next == last
        }
        state.previousUpstreamOffset = upstream + last
        state.previousDownstreamOffset = downstream + last
        states[source] = state
        if !lastIsSync {
            delayed[source] = OffsetSync(topic: source.topic, partition: source.partition,
                                         upstreamOffset: upstream + last, downstreamOffset: downstream + last)
        }
    }

    /// At an offset commit the waiting syncs become due.
    mutating func promoteDelayed() {
        pending += delayed.keys.sorted().compactMap { delayed[$0] }
        delayed = [:]
    }

    /// The syncs due now, taken out.
    mutating func takePending() -> [OffsetSync] {
        defer { pending = [] }
        return pending
    }
}
