import KafkaProtocol

/// What a server-side assignor gets: each member's subscribed topics (ids of topics that exist), each topic's
/// partition count, and the target assignment it is to move from (so that it can be sticky).
public struct AssignmentSpec: Sendable {
    public var subscriptions: [String: Set<KafkaUUID>]
    public var partitionCounts: [KafkaUUID: Int32]
    public var previous: [String: PartitionAssignment]

    public init(subscriptions: [String: Set<KafkaUUID>], partitionCounts: [KafkaUUID: Int32],
                previous: [String: PartitionAssignment] = [:]) {
        self.subscriptions = subscriptions
        self.partitionCounts = partitionCounts
        self.previous = previous
    }

    /// Member ids in a fixed order, so that the same input gives the same assignment.
    var memberIds: [String] { subscriptions.keys.sorted() }

    /// Topic ids in a fixed order.
    var topicIds: [KafkaUUID] {
        partitionCounts.keys.sorted { ($0.mostSignificantBits, $0.leastSignificantBits) < ($1.mostSignificantBits, $1.leastSignificantBits) }
    }

    /// The previous assignment cut down to what still holds: partitions that exist, of topics the member still
    /// subscribes to, each kept by one member only.
    func retained() -> [String: PartitionAssignment] {
        var claimed: Set<PartitionKey> = []
        var result: [String: PartitionAssignment] = [:]
        for memberId in memberIds {
            let subscribed = subscriptions[memberId] ?? []
            var kept: PartitionAssignment = [:]
            for (topicId, partitions) in previous[memberId] ?? [:] where subscribed.contains(topicId) {
                let count = partitionCounts[topicId] ?? 0
                for partition in partitions.sorted() where partition < count {
                    if claimed.insert(PartitionKey(topicId: topicId, partition: partition)).inserted {
                        kept[topicId, default: []].insert(partition)
                    }
                }
            }
            result[memberId] = kept
        }
        return result
    }
}

struct PartitionKey: Hashable {
    var topicId: KafkaUUID
    var partition: Int32
}

/// The server-side assignors of KIP-848, chosen with the consumer's `group.remote.assignor`.
public enum ConsumerGroupAssignor: String, Sendable, CaseIterable {
    /// Spreads all subscribed partitions evenly over the members (each gets within one of any other member that
    /// could take its partitions), keeping as much of the previous assignment as that allows.
    case uniform
    /// For each topic, its subscribers share its partitions evenly in ranges (so members with the same
    /// subscriptions get the same partition numbers of co-partitioned topics), keeping what each already had
    /// when its share allows.
    case range

    public func assign(_ spec: AssignmentSpec) -> [String: PartitionAssignment] {
        switch self {
        case .uniform: UniformAssignor(spec: spec).assign()
        case .range: RangeAssignor(spec: spec).assign()
        }
    }
}

/// Sticky and balanced: keeps what each member had (partitions that still exist and that it still subscribes to),
/// gives each unowned partition to the subscribed member with the fewest, then moves partitions one at a time from
/// the member with the most to a subscribed member with at least two fewer, until no such move is left.
struct UniformAssignor {
    var spec: AssignmentSpec

    func assign() -> [String: PartitionAssignment] {
        let members = spec.memberIds
        var assignment = spec.retained()
        var counts = assignment.mapValues(\.partitionCount)
        var owned: Set<PartitionKey> = []
        for (_, partitions) in assignment {
            for (topicId, numbers) in partitions { for number in numbers { owned.insert(PartitionKey(topicId: topicId, partition: number)) } }
        }
        // Subscribers of each topic, in member order.
        var subscribers: [KafkaUUID: [String]] = [:]
        for member in members {
            for topicId in spec.subscriptions[member] ?? [] where spec.partitionCounts[topicId] != nil {
                subscribers[topicId, default: []].append(member)
            }
        }
        for topicId in spec.topicIds {
            guard let candidates = subscribers[topicId], !candidates.isEmpty else { continue }
            for partition in 0..<(spec.partitionCounts[topicId] ?? 0)
            where !owned.contains(PartitionKey(topicId: topicId, partition: partition)) {
                guard let member = candidates.min(by: { (counts[$0] ?? 0, $0) < (counts[$1] ?? 0, $1) }) else { continue }
                assignment[member, default: [:]][topicId, default: []].insert(partition)
                counts[member, default: 0] += 1
            }
        }
        balance(&assignment, &counts, members: members)
        return assignment.mapValues(\.normalized)
    }

    /// Moves partitions from the fullest members to subscribed members with at least two fewer.
    private func balance(_ assignment: inout [String: PartitionAssignment], _ counts: inout [String: Int], members: [String]) {
        var moves = 0
        let limit = spec.partitionCounts.values.reduce(0) { $0 + Int($1) } * max(1, members.count)
        var moved = true
        while moved && moves < limit {
            moved = false
            let byLoad = members.sorted { (counts[$0] ?? 0, $1) > (counts[$1] ?? 0, $0) }
            search: for donor in byLoad {
                let donorCount = counts[donor] ?? 0
                guard donorCount >= 2 else { break }
                // Receivers with the fewest first; a receiver must subscribe to the partition's topic.
                let receivers = members.filter { (counts[$0] ?? 0) <= donorCount - 2 }
                    .sorted { (counts[$0] ?? 0, $0) < (counts[$1] ?? 0, $1) }
                guard !receivers.isEmpty else { continue }
                let donorTopics = (assignment[donor] ?? [:]).keys.sorted {
                    ($0.mostSignificantBits, $0.leastSignificantBits) < ($1.mostSignificantBits, $1.leastSignificantBits)
                }
                for receiver in receivers {
                    let subscribed = spec.subscriptions[receiver] ?? []
                    for topicId in donorTopics where subscribed.contains(topicId) {
                        guard let partition = assignment[donor]?[topicId]?.max() else { continue }
                        assignment[donor]?[topicId]?.remove(partition)
                        assignment[receiver, default: [:]][topicId, default: []].insert(partition)
                        counts[donor, default: 0] -= 1
                        counts[receiver, default: 0] += 1
                        moves += 1
                        moved = true
                        break search
                    }
                }
            }
        }
    }
}

/// Per topic: with `m` subscribers and `n` partitions each subscriber's share is `n / m`, and `n % m` of them get
/// one more (those keeping more than the share first, then in member order). Each keeps what it had up to its
/// share; the rest goes, in partition order, to subscribers below their share, in member order. Without a
/// previous assignment this is Kafka's range assignment: contiguous ranges in member order.
struct RangeAssignor {
    var spec: AssignmentSpec

    func assign() -> [String: PartitionAssignment] {
        let members = spec.memberIds
        let retained = spec.retained()
        var assignment: [String: PartitionAssignment] = Dictionary(uniqueKeysWithValues: members.map { ($0, [:]) })
        for topicId in spec.topicIds {
            let count = spec.partitionCounts[topicId] ?? 0
            let subscribers = members.filter { spec.subscriptions[$0]?.contains(topicId) ?? false }
            guard !subscribers.isEmpty, count > 0 else { continue }
            let share = Int(count) / subscribers.count
            var extra = Int(count) % subscribers.count
            var quota: [String: Int] = [:]
            let keptCount = { (member: String) in retained[member]?[topicId]?.count ?? 0 }
            for member in subscribers where keptCount(member) > share && extra > 0 {
                quota[member] = share + 1
                extra -= 1
            }
            for member in subscribers where quota[member] == nil {
                if extra > 0 {
                    quota[member] = share + 1
                    extra -= 1
                } else {
                    quota[member] = share
                }
            }
            var taken: Set<Int32> = []
            for member in subscribers {
                let kept = (retained[member]?[topicId] ?? []).sorted().prefix(quota[member] ?? 0)
                if !kept.isEmpty { assignment[member]?[topicId] = Set(kept) }
                taken.formUnion(kept)
            }
            var free = (0..<count).filter { !taken.contains($0) }[...]
            for member in subscribers {
                let missing = (quota[member] ?? 0) - (assignment[member]?[topicId]?.count ?? 0)
                guard missing > 0 else { continue }
                let given = free.prefix(missing)
                free = free.dropFirst(missing)
                assignment[member, default: [:]][topicId, default: []].formUnion(given)
            }
        }
        return assignment.mapValues(\.normalized)
    }
}
