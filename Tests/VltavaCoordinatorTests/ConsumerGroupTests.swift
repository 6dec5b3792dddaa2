import KafkaProtocol
import NIOCore
import Testing
import VltavaStorage
@testable import VltavaCoordinator

/// Drives a `GroupCoordinatorState` with consumer group heartbeats, as the broker does, without sockets.
struct ConsumerGroupHarness {
    static let topicId = KafkaUUID(mostSignificantBits: 7, leastSignificantBits: 7)
    var state: GroupCoordinatorState
    var now: Int64 = 1_000
    var topics: [String: SubscribedTopic] = ["t": SubscribedTopic(topicId: topicId, name: "t", partitionCount: 6)]
    /// Every record written, in order, as `__consumer_offsets` would hold them.
    var written: [OffsetsTopicEntry] = []

    init() {
        var configuration = GroupConfiguration()
        configuration.consumer.heartbeatIntervalMs = 1000
        configuration.consumer.sessionTimeoutMs = 10_000
        state = GroupCoordinatorState(configuration: configuration)
        state.finishLoading(nowMs: 0)
    }

    mutating func heartbeat(_ request: ConsumerHeartbeat, version: Int16 = 1) -> ConsumerHeartbeatOutcome {
        let (outcome, actions) = state.consumerHeartbeat(group: "g", request, version: version, topics: topics, nowMs: now)
        for case let .write(_, entries) in actions { written += entries }
        return outcome
    }

    mutating func join(_ memberId: String, topics: [String] = ["t"], assignor: String? = nil) -> ConsumerHeartbeatOutcome {
        heartbeat(ConsumerHeartbeat(memberId: memberId, memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: topics,
                                    serverAssignor: assignor, owned: [:]))
    }

    /// A heartbeat reporting what the member owns (as clients do after revoking).
    mutating func beat(_ memberId: String, epoch: Int32, owned: Set<Int32>) -> ConsumerHeartbeatOutcome {
        heartbeat(ConsumerHeartbeat(memberId: memberId, memberEpoch: epoch, owned: owned.isEmpty ? [:] : [Self.topicId: owned]))
    }

    var group: ConsumerGroup? { state.consumerGroups["g"] }

    /// No partition is owned (assigned or pending revocation) by two members.
    func checkExclusiveOwnership() {
        var owners: [Int32: String] = [:]
        for member in group?.members.values ?? [:].values {
            for partition in (member.assigned[Self.topicId] ?? []).union(member.pendingRevocation[Self.topicId] ?? []) {
                #expect(owners[partition] == nil, "partition \(partition) owned by \(owners[partition] ?? "") and \(member.memberId)")
                owners[partition] = member.memberId
            }
        }
    }
}

@Suite("Consumer groups (KIP-848) as a state machine")
struct ConsumerGroupTests {
    @Test("three members join a six-partition topic: two partitions each, the group Stable")
    func threeMembers() {
        var harness = ConsumerGroupHarness()
        var epochs: [String: Int32] = [:]
        var assigned: [String: Set<Int32>] = [:]
        for member in ["a", "b", "c"] {
            let outcome = harness.join(member)
            #expect(outcome.errorCode == .none)
            epochs[member] = outcome.memberEpoch
            assigned[member] = outcome.assignment?[ConsumerGroupHarness.topicId] ?? []
        }
        // Heartbeats until nothing changes: each reports what it owns.
        for _ in 0..<4 {
            for member in ["a", "b", "c"] {
                let outcome = harness.beat(member, epoch: epochs[member]!, owned: assigned[member]!)
                #expect(outcome.errorCode == .none, "\(outcome)")
                epochs[member] = outcome.memberEpoch
                if let assignment = outcome.assignment { assigned[member] = assignment[ConsumerGroupHarness.topicId] ?? [] }
                harness.checkExclusiveOwnership()
            }
        }
        #expect(harness.group?.state == .stable)
        #expect(assigned.values.map(\.count).sorted() == [2, 2, 2])
        #expect(Set(assigned.values.flatMap { $0 }) == Set(0..<6))
    }

    @Test("a fourth member waits for its partitions until their owners revoke them")
    func fourthMemberIncremental() {
        var harness = ConsumerGroupHarness()
        var epochs: [String: Int32] = [:]
        var owned: [String: Set<Int32>] = [:]
        func settle(_ members: [String]) {
            for _ in 0..<5 {
                for member in members {
                    let outcome = harness.beat(member, epoch: epochs[member]!, owned: owned[member]!)
                    #expect(outcome.errorCode == .none, "\(outcome)")
                    epochs[member] = outcome.memberEpoch
                    // A client gives up revoked partitions at once: what it owns is what it was last given.
                    if let assignment = outcome.assignment { owned[member] = assignment[ConsumerGroupHarness.topicId] ?? [] }
                    harness.checkExclusiveOwnership()
                }
            }
        }
        for member in ["a", "b", "c"] {
            let outcome = harness.join(member)
            epochs[member] = outcome.memberEpoch
            owned[member] = outcome.assignment?[ConsumerGroupHarness.topicId] ?? []
        }
        settle(["a", "b", "c"])
        let before = owned
        let joined = harness.join("d")
        #expect(joined.errorCode == .none)
        // Everything is owned: the new member is at the new epoch with nothing yet, waiting for releases.
        #expect(joined.assignment?[ConsumerGroupHarness.topicId] ?? [] == [])
        #expect(harness.group?.members["d"]?.state == .unreleasedPartitions)
        epochs["d"] = joined.memberEpoch
        owned["d"] = []
        settle(["a", "b", "c", "d"])
        #expect(harness.group?.state == .stable)
        #expect(owned.values.map(\.count).sorted() == [1, 1, 2, 2])
        // Sticky: the members that were there lost at most one partition each and gained none.
        for member in ["a", "b", "c"] { #expect(owned[member]!.isSubset(of: before[member]!)) }
    }

    @Test("stale, ahead and unknown members are fenced; a lost answer's previous epoch is accepted")
    func fencing() {
        var harness = ConsumerGroupHarness()
        let joined = harness.join("a")
        let epoch = joined.memberEpoch
        let owned = joined.assignment?[ConsumerGroupHarness.topicId] ?? []
        #expect(harness.beat("a", epoch: epoch + 5, owned: owned).errorCode == .fencedMemberEpoch)
        #expect(harness.beat("nobody", epoch: 3, owned: []).errorCode == .unknownMemberId)
        // "b" joins: "a" must give up three partitions and keeps its epoch until it has.
        let b = harness.join("b")
        #expect(b.memberEpoch == epoch + 1)
        let revoking = harness.beat("a", epoch: epoch, owned: owned)
        #expect(revoking.errorCode == .none && revoking.memberEpoch == epoch)
        let kept = revoking.assignment?[ConsumerGroupHarness.topicId] ?? []
        #expect(kept.count == 3)
        let moved = harness.beat("a", epoch: epoch, owned: kept)
        #expect(moved.memberEpoch == epoch + 1)
        // Its answer lost, "a" comes back with the previous epoch and only its partitions: accepted.
        #expect(harness.beat("a", epoch: epoch, owned: kept).errorCode == .none)
        // With the previous epoch but partitions it no longer has: fenced, it must rejoin.
        #expect(harness.beat("a", epoch: epoch, owned: owned).errorCode == .fencedMemberEpoch)
    }

    @Test("request checks: Kafka's errors for malformed heartbeats")
    func validation() {
        var harness = ConsumerGroupHarness()
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "", memberEpoch: 0, rebalanceTimeoutMs: 1, subscribedTopicNames: ["t"],
                                                    owned: [:])).errorCode == .invalidRequest, "v1 needs a member id")
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "", memberEpoch: 0, rebalanceTimeoutMs: 1, subscribedTopicNames: ["t"],
                                                    owned: [:]), version: 0).errorCode == .none, "v0 gets one")
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "m", memberEpoch: 0, subscribedTopicNames: ["t"], owned: [:]))
            .errorCode == .invalidRequest, "no rebalance timeout")
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "m", memberEpoch: 0, rebalanceTimeoutMs: 1, owned: [:]))
            .errorCode == .invalidRequest, "no subscription")
        #expect(harness.join("m", assignor: "sticky").errorCode == .unsupportedAssignor)
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "m", memberEpoch: 0, rebalanceTimeoutMs: 1, subscribedTopicRegex: "(?=a)",
                                                    owned: [:])).errorCode == .invalidRegularExpression)
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "m", memberEpoch: 0, rebalanceTimeoutMs: 1, subscribedTopicRegex: "[",
                                                    owned: [:])).errorCode == .invalidRegularExpression)
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "m", memberEpoch: -2)).errorCode == .invalidRequest, "static leave without instance")
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: "m", memberEpoch: -3)).errorCode == .invalidRequest)
        #expect(harness.heartbeat(ConsumerHeartbeat(memberId: String(repeating: "m", count: 40_000), memberEpoch: 0,
                                                    rebalanceTimeoutMs: 1, subscribedTopicNames: ["t"], owned: [:])).errorCode == .invalidRequest)
    }

    @Test("leaving: the group epoch moves on and the partitions go to the others; a static member keeps its place")
    func leaving() {
        var harness = ConsumerGroupHarness()
        let a = harness.join("a")
        _ = harness.join("b")
        let left = harness.heartbeat(ConsumerHeartbeat(memberId: "a", memberEpoch: -1))
        #expect(left.errorCode == .none && left.memberEpoch == -1)
        #expect(harness.group?.members["a"] == nil)
        #expect(harness.group!.groupEpoch > a.memberEpoch + 1)
        var b = harness.beat("b", epoch: harness.group!.members["b"]!.memberEpoch, owned: [])
        b = harness.beat("b", epoch: b.memberEpoch, owned: b.assignment?[ConsumerGroupHarness.topicId] ?? [])
        #expect(harness.group?.members["b"]?.assigned[ConsumerGroupHarness.topicId]?.count == 6)

        // Static: leaves with -2, comes back under a new member id with its partitions.
        var statics = ConsumerGroupHarness()
        let first = statics.heartbeat(ConsumerHeartbeat(memberId: "s1", memberEpoch: 0, instanceId: "i", rebalanceTimeoutMs: 1,
                                                        subscribedTopicNames: ["t"], owned: [:]))
        let partitions = first.assignment?[ConsumerGroupHarness.topicId] ?? []
        #expect(partitions.count == 6)
        #expect(statics.heartbeat(ConsumerHeartbeat(memberId: "s2", memberEpoch: 0, instanceId: "i", rebalanceTimeoutMs: 1,
                                                    subscribedTopicNames: ["t"], owned: [:])).errorCode == .unreleasedInstanceId)
        #expect(statics.heartbeat(ConsumerHeartbeat(memberId: "s1", memberEpoch: -2, instanceId: "i")).memberEpoch == -2)
        let back = statics.heartbeat(ConsumerHeartbeat(memberId: "s2", memberEpoch: 0, instanceId: "i", rebalanceTimeoutMs: 1,
                                                       subscribedTopicNames: ["t"], owned: [:]))
        #expect(back.errorCode == .none)
        #expect(back.assignment?[ConsumerGroupHarness.topicId] == partitions)
        #expect(statics.group?.members.keys.sorted() == ["s2"])
    }

    @Test("a member that stops heartbeating is removed after its session timeout")
    func sessionTimeout() {
        var harness = ConsumerGroupHarness()
        _ = harness.join("a")
        _ = harness.join("b")
        harness.now += 5_000
        _ = harness.beat("b", epoch: harness.group!.members["b"]!.memberEpoch, owned: [])
        harness.now += 6_000
        let actions = harness.state.tick(nowMs: harness.now)
        #expect(!actions.isEmpty)
        #expect(harness.group?.members.keys.sorted() == ["b"])
    }

    @Test("offset commits and fetches check the member epoch")
    func offsets() {
        var harness = ConsumerGroupHarness()
        let a = harness.join("a")
        let offset = CommittedOffset(offset: 5, commitTimestampMs: 1)
        let partition = TopicPartition(topic: "t", partition: 0)
        #expect(harness.state.commitOffsets(group: "g", memberId: "a", groupInstanceId: nil, generationId: a.memberEpoch + 1,
                                            offsets: [(partition, offset)], nowMs: 2).errors[partition] == .staleMemberEpoch)
        #expect(harness.state.commitOffsets(group: "g", memberId: "x", groupInstanceId: nil, generationId: a.memberEpoch,
                                            offsets: [(partition, offset)], nowMs: 2).errors[partition] == .unknownMemberId)
        #expect(harness.state.commitOffsets(group: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                            offsets: [(partition, offset)], nowMs: 2).errors[partition] == .unknownMemberId,
                "no commits without a member while the group has members")
        let good = harness.state.commitOffsets(group: "g", memberId: "a", groupInstanceId: nil, generationId: a.memberEpoch,
                                               offsets: [(partition, offset)], nowMs: 2)
        #expect(good.errors[partition] == ErrorCode.none && !good.actions.isEmpty)
        #expect(harness.state.fetchOffsets(group: "g", partitions: nil, member: ("a", a.memberEpoch + 3)).error == .staleMemberEpoch)
        #expect(harness.state.fetchOffsets(group: "g", partitions: nil, member: (nil, -1)).error == .none)
    }

    @Test("transactional offsets: anonymous producers commit, members with their epoch, stale epochs are ILLEGAL_GENERATION")
    func transactionalOffsets() {
        var harness = ConsumerGroupHarness()
        let a = harness.join("a")
        let partition = TopicPartition(topic: "t", partition: 0)
        let offset = CommittedOffset(offset: 3, commitTimestampMs: 1)
        func commit(_ member: String, _ epoch: Int32) -> ErrorCode? {
            harness.state.commitTransactionalOffsets(group: "g", producerId: 7, producerEpoch: 0, memberId: member,
                                                     generationId: epoch, groupInstanceId: nil, offsets: [(partition, offset)],
                                                     nowMs: 2).errors[partition]
        }
        #expect(commit("", -1) == ErrorCode.none)
        #expect(commit("a", a.memberEpoch) == ErrorCode.none)
        #expect(commit("a", a.memberEpoch + 1) == .illegalGeneration)
        #expect(commit("zz", a.memberEpoch) == .unknownMemberId)
    }

    @Test("deleting a consumer group: refused while it has members, then tombstones that reload to nothing")
    func deletion() throws {
        var harness = ConsumerGroupHarness()
        _ = harness.join("a")
        #expect(harness.state.deleteGroups(["g"], nowMs: harness.now).errors["g"] == .nonEmptyGroup)
        _ = harness.heartbeat(ConsumerHeartbeat(memberId: "a", memberEpoch: -1))
        let (errors, actions) = harness.state.deleteGroups(["g"], nowMs: harness.now)
        #expect(errors["g"] == ErrorCode.none)
        for case let .write(_, entries) in actions { harness.written += entries }
        #expect(harness.group == nil)
        var reloaded = GroupCoordinatorState(configuration: harness.state.configuration)
        for entry in harness.written { reloaded.replay(entry) }
        reloaded.finishLoading(nowMs: harness.now)
        #expect(reloaded.consumerGroups.isEmpty && reloaded.groups.isEmpty)
        #expect(reloaded.listGroups(statesFilter: []).groups.isEmpty)
    }

    @Test("the records reload to the same group: epochs, members, targets and assignments")
    func reload() throws {
        var harness = ConsumerGroupHarness()
        var epochs: [String: Int32] = [:]
        for member in ["a", "b", "c"] { epochs[member] = harness.join(member).memberEpoch }
        for member in ["a", "b", "c"] { epochs[member] = harness.beat(member, epoch: epochs[member]!, owned: []).memberEpoch }
        _ = harness.heartbeat(ConsumerHeartbeat(memberId: "c", memberEpoch: -1))
        // Through the bytes of `__consumer_offsets` and back.
        var reloaded = GroupCoordinatorState(configuration: harness.state.configuration)
        for entry in harness.written {
            guard case let .consumerGroup(record) = entry else { continue }
            let (key, value) = try OffsetsTopic.consumerGroupRecord(record)
            let decoded = try #require(try OffsetsTopic.decode(key: key, value: value))
            #expect(decoded == entry)
            reloaded.replay(decoded)
        }
        reloaded.finishLoading(nowMs: harness.now)
        let original = try #require(harness.group)
        let copy = try #require(reloaded.consumerGroups["g"])
        #expect(copy.groupEpoch == original.groupEpoch)
        #expect(copy.assignmentEpoch == original.assignmentEpoch)
        #expect(copy.members == original.members)
        #expect(copy.targetAssignment == original.targetAssignment)
        #expect(copy.subscriptionMetadata == original.subscriptionMetadata)
        #expect(copy.partitionEpochs == original.partitionEpochs)
    }

    @Test("a compacted log's leftover tombstone of a member already gone brings nothing back")
    func leftoverTombstone() {
        var state = GroupCoordinatorState(configuration: GroupConfiguration())
        state.replay(.consumerGroup(.groupEpoch(group: "g", 3)))
        state.replay(.consumerGroup(.memberMetadata(group: "g", memberId: "m", nil)))
        state.replay(.consumerGroup(.currentAssignment(group: "g", memberId: "m", nil)))
        state.finishLoading(nowMs: 0)
        #expect(state.consumerGroups["g"]?.members.isEmpty == true)
        #expect(state.consumerGroups["g"]?.state == .empty)
    }

    @Test("a live classic group refuses the consumer protocol; an empty one converts, and back")
    func classicInterplay() {
        var harness = ConsumerGroupHarness()
        let join = JoinRequest(waiter: 1, memberId: "", clientId: "c", clientHost: "h", sessionTimeoutMs: 10_000,
                               rebalanceTimeoutMs: 10_000, protocolType: "consumer",
                               protocols: [GroupProtocol(name: "range", metadata: ByteBuffer())], requiresKnownMemberId: false,
                               newMemberId: "classic-1")
        _ = harness.state.join(group: "g", join, nowMs: harness.now)
        #expect(harness.join("a").errorCode == .groupIdNotFound)
        // A consumer group with members refuses classic members.
        var other = ConsumerGroupHarness()
        _ = other.join("a")
        let refused = other.state.join(group: "g", join, nowMs: other.now)
        #expect(refused.contains { if case let .answerJoin(_, outcome) = $0 { outcome.errorCode == .inconsistentGroupProtocol } else { false } })
        // Emptied, it becomes classic again.
        _ = other.heartbeat(ConsumerHeartbeat(memberId: "a", memberEpoch: -1))
        _ = other.state.join(group: "g", join, nowMs: other.now)
        #expect(other.state.consumerGroups["g"] == nil && other.state.groups["g"] != nil)
    }

    @Test("regex subscriptions match whole names and pick up topics created later")
    func regex() {
        #expect(TopicRegex.matching("orders-.*", in: ["orders-1", "orders", "xorders-2", "__consumer_offsets"]) == ["orders-1"])
        #expect(TopicRegex.matching("^orders", in: ["orders", "orders-1"]) == ["orders"])
        #expect(TopicRegex.matching(".*", in: ["a", "__consumer_offsets", "__transaction_state"]) == ["a"])
        var harness = ConsumerGroupHarness()
        let joined = harness.heartbeat(ConsumerHeartbeat(memberId: "a", memberEpoch: 0, rebalanceTimeoutMs: 1,
                                                         subscribedTopicRegex: "r-.*", owned: [:]))
        #expect(joined.assignment == [:])
        let newTopic = KafkaUUID(mostSignificantBits: 9, leastSignificantBits: 9)
        harness.topics["r-1"] = SubscribedTopic(topicId: newTopic, name: "r-1", partitionCount: 2)
        let next = harness.beat("a", epoch: joined.memberEpoch, owned: [])
        #expect(next.assignment == [newTopic: [0, 1]])
    }
}
