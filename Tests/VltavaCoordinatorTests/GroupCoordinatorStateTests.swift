import KafkaProtocol
import NIOCore
import Testing
import VltavaStorage
@testable import VltavaCoordinator

@Suite("Coordinator state and __consumer_offsets records")
struct GroupCoordinatorStateTests {
    func loaded(retentionMs: Int64 = 60_000) -> GroupCoordinatorState {
        var configuration = GroupConfiguration()
        configuration.initialRebalanceDelayMs = 0
        configuration.offsetsRetentionMs = retentionMs
        var state = GroupCoordinatorState(configuration: configuration)
        state.finishLoading(nowMs: 0)
        return state
    }

    let partition = TopicPartition(topic: "t", partition: 0)

    /// Commits and carries out the write as the coordinator does when it succeeds.
    @discardableResult
    func commit(_ state: inout GroupCoordinatorState, group: String = "g", _ offset: CommittedOffset, nowMs: Int64 = 0)
        -> [TopicPartition: ErrorCode] {
        let (errors, actions) = state.commitOffsets(group: group, memberId: "", groupInstanceId: nil, generationId: -1,
                                                    offsets: [(partition, offset)], nowMs: nowMs)
        for case let .write(_, entries) in actions { state.written(entries) }
        return errors
    }

    @Test func groupIdsThatCannotBeStoredAreInvalid() {
        var state = loaded()
        let long = String(repeating: "g", count: 32_768)
        #expect(commit(&state, group: long, CommittedOffset(offset: 1, commitTimestampMs: 0)) == [partition: .invalidGroupId])
        #expect(state.groups.isEmpty)
        #expect(state.fetchOffsets(group: long, partitions: nil).error == .invalidGroupId)
        #expect(state.heartbeat(group: long, memberId: "m", groupInstanceId: nil, generationId: 1, nowMs: 0) == .invalidGroupId)
        #expect(state.deleteGroups([long], nowMs: 0).errors == [long: .invalidGroupId])
        let fits = String(repeating: "g", count: 32_767)
        #expect(commit(&state, group: fits, CommittedOffset(offset: 1, commitTimestampMs: 0)) == [partition: .none])
        let record = try? OffsetsTopic.offsetCommitRecord(group: fits, partition, CommittedOffset(offset: 1, commitTimestampMs: 0))
        #expect(record != nil)
        #expect(throws: KafkaProtocolError.self) {
            try OffsetsTopic.offsetCommitRecord(group: long, partition, CommittedOffset(offset: 1, commitTimestampMs: 0))
        }
    }

    @Test func joinStringsThatCannotBeStoredAreRefused() {
        var state = loaded()
        let long = String(repeating: "i", count: 40_000)
        func join(instance: String? = nil, protocolType: String = "consumer", protocolName: String = "range") -> [CoordinatorAction] {
            state.join(group: "g", JoinRequest(
                waiter: 1, memberId: "", groupInstanceId: instance, clientId: "c", clientHost: "h", sessionTimeoutMs: 10_000,
                rebalanceTimeoutMs: 10_000, protocolType: protocolType, protocols: [GroupProtocol(name: protocolName, metadata: ByteBuffer())],
                requiresKnownMemberId: true, newMemberId: "m"), nowMs: 0)
        }
        #expect(join(instance: long) == [.answerJoin(1, JoinOutcome(errorCode: .invalidRequest, memberId: ""))])
        #expect(join(protocolType: long) == [.answerJoin(1, JoinOutcome(errorCode: .invalidRequest, memberId: ""))])
        #expect(join(protocolName: long) == [.answerJoin(1, JoinOutcome(errorCode: .invalidRequest, memberId: ""))])
        #expect(state.groups.isEmpty, "no group half-created")
    }

    @Test func failedWriteLeavesNoOffsetsAndNoGroup() {
        var state = loaded()
        let (errors, actions) = state.commitOffsets(group: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                                    offsets: [(partition, CommittedOffset(offset: 5, commitTimestampMs: 0))], nowMs: 0)
        #expect(errors == [partition: .none] && actions.count == 1)
        state.writeFailed(group: "g")
        #expect(state.groups["g"] == nil)
        #expect(state.fetchOffsets(group: "g", partitions: nil).offsets.isEmpty)
    }

    @Test func loadInProgress() {
        var state = GroupCoordinatorState(configuration: GroupConfiguration())
        let request = JoinRequest(waiter: 1, memberId: "", clientId: "c", clientHost: "h", sessionTimeoutMs: 10_000,
                                  rebalanceTimeoutMs: 10_000, protocolType: "consumer", protocols: [], requiresKnownMemberId: true,
                                  newMemberId: "m")
        #expect(state.join(group: "g", request, nowMs: 0) == [.answerJoin(1, JoinOutcome(errorCode: .coordinatorLoadInProgress, memberId: ""))])
        #expect(state.heartbeat(group: "g", memberId: "m", groupInstanceId: nil, generationId: 1, nowMs: 0) == .coordinatorLoadInProgress)
        #expect(state.fetchOffsets(group: "g", partitions: nil).error == .coordinatorLoadInProgress)
        #expect(state.listGroups(statesFilter: []).error == .coordinatorLoadInProgress)
    }

    @Test func simpleCommitCreatesGroupAndWritesRecord() {
        var state = loaded()
        let offset = CommittedOffset(offset: 42, metadata: "m", commitTimestampMs: 10)
        let (errors, actions) = state.commitOffsets(group: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                                    offsets: [(partition, offset)], nowMs: 10)
        #expect(errors == [partition: .none])
        #expect(actions == [.write(group: "g", [.offsetCommit(group: "g", partition, offset)])])
        #expect(state.fetchOffsets(group: "g", partitions: [partition]).offsets[partition] == nil, "stored only once written")
        state.written([.offsetCommit(group: "g", partition, offset)])
        #expect(state.fetchOffsets(group: "g", partitions: [partition]).offsets[partition]?.offset == 42)
        #expect(state.listGroups(statesFilter: ["empty"]).groups.map(\.groupId) == ["g"])
        #expect(state.listGroups(statesFilter: ["Stable"]).groups.isEmpty)
    }

    @Test func commitWithGenerationToUnknownGroup() {
        var state = loaded()
        let (errors, _) = state.commitOffsets(group: "g", memberId: "m", groupInstanceId: nil, generationId: 3,
                                              offsets: [(partition, CommittedOffset(offset: 1, commitTimestampMs: 0))], nowMs: 0)
        #expect(errors == [partition: .illegalGeneration])
    }

    @Test func metadataTooLarge() {
        var state = loaded()
        let big = String(repeating: "x", count: 5_000)
        let (errors, _) = state.commitOffsets(group: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                              offsets: [(partition, CommittedOffset(offset: 1, metadata: big, commitTimestampMs: 0))], nowMs: 0)
        #expect(errors == [partition: .offsetMetadataTooLarge])
    }

    @Test func deleteGroups() {
        var state = loaded()
        commit(&state, CommittedOffset(offset: 1, commitTimestampMs: 0))
        let join = JoinRequest(waiter: 1, memberId: "", clientId: "c", clientHost: "h", sessionTimeoutMs: 10_000,
                               rebalanceTimeoutMs: 10_000, protocolType: "consumer",
                               protocols: [GroupProtocol(name: "range", metadata: ByteBuffer())], requiresKnownMemberId: false,
                               newMemberId: "m")
        _ = state.join(group: "busy", join, nowMs: 0)
        let (errors, actions) = state.deleteGroups(["g", "busy", "missing"], nowMs: 0)
        #expect(errors == ["g": .none, "busy": .nonEmptyGroup, "missing": .groupIdNotFound])
        #expect(actions == [.write(group: "g", [.offsetCommit(group: "g", partition, nil), .groupMetadata(group: "g", nil)])])
        #expect(state.groups["g"] == nil)
    }

    @Test func offsetDelete() {
        var state = loaded()
        commit(&state, CommittedOffset(offset: 1, commitTimestampMs: 0))
        #expect(state.deleteOffsets(group: "missing", partitions: [partition], subscribedTopics: nil).error == .groupIdNotFound)
        let outcome = state.deleteOffsets(group: "g", partitions: [partition], subscribedTopics: nil)
        #expect(outcome.partitionErrors == [partition: .none])
        #expect(outcome.actions == [.write(group: "g", [.offsetCommit(group: "g", partition, nil)])])
    }

    @Test func expiryOfEmptyGroupOffsets() {
        var state = loaded(retentionMs: 1_000)
        commit(&state, CommittedOffset(offset: 1, commitTimestampMs: 100), nowMs: 100)
        #expect(state.expireOffsets(nowMs: 1_000).isEmpty)
        let actions = state.expireOffsets(nowMs: 1_100)
        #expect(actions == [.write(group: "g", [.offsetCommit(group: "g", partition, nil), .groupMetadata(group: "g", nil)])])
        #expect(state.groups["g"] == nil)
    }

    @Test func replayRebuildsGroupsAndOffsets() {
        var state = GroupCoordinatorState(configuration: GroupConfiguration())
        let value = GroupMetadataValue(protocolType: "consumer", generation: 4, protocol: "range", leader: nil,
                                       currentStateTimestamp: 5, members: [])
        state.replay(.offsetCommit(group: "a", partition, CommittedOffset(offset: 1, commitTimestampMs: 0)))
        state.replay(.offsetCommit(group: "a", partition, CommittedOffset(offset: 2, commitTimestampMs: 0)))
        state.replay(.groupMetadata(group: "b", value))
        state.replay(.offsetCommit(group: "c", partition, CommittedOffset(offset: 1, commitTimestampMs: 0)))
        state.replay(.offsetCommit(group: "c", partition, nil))
        state.finishLoading(nowMs: 10)
        #expect(state.fetchOffsets(group: "a", partitions: nil).offsets[partition]?.offset == 2)
        #expect(state.groups["b"]?.generationId == 4)
        #expect(state.groups["b"]?.state == .empty)
        #expect(state.groups["c"] == nil)
    }

    @Test func recordsUseKafkaSchemas() throws {
        let offset = CommittedOffset(offset: 7, leaderEpoch: 3, metadata: "meta", commitTimestampMs: 99)
        let (key, value) = try OffsetsTopic.offsetCommitRecord(group: "g", partition, offset)
        #expect(key.getInteger(at: key.readerIndex, as: Int16.self) == 1)
        #expect(value?.getInteger(at: value!.readerIndex, as: Int16.self) == 3)
        #expect(try OffsetsTopic.decode(key: key, value: value) == .offsetCommit(group: "g", partition, offset))
        let tombstone = try OffsetsTopic.groupMetadataRecord(group: "g", nil)
        #expect(tombstone.key.getInteger(at: 0, as: Int16.self) == 2)
        #expect(try OffsetsTopic.decode(key: tombstone.key, value: nil) == .groupMetadata(group: "g", nil))
    }

    @Test func partitionMatchesJavaHashCode() {
        // Java: "my-group".hashCode() == -1906497762; (-1906497762 & 0x7fffffff) % 50 == 36.
        #expect(OffsetsTopic.partition(for: "my-group", partitionCount: 50) == 36)
        #expect(OffsetsTopic.partition(for: "", partitionCount: 50) == 0)
    }
}
