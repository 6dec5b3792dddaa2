import KafkaProtocol
import NIOCore
import Testing
@testable import VltavaCoordinator

/// Builds requests and reads actions for the state-machine tests.
struct GroupHarness {
    var group: ClassicGroup
    var now: Int64 = 1_000
    var nextWaiter: ResponseWaiter = 1

    init(initialDelayMs: Int64 = 0) {
        var configuration = GroupConfiguration()
        configuration.initialRebalanceDelayMs = initialDelayMs
        group = ClassicGroup(groupId: "g", configuration: configuration, nowMs: 1_000)
    }

    static func protocols(_ names: String...) -> [GroupProtocol] {
        names.map { GroupProtocol(name: $0, metadata: ByteBuffer(string: "meta-\($0)")) }
    }

    mutating func joinRequest(_ memberId: String = "", instance: String? = nil, protocols: [GroupProtocol] = protocols("range"),
                              type: String = "consumer", version4: Bool = true, session: Int32 = 10_000,
                              rebalance: Int32 = 30_000, newId: String? = nil) -> JoinRequest {
        defer { nextWaiter += 1 }
        return JoinRequest(
            waiter: nextWaiter, memberId: memberId, groupInstanceId: instance, clientId: "client", clientHost: "/127.0.0.1",
            sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, protocolType: type, protocols: protocols,
            requiresKnownMemberId: version4, newMemberId: newId ?? "member-\(nextWaiter)")
    }

    mutating func join(_ request: JoinRequest) -> [GroupAction] {
        group.join(request, nowMs: now)
    }

    /// Joins a new dynamic member through the MEMBER_ID_REQUIRED round trip; returns its id and the actions.
    mutating func joinNew(protocols: [GroupProtocol] = protocols("range"), session: Int32 = 10_000) -> (String, [GroupAction]) {
        let first = join(joinRequest(protocols: protocols, session: session))
        guard case let .answerJoin(_, outcome) = first.first, outcome.errorCode == .memberIdRequired else {
            Issue.record("expected MEMBER_ID_REQUIRED, got \(first)")
            return ("", [])
        }
        return (outcome.memberId, join(joinRequest(outcome.memberId, protocols: protocols, session: session)))
    }

    mutating func sync(_ memberId: String, generation: Int32, assignments: [String: ByteBuffer] = [:]) -> [GroupAction] {
        defer { nextWaiter += 1 }
        return group.sync(SyncRequest(waiter: nextWaiter, memberId: memberId, generationId: generation, assignments: assignments), nowMs: now)
    }

    mutating func tick(advance: Int64) -> [GroupAction] {
        now += advance
        return group.tick(nowMs: now)
    }
}

func joins(_ actions: [GroupAction]) -> [JoinOutcome] {
    actions.compactMap { if case let .answerJoin(_, outcome) = $0 { return outcome } else { return nil } }
}

func syncs(_ actions: [GroupAction]) -> [SyncOutcome] {
    actions.compactMap { if case let .answerSync(_, outcome) = $0 { return outcome } else { return nil } }
}

@Suite("Classic group state machine")
struct ClassicGroupTests {
    @Test func newGroupIsEmpty() {
        let harness = GroupHarness()
        #expect(harness.group.state == .empty)
        #expect(harness.group.generationId == 0)
    }

    @Test func memberIdRequiredForVersion4AndLater() {
        var harness = GroupHarness()
        let actions = harness.join(harness.joinRequest(newId: "client-abc"))
        #expect(joins(actions) == [JoinOutcome(errorCode: .memberIdRequired, memberId: "client-abc")])
        #expect(harness.group.pendingMembers["client-abc"] != nil)
        #expect(harness.group.members.isEmpty)
    }

    @Test func versionBelow4JoinsDirectly() {
        var harness = GroupHarness()
        let actions = harness.join(harness.joinRequest(version4: false, newId: "m1"))
        let outcome = joins(actions)
        #expect(outcome.count == 1)
        #expect(outcome[0].errorCode == .none)
        #expect(outcome[0].memberId == "m1")
        #expect(outcome[0].leader == "m1")
        #expect(outcome[0].generationId == 1)
        #expect(outcome[0].members.map(\.memberId) == ["m1"])
        #expect(harness.group.state == .completingRebalance)
    }

    @Test func singleMemberRebalanceToStable() {
        var harness = GroupHarness()
        let (member, actions) = harness.joinNew()
        let joined = joins(actions)
        #expect(joined.count == 1)
        #expect(joined[0].protocolName == "range")
        #expect(joined[0].members.first?.metadata == ByteBuffer(string: "meta-range"))
        #expect(harness.group.state == .completingRebalance)
        let synced = harness.sync(member, generation: 1, assignments: [member: ByteBuffer(string: "all")])
        #expect(synced.contains(.persistMetadata))
        #expect(syncs(synced).map(\.assignment) == [ByteBuffer(string: "all")])
        #expect(harness.group.state == .stable)
    }

    @Test func initialDelayWaitsForMoreMembers() {
        var harness = GroupHarness(initialDelayMs: 3_000)
        let (first, firstActions) = harness.joinNew()
        #expect(joins(firstActions).isEmpty)
        #expect(harness.group.state == .preparingRebalance)
        harness.now += 1_000
        let (second, secondActions) = harness.joinNew()
        #expect(joins(secondActions).isEmpty)
        #expect(joins(harness.tick(advance: 2_500)).isEmpty, "the delay restarts when a member joins")
        let completed = joins(harness.tick(advance: 600))
        #expect(completed.count == 2)
        #expect(Set(completed.map(\.memberId)) == [first, second])
        #expect(completed.allSatisfy { $0.generationId == 1 })
        #expect(completed.first { $0.memberId == first }?.members.count == 2, "the leader sees every member")
        #expect(completed.first { $0.memberId == second }?.members.isEmpty == true)
    }

    @Test func secondMemberTriggersRebalanceOfStableGroup() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew()
        _ = harness.sync(first, generation: 1, assignments: [first: ByteBuffer(string: "a")])
        let (second, actions) = harness.joinNew()
        #expect(joins(actions).isEmpty)
        #expect(harness.group.state == .preparingRebalance)
        #expect(harness.group.heartbeat(memberId: first, groupInstanceId: nil, generationId: 1, nowMs: harness.now) == .rebalanceInProgress)
        let rejoined = joins(harness.join(harness.joinRequest(first)))
        #expect(rejoined.count == 2)
        #expect(rejoined.allSatisfy { $0.generationId == 2 && $0.leader == first })
        #expect(harness.group.state == .completingRebalance)
        let followerSync = harness.sync(second, generation: 2)
        #expect(syncs(followerSync).isEmpty, "a follower waits for the leader")
        let leaderSync = harness.sync(first, generation: 2, assignments: [first: ByteBuffer(string: "a"), second: ByteBuffer(string: "b")])
        #expect(Set(syncs(leaderSync).map(\.assignment)) == [ByteBuffer(string: "a"), ByteBuffer(string: "b")])
        #expect(harness.group.state == .stable)
    }

    @Test func protocolSelectionAmongCommonProtocols() {
        var harness = GroupHarness()
        _ = harness.join(harness.joinRequest(protocols: GroupHarness.protocols("roundrobin", "range"), version4: false, newId: "a"))
        _ = harness.group.sync(SyncRequest(waiter: 99, memberId: "a", generationId: 1, assignments: [:]), nowMs: harness.now)
        _ = harness.join(harness.joinRequest(protocols: GroupHarness.protocols("range", "sticky"), version4: false, newId: "b"))
        let outcome = joins(harness.join(harness.joinRequest("a", protocols: GroupHarness.protocols("roundrobin", "range"))))
        #expect(outcome.allSatisfy { $0.protocolName == "range" })
    }

    @Test func inconsistentGroupProtocol() {
        var harness = GroupHarness()
        _ = harness.joinNew(protocols: GroupHarness.protocols("range"))
        let noCommon = harness.join(harness.joinRequest(protocols: GroupHarness.protocols("roundrobin")))
        #expect(joins(noCommon).map(\.errorCode) == [.inconsistentGroupProtocol])
        let otherType = harness.join(harness.joinRequest(type: "connect"))
        #expect(joins(otherType).map(\.errorCode) == [.inconsistentGroupProtocol])
        let empty = GroupHarness()
        var fresh = empty
        #expect(joins(fresh.join(fresh.joinRequest(protocols: [])).map { $0 }).map(\.errorCode) == [.inconsistentGroupProtocol])
    }

    @Test func invalidSessionTimeout() {
        var harness = GroupHarness()
        #expect(joins(harness.join(harness.joinRequest(session: 1_000))).map(\.errorCode) == [.invalidSessionTimeout])
    }

    @Test func unknownMemberId() {
        var harness = GroupHarness()
        _ = harness.joinNew()
        #expect(joins(harness.join(harness.joinRequest("nobody"))).map(\.errorCode) == [.unknownMemberId])
        #expect(syncs(harness.sync("nobody", generation: 1)).map(\.errorCode) == [.unknownMemberId])
        #expect(harness.group.heartbeat(memberId: "nobody", groupInstanceId: nil, generationId: 1, nowMs: harness.now) == .unknownMemberId)
        #expect(harness.group.leave([LeavingMember(memberId: "nobody")], nowMs: harness.now).errors == [.unknownMemberId])
    }

    @Test func illegalGeneration() {
        var harness = GroupHarness()
        let (member, _) = harness.joinNew()
        #expect(syncs(harness.sync(member, generation: 7)).map(\.errorCode) == [.illegalGeneration])
        #expect(harness.group.heartbeat(memberId: member, groupInstanceId: nil, generationId: 7, nowMs: harness.now) == .illegalGeneration)
        #expect(harness.group.validateOffsetCommit(memberId: member, groupInstanceId: nil, generationId: 7) == .illegalGeneration)
    }

    @Test func syncDuringPreparingRebalance() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew()
        _ = harness.sync(first, generation: 1, assignments: [:])
        _ = harness.joinNew()
        #expect(syncs(harness.sync(first, generation: 1)).map(\.errorCode) == [.rebalanceInProgress])
    }

    @Test func syncProtocolChecks() {
        var harness = GroupHarness()
        let (member, _) = harness.joinNew()
        let actions = harness.group.sync(SyncRequest(waiter: 50, memberId: member, generationId: 1, protocolType: "consumer",
                                                     protocolName: "roundrobin"), nowMs: harness.now)
        #expect(syncs(actions).map(\.errorCode) == [.inconsistentGroupProtocol])
    }

    @Test func rejoinDuringCompletingRebalanceFailsWaitingSyncs() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew()
        _ = harness.sync(first, generation: 1, assignments: [:])
        let (second, _) = harness.joinNew()
        _ = harness.join(harness.joinRequest(first))
        #expect(harness.group.state == .completingRebalance)
        #expect(syncs(harness.sync(second, generation: 2)).isEmpty)
        let actions = harness.join(harness.joinRequest(second, protocols: GroupHarness.protocols("range", "roundrobin")))
        #expect(syncs(actions).map(\.errorCode) == [.rebalanceInProgress])
        #expect(harness.group.state == .preparingRebalance)
    }

    @Test func sessionTimeoutEvictsSilentMember() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew(session: 6_000)
        _ = harness.sync(first, generation: 1, assignments: [:])
        let (second, _) = harness.joinNew(session: 6_000)
        _ = harness.join(harness.joinRequest(first, session: 6_000))
        _ = harness.sync(second, generation: 2)
        _ = harness.sync(first, generation: 2, assignments: [:])
        #expect(harness.group.state == .stable)
        harness.now += 4_000
        #expect(harness.group.heartbeat(memberId: first, groupInstanceId: nil, generationId: 2, nowMs: harness.now) == .none)
        _ = harness.tick(advance: 3_000)
        #expect(harness.group.member(second) == nil)
        #expect(harness.group.state == .preparingRebalance)
        let outcome = joins(harness.join(harness.joinRequest(first, session: 6_000)))
        #expect(outcome.map(\.generationId) == [3])
        #expect(outcome.first?.members.map(\.memberId) == [first])
    }

    @Test func pendingMemberExpires() {
        var harness = GroupHarness()
        _ = harness.join(harness.joinRequest(session: 6_000, newId: "p"))
        _ = harness.tick(advance: 6_001)
        #expect(harness.group.pendingMembers.isEmpty)
    }

    @Test func rebalanceTimeoutRemovesMembersThatDidNotRejoin() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew(session: 60_000)
        _ = harness.sync(first, generation: 1, assignments: [:])
        let (second, _) = harness.joinNew(session: 60_000)
        #expect(harness.group.state == .preparingRebalance)
        let actions = harness.tick(advance: 30_001)
        #expect(joins(actions).map(\.memberId) == [second])
        #expect(harness.group.members.map(\.memberId) == [second])
        #expect(harness.group.leaderId == second)
    }

    @Test func leaveRebalancesAtOnce() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew()
        _ = harness.sync(first, generation: 1, assignments: [:])
        let (second, _) = harness.joinNew()
        _ = harness.join(harness.joinRequest(first))
        _ = harness.sync(second, generation: 2)
        _ = harness.sync(first, generation: 2, assignments: [:])
        let (errors, _) = harness.group.leave([LeavingMember(memberId: second)], nowMs: harness.now)
        #expect(errors == [.none])
        #expect(harness.group.state == .preparingRebalance)
        #expect(joins(harness.join(harness.joinRequest(first))).map(\.generationId) == [3])
    }

    @Test func lastLeaveEmptiesGroup() {
        var harness = GroupHarness()
        let (first, _) = harness.joinNew()
        _ = harness.sync(first, generation: 1, assignments: [:])
        let (_, actions) = harness.group.leave([LeavingMember(memberId: first)], nowMs: harness.now)
        #expect(actions.contains(.persistMetadata))
        #expect(harness.group.state == .empty)
        #expect(harness.group.generationId == 2)
        #expect(harness.group.heartbeat(memberId: first, groupInstanceId: nil, generationId: 2, nowMs: harness.now) == .unknownMemberId)
    }

    @Test func batchedLeave() {
        var harness = GroupHarness()
        _ = harness.join(harness.joinRequest(instance: "i1", version4: false, newId: "a"))
        _ = harness.join(harness.joinRequest(instance: "i2", version4: false, newId: "b"))
        let (errors, _) = harness.group.leave([
            LeavingMember(memberId: "", groupInstanceId: "i1"),
            LeavingMember(memberId: "wrong", groupInstanceId: "i2"),
            LeavingMember(memberId: "", groupInstanceId: "i3"),
        ], nowMs: harness.now)
        #expect(errors == [.none, .fencedInstanceId, .unknownMemberId])
        #expect(harness.group.members.map(\.memberId) == ["b"])
    }

    @Test func staticMemberRejoinsStableGroupWithoutRebalance() {
        var harness = GroupHarness()
        _ = harness.join(harness.joinRequest(instance: "static-1", version4: true, newId: "old-a"))
        _ = harness.join(harness.joinRequest(version4: false, newId: "b"))
        _ = harness.join(harness.joinRequest("old-a", instance: "static-1"))
        _ = harness.sync("b", generation: 2)
        _ = harness.sync("old-a", generation: 2, assignments: ["old-a": ByteBuffer(string: "A"), "b": ByteBuffer(string: "B")])
        #expect(harness.group.state == .stable)
        let actions = harness.join(harness.joinRequest(instance: "static-1", newId: "new-a"))
        let outcome = joins(actions)
        #expect(outcome.map(\.errorCode) == [.none])
        #expect(outcome.first?.generationId == 2)
        #expect(outcome.first?.memberId == "new-a")
        #expect(harness.group.state == .stable)
        #expect(syncs(harness.sync("new-a", generation: 2)).map(\.assignment) == [ByteBuffer(string: "A")])
        #expect(harness.group.heartbeat(memberId: "b", groupInstanceId: nil, generationId: 2, nowMs: harness.now) == .none)
    }

    @Test func fencedInstanceId() {
        var harness = GroupHarness()
        _ = harness.join(harness.joinRequest(instance: "s", version4: false, newId: "old"))
        _ = harness.sync("old", generation: 1, assignments: [:])
        _ = harness.join(harness.joinRequest(instance: "s", newId: "new"))
        #expect(harness.group.heartbeat(memberId: "old", groupInstanceId: "s", generationId: 1, nowMs: harness.now) == .fencedInstanceId)
        #expect(joins(harness.join(harness.joinRequest("old", instance: "s"))).map(\.errorCode) == [.fencedInstanceId])
        #expect(syncs(harness.group.sync(SyncRequest(waiter: 77, memberId: "old", groupInstanceId: "s", generationId: 1), nowMs: harness.now))
            .map(\.errorCode) == [.fencedInstanceId])
        #expect(harness.group.validateOffsetCommit(memberId: "old", groupInstanceId: "s", generationId: 1) == .fencedInstanceId)
    }

    @Test func offsetCommitRules() {
        var harness = GroupHarness()
        #expect(harness.group.validateOffsetCommit(memberId: "", groupInstanceId: nil, generationId: -1) == .none)
        let (member, _) = harness.joinNew()
        #expect(harness.group.validateOffsetCommit(memberId: "", groupInstanceId: nil, generationId: -1) == .unknownMemberId)
        #expect(harness.group.validateOffsetCommit(memberId: member, groupInstanceId: nil, generationId: 1) == .rebalanceInProgress)
        _ = harness.sync(member, generation: 1, assignments: [:])
        #expect(harness.group.validateOffsetCommit(memberId: member, groupInstanceId: nil, generationId: 1) == .none)
    }

    @Test func metadataRecordRoundTrip() {
        var harness = GroupHarness()
        let (member, _) = harness.joinNew()
        _ = harness.sync(member, generation: 1, assignments: [member: ByteBuffer(string: "x")])
        let value = harness.group.metadataValue()
        #expect(value.generation == 1)
        #expect(value.protocol == "range")
        #expect(value.members.first?.assignment == ByteBuffer(string: "x"))
        let restored = ClassicGroup(groupId: "g", configuration: GroupConfiguration(), restoring: value, nowMs: 5_000)
        #expect(restored.state == .stable)
        #expect(restored.generationId == 1)
        #expect(restored.leaderId == member)
        var copy = restored
        #expect(copy.heartbeat(memberId: member, groupInstanceId: nil, generationId: 1, nowMs: 5_000) == .none)
    }
}
