import VltavaStorage

/// A group as `/metrics` shows it: its state, member count and committed offsets.
public struct GroupMetricsSnapshot: Sendable {
    public var groupId: String
    /// Kafka's state name (Stable, Empty, PreparingRebalance, ...).
    public var state: String
    public var members: Int
    public var offsets: [TopicPartition: Int64]
}

extension GroupCoordinator {
    /// Every group with its committed offsets, copied shard by shard under each shard's lock (so a scrape holds
    /// a shard no longer than the copy takes). Groups with offsets but no live group (offsets committed with the
    /// admin API or kept after the members left) are listed as Empty.
    public func metricsSnapshot() -> [GroupMetricsSnapshot] {
        var snapshots: [GroupMetricsSnapshot] = []
        for shard in shards {
            shard.locked { core in
                let state = core.state
                var seen: Set<String> = []
                for group in state.groups.values where group.state != .dead {
                    seen.insert(group.groupId)
                    snapshots.append(GroupMetricsSnapshot(
                        groupId: group.groupId, state: group.state.rawValue, members: group.members.count,
                        offsets: (state.offsets[group.groupId] ?? [:]).mapValues(\.offset)))
                }
                for group in state.consumerGroups.values {
                    seen.insert(group.groupId)
                    snapshots.append(GroupMetricsSnapshot(
                        groupId: group.groupId, state: group.state.rawValue, members: group.members.count,
                        offsets: (state.offsets[group.groupId] ?? [:]).mapValues(\.offset)))
                }
                for (groupId, offsets) in state.offsets where !seen.contains(groupId) {
                    snapshots.append(GroupMetricsSnapshot(
                        groupId: groupId, state: "Empty", members: 0, offsets: offsets.mapValues(\.offset)))
                }
            }
        }
        return snapshots
    }
}
