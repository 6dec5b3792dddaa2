import KafkaProtocol
import Testing
@testable import VltavaCoordinator

/// The server-side assignors: every subscribed partition to exactly one subscribed member, balanced, sticky.
@Suite("Consumer group assignors (uniform, range)")
struct ConsumerGroupAssignorTests {
    static let topicA = KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 1)
    static let topicB = KafkaUUID(mostSignificantBits: 2, leastSignificantBits: 2)

    /// Every partition of every topic someone subscribes to is assigned once, to a subscriber.
    static func checkValid(_ result: [String: PartitionAssignment], _ spec: AssignmentSpec) {
        var owners: [PartitionKey: String] = [:]
        for (member, assignment) in result {
            for (topicId, partitions) in assignment {
                #expect(spec.subscriptions[member]?.contains(topicId) == true, "\(member) got a topic it does not subscribe to")
                for partition in partitions {
                    let key = PartitionKey(topicId: topicId, partition: partition)
                    #expect(owners[key] == nil, "partition \(partition) assigned twice")
                    owners[key] = member
                }
            }
        }
        for (topicId, count) in spec.partitionCounts where spec.subscriptions.values.contains(where: { $0.contains(topicId) }) {
            for partition in 0..<count { #expect(owners[PartitionKey(topicId: topicId, partition: partition)] != nil) }
        }
    }

    static func counts(_ result: [String: PartitionAssignment]) -> [Int] { result.values.map(\.partitionCount).sorted() }

    @Test("six partitions over three members, then a fourth joins: only the partitions it takes move",
          arguments: [ConsumerGroupAssignor.uniform, .range])
    func balancedAndSticky(assignor: ConsumerGroupAssignor) {
        let subscribed: Set<KafkaUUID> = [Self.topicA]
        var spec = AssignmentSpec(subscriptions: ["m1": subscribed, "m2": subscribed, "m3": subscribed],
                                  partitionCounts: [Self.topicA: 6])
        let first = assignor.assign(spec)
        Self.checkValid(first, spec)
        #expect(Self.counts(first) == [2, 2, 2])
        if assignor == .range {
            #expect(first["m1"] == [Self.topicA: [0, 1]] && first["m3"] == [Self.topicA: [4, 5]])
        }
        spec.subscriptions["m4"] = subscribed
        spec.previous = first
        let second = assignor.assign(spec)
        Self.checkValid(second, spec)
        #expect(Self.counts(second) == [1, 1, 2, 2])
        var moved = 0
        for member in ["m1", "m2", "m3"] {
            moved += (first[member]?[Self.topicA] ?? []).subtracting(second[member]?[Self.topicA] ?? []).count
        }
        #expect(moved == second["m4"]?.partitionCount, "only the partitions the new member takes move")
        #expect(moved >= 1)
    }

    @Test("uniform balances over all topics; range balances each topic", arguments: [ConsumerGroupAssignor.uniform, .range])
    func twoTopics(assignor: ConsumerGroupAssignor) {
        let both: Set<KafkaUUID> = [Self.topicA, Self.topicB]
        let spec = AssignmentSpec(subscriptions: ["a": both, "b": both], partitionCounts: [Self.topicA: 3, Self.topicB: 3])
        let result = assignor.assign(spec)
        Self.checkValid(result, spec)
        if assignor == .uniform { #expect(Self.counts(result) == [3, 3]) }
        if assignor == .range {
            // Each topic's three partitions split 2/1, the first member taking the extra one of both (Kafka's range).
            #expect(Self.counts(result) == [2, 4])
            // Co-partitioned: the same partition numbers of both topics go to the same member.
            #expect(result["a"]?[Self.topicA] == result["a"]?[Self.topicB])
        }
    }

    @Test("different subscriptions: each topic only to its subscribers", arguments: [ConsumerGroupAssignor.uniform, .range])
    func heterogeneous(assignor: ConsumerGroupAssignor) {
        let spec = AssignmentSpec(subscriptions: ["a": [Self.topicA], "b": [Self.topicA, Self.topicB], "c": [Self.topicB]],
                                  partitionCounts: [Self.topicA: 4, Self.topicB: 4])
        let result = assignor.assign(spec)
        Self.checkValid(result, spec)
        if assignor == .uniform { #expect(Self.counts(result).max()! - Self.counts(result).min()! <= 1) }
    }

    @Test("a member leaving: its partitions spread, the others keep theirs", arguments: [ConsumerGroupAssignor.uniform, .range])
    func leaving(assignor: ConsumerGroupAssignor) {
        let subscribed: Set<KafkaUUID> = [Self.topicA]
        var spec = AssignmentSpec(subscriptions: ["m1": subscribed, "m2": subscribed, "m3": subscribed], partitionCounts: [Self.topicA: 9])
        let first = assignor.assign(spec)
        spec.subscriptions["m2"] = nil
        spec.previous = first
        let second = assignor.assign(spec)
        Self.checkValid(second, spec)
        #expect(Self.counts(second) == [4, 5] || Self.counts(second) == [5, 4].sorted())
        for member in ["m1", "m3"] {
            #expect((first[member]?[Self.topicA] ?? []).isSubset(of: second[member]?[Self.topicA] ?? []))
        }
    }

    @Test("partitions that no longer exist and topics no longer subscribed are dropped")
    func shrinking() {
        let spec = AssignmentSpec(subscriptions: ["m1": [Self.topicA]], partitionCounts: [Self.topicA: 2],
                                  previous: ["m1": [Self.topicA: [0, 1, 2, 3], Self.topicB: [0]]])
        for assignor in ConsumerGroupAssignor.allCases {
            #expect(assignor.assign(spec) == ["m1": [Self.topicA: [0, 1]]])
        }
    }

    @Test("many members and partitions: valid and balanced")
    func large() {
        var subscriptions: [String: Set<KafkaUUID>] = [:]
        for index in 0..<37 { subscriptions["member-\(index)"] = [Self.topicA, Self.topicB] }
        let spec = AssignmentSpec(subscriptions: subscriptions, partitionCounts: [Self.topicA: 100, Self.topicB: 61])
        let result = ConsumerGroupAssignor.uniform.assign(spec)
        Self.checkValid(result, spec)
        #expect(Self.counts(result).max()! - Self.counts(result).min()! <= 1)
    }
}
