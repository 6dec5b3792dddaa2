import KafkaProtocol
import NIOCore
import Testing
import VltavaStorage
@testable import VltavaCoordinator

@Suite("Transactional offsets in the coordinator state")
struct TransactionalOffsetsStateTests {
    let partition = TopicPartition(topic: "t", partition: 0)

    func loaded(retentionMs: Int64 = 60_000) -> GroupCoordinatorState {
        var configuration = GroupConfiguration()
        configuration.initialRebalanceDelayMs = 0
        configuration.offsetsRetentionMs = retentionMs
        var state = GroupCoordinatorState(configuration: configuration)
        state.finishLoading(nowMs: 0)
        return state
    }

    /// A transactional commit carried out as the coordinator does when its write succeeds, at `recordOffset`.
    @discardableResult
    func commitInTransaction(_ state: inout GroupCoordinatorState, _ offset: Int64, group: String = "g", producerId: Int64 = 7,
                             memberId: String = "", generationId: Int32 = -1, instanceId: String? = nil,
                             recordOffset: Int64 = 100) -> ErrorCode? {
        let (errors, actions) = state.commitTransactionalOffsets(
            group: group, producerId: producerId, producerEpoch: 0, memberId: memberId, generationId: generationId,
            groupInstanceId: instanceId, offsets: [(partition, CommittedOffset(offset: offset, commitTimestampMs: 0))], nowMs: 0)
        for case let .writeTransactional(_, producer, _, entries) in actions {
            state.writtenTransactional(entries, producerId: producer, firstOffset: recordOffset)
        }
        return errors[partition]
    }

    func commit(_ state: inout GroupCoordinatorState, _ offset: Int64, recordOffset: Int64, nowMs: Int64 = 0) {
        let (_, actions) = state.commitOffsets(group: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                               offsets: [(partition, CommittedOffset(offset: offset, commitTimestampMs: nowMs))],
                                               nowMs: nowMs)
        for case let .write(_, entries) in actions { state.written(entries, firstOffset: recordOffset) }
    }

    /// A group "g" with member "m" (static instance "i" when `instance`), its join completed.
    func groupWithMember(instance: Bool = false) -> (GroupCoordinatorState, generation: Int32) {
        var state = loaded()
        let join = JoinRequest(waiter: 1, memberId: "", groupInstanceId: instance ? "i" : nil, clientId: "c", clientHost: "h",
                               sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: "consumer",
                               protocols: [GroupProtocol(name: "range", metadata: ByteBuffer())], requiresKnownMemberId: false,
                               newMemberId: "m")
        _ = state.join(group: "g", join, nowMs: 0)
        _ = state.tick(nowMs: 1)
        return (state, state.groups["g"]?.generationId ?? -1)
    }

    @Test func writesATransactionalBatchOfTheProducer() {
        var state = loaded()
        let offset = CommittedOffset(offset: 3, commitTimestampMs: 0)
        let (errors, actions) = state.commitTransactionalOffsets(
            group: "g", producerId: 7, producerEpoch: 2, memberId: "", generationId: -1, groupInstanceId: nil,
            offsets: [(partition, offset)], nowMs: 0)
        #expect(errors == [partition: .none])
        #expect(actions == [.writeTransactional(group: "g", producerId: 7, producerEpoch: 2, [.offsetCommit(group: "g", partition, offset)])])
        #expect(state.groups["g"]?.state == .empty, "created empty, as Kafka does for a producer outside the group")
        #expect(state.pendingTransactionalOffsets.isEmpty, "pending only once written")
    }

    @Test func memberChecksOfKIP447() {
        var (state, generation) = groupWithMember()
        #expect(generation >= 1)
        #expect(commitInTransaction(&state, 1, memberId: "x", generationId: generation) == .unknownMemberId)
        #expect(commitInTransaction(&state, 1, memberId: "m", generationId: generation + 1) == .illegalGeneration)
        #expect(commitInTransaction(&state, 1, memberId: "m", generationId: generation, instanceId: "i") == .unknownMemberId)
        #expect(commitInTransaction(&state, 1, memberId: "m", generationId: generation) == ErrorCode.none)
        // Versions 0-2 carry no member: accepted even though the group has members.
        #expect(commitInTransaction(&state, 2) == ErrorCode.none)
    }

    @Test func staticMemberIsFencedByAnotherMemberId() {
        var (state, generation) = groupWithMember(instance: true)
        #expect(commitInTransaction(&state, 1, memberId: "other", generationId: generation, instanceId: "i") == .fencedInstanceId)
        #expect(commitInTransaction(&state, 1, memberId: "m", generationId: generation, instanceId: "i") == ErrorCode.none)
    }

    @Test func metadataAndTopicNamesAreChecked() {
        var state = loaded()
        let big = String(repeating: "x", count: 5_000)
        let (errors, actions) = state.commitTransactionalOffsets(
            group: "g", producerId: 7, producerEpoch: 0, memberId: "", generationId: -1, groupInstanceId: nil,
            offsets: [(partition, CommittedOffset(offset: 1, metadata: big, commitTimestampMs: 0))], nowMs: 0)
        #expect(errors == [partition: .offsetMetadataTooLarge] && actions.isEmpty)
        #expect(state.groups["g"] == nil)
        let (withoutProducer, nothing) = state.commitTransactionalOffsets(
            group: "g", producerId: -1, producerEpoch: 0, memberId: "", generationId: -1, groupInstanceId: nil,
            offsets: [(partition, CommittedOffset(offset: 1, commitTimestampMs: 0))], nowMs: 0)
        #expect(withoutProducer == [partition: .invalidRequest] && nothing.isEmpty)
        var loading = GroupCoordinatorState(configuration: GroupConfiguration())
        #expect(commitInTransaction(&loading, 1) == .coordinatorLoadInProgress)
    }

    @Test func theLaterRecordWinsWhenTheTransactionCommits() {
        var state = loaded()
        commit(&state, 5, recordOffset: 50)
        commitInTransaction(&state, 10, recordOffset: 100)
        commit(&state, 7, recordOffset: 150)
        state.completeTransaction(producerId: 7, commit: true)
        #expect(state.fetchOffsets(group: "g", partitions: nil).offsets[partition]?.offset == 7)
        commitInTransaction(&state, 20, recordOffset: 200)
        state.completeTransaction(producerId: 7, commit: true)
        #expect(state.fetchOffsets(group: "g", partitions: nil).offsets[partition]?.offset == 20)
    }

    @Test func replayedTombstoneDropsPendingOffsets() {
        var state = GroupCoordinatorState(configuration: GroupConfiguration())
        state.replay(.offsetCommit(group: "g", partition, CommittedOffset(offset: 10, commitTimestampMs: 0)), recordOffset: 1, producerId: 7)
        state.replay(.offsetCommit(group: "g", partition, nil), recordOffset: 2)
        state.completeTransaction(producerId: 7, commit: true)
        state.finishLoading(nowMs: 0)
        #expect(state.fetchOffsets(group: "g", partitions: [partition]).offsets.isEmpty)
        #expect(state.pendingTransactionalOffsets.isEmpty)
    }

    @Test func requireStableReportsOnlyPartitionsWithPendingOffsets() {
        var state = loaded()
        let other = TopicPartition(topic: "t", partition: 1)
        commit(&state, 5, recordOffset: 1)
        commitInTransaction(&state, 10, recordOffset: 2)
        let stable = state.fetchOffsets(group: "g", partitions: [partition, other], requireStable: true)
        #expect(stable.unstable == [partition])
        #expect(stable.offsets[partition] == nil)
        let plain = state.fetchOffsets(group: "g", partitions: [partition, other])
        #expect(plain.unstable.isEmpty && plain.offsets[partition]?.offset == 5)
        #expect(state.fetchOffsets(group: "other", partitions: [partition], requireStable: true).unstable.isEmpty)
    }

    @Test func expiryWaitsForOpenTransactions() {
        var state = loaded(retentionMs: 1_000)
        commit(&state, 5, recordOffset: 1)
        commitInTransaction(&state, 10, recordOffset: 2)
        #expect(state.expireOffsets(nowMs: 10_000).isEmpty, "neither the offset nor the group expires under an open transaction")
        #expect(state.groups["g"] != nil)
        state.completeTransaction(producerId: 7, commit: false)
        #expect(state.expireOffsets(nowMs: 10_000) == [.write(group: "g", [
            .offsetCommit(group: "g", partition, nil), .groupMetadata(group: "g", nil),
        ])])
        // A group whose only offsets are pending is not removed either.
        commitInTransaction(&state, 10, group: "h", recordOffset: 3)
        #expect(state.expireOffsets(nowMs: 20_000).isEmpty)
        #expect(state.groups["h"] != nil)
    }

    @Test func deletingAGroupDropsItsPendingOffsets() {
        var state = loaded()
        commitInTransaction(&state, 10)
        let (errors, actions) = state.deleteGroups(["g"], nowMs: 0)
        #expect(errors == ["g": .none])
        #expect(actions == [.write(group: "g", [.offsetCommit(group: "g", partition, nil), .groupMetadata(group: "g", nil)])])
        state.completeTransaction(producerId: 7, commit: true)
        #expect(state.groups["g"] == nil)
        #expect(state.fetchOffsets(group: "g", partitions: [partition]).offsets.isEmpty)
    }

    @Test func deletingAnOffsetDropsItsPendingOffset() {
        var state = loaded()
        commitInTransaction(&state, 10)
        let outcome = state.deleteOffsets(group: "g", partitions: [partition], subscribedTopics: nil)
        #expect(outcome.actions == [.write(group: "g", [.offsetCommit(group: "g", partition, nil)])])
        state.completeTransaction(producerId: 7, commit: true)
        #expect(state.fetchOffsets(group: "g", partitions: [partition]).offsets.isEmpty)
    }

    @Test func aFailedWriteKeepsTheGroupOfPendingOffsets() {
        var state = loaded()
        commitInTransaction(&state, 10)
        state.writeFailed(group: "g")
        #expect(state.groups["g"] != nil)
        var fresh = loaded()
        let (_, actions) = fresh.commitTransactionalOffsets(
            group: "g", producerId: 7, producerEpoch: 0, memberId: "", generationId: -1, groupInstanceId: nil,
            offsets: [(partition, CommittedOffset(offset: 1, commitTimestampMs: 0))], nowMs: 0)
        #expect(actions.count == 1)
        fresh.writeFailed(group: "g")
        #expect(fresh.groups["g"] == nil, "a group created for a commit that was not written goes away")
    }
}
