import KafkaProtocol
import NIOCore
import Testing
import VltavaStorage
@testable import VltavaCoordinator

/// Drives `TransactionCoordinatorState` as the coordinator would, completing every write it asks for.
struct TransactionHarness {
    var state: TransactionCoordinatorState
    var now: Int64 = 1_000
    var nextProducerId: Int64 = 100

    init(configure: (inout TransactionConfiguration) -> Void = { _ in }) {
        var configuration = TransactionConfiguration()
        configure(&configuration)
        state = TransactionCoordinatorState(configuration: configuration)
        _ = state.finishLoading()
    }

    static let tp0 = TopicPartition(topic: "t", partition: 0)
    static let tp1 = TopicPartition(topic: "t", partition: 1)

    /// Carries out a decision the way the coordinator does when every write succeeds; returns the answer and the
    /// markers that were written on the way.
    mutating func complete(_ decision: TransactionDecision) -> (Result<TransactionMetadata, TransactionError>, [TransactionMarkers]) {
        switch decision {
        case let .answer(result):
            return (result, [])
        case let .write(target, reply):
            let markers = carryOut([.write(target)])
            return (reply == .concurrentTransactions ? .failure(.concurrentTransactions) : .success(target), markers)
        }
    }

    mutating func carryOut(_ actions: [TransactionAction]) -> [TransactionMarkers] {
        var markers: [TransactionMarkers] = []
        var queue = actions
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case let .write(target):
                queue += state.written(target)
            case let .writeMarkers(written):
                markers.append(written)
                queue += state.markersWritten(transactionalId: written.transactionalId, nowMs: now)
            }
        }
        return markers
    }

    mutating func initProducer(_ id: String = "tx", timeoutMs: Int32 = 60_000, expected: (Int64, Int16)? = nil)
        -> Result<TransactionMetadata, TransactionError> {
        let decision = state.initProducerId(transactionalId: id, timeoutMs: timeoutMs, expected: expected.map { (producerId: $0.0, epoch: $0.1) },
                                            nowMs: now, newProducerId: { defer { nextProducerId += 1 }; return nextProducerId })
        return complete(decision).0
    }

    mutating func add(_ producer: TransactionMetadata, _ partitions: Set<TopicPartition>, id: String = "tx") -> TransactionError? {
        let decision = state.addPartitions(transactionalId: id, producerId: producer.producerId, producerEpoch: producer.producerEpoch,
                                           partitions: partitions, nowMs: now)
        if case let .failure(error) = complete(decision).0 { return error }
        return nil
    }

    mutating func end(_ producer: TransactionMetadata, commit: Bool, id: String = "tx") -> (TransactionError?, [TransactionMarkers]) {
        let decision = state.endTransaction(transactionalId: id, producerId: producer.producerId, producerEpoch: producer.producerEpoch,
                                            commit: commit, nowMs: now)
        let (result, markers) = complete(decision)
        if case let .failure(error) = result { return (error, markers) }
        return (nil, markers)
    }
}

extension Result {
    var value: Success? { if case let .success(value) = self { return value } else { return nil } }
    var error: Failure? { if case let .failure(error) = self { return error } else { return nil } }
}

@Suite("Transaction coordinator state")
struct TransactionCoordinatorStateTests {
    @Test func firstInitGivesANewProducerWithEpochZeroAndBumpsOnEachInit() throws {
        var harness = TransactionHarness()
        let first = try #require(harness.initProducer().value)
        #expect((first.producerId, first.producerEpoch, first.state) == (100, 0, .empty))
        let second = try #require(harness.initProducer().value)
        #expect((second.producerId, second.producerEpoch) == (100, 1), "same id, epoch bumped: the old producer is fenced")
        #expect(harness.state.metadata("tx")?.producerEpoch == 1)
    }

    @Test func timeoutsAboveTheMaximumAndEmptyIdsAreRefused() {
        var harness = TransactionHarness { $0.maxTimeoutMs = 10_000 }
        #expect(harness.initProducer(timeoutMs: 10_001).error == .invalidTransactionTimeout)
        #expect(harness.initProducer(timeoutMs: 0).error == .invalidTransactionTimeout)
        #expect(harness.initProducer("", timeoutMs: 1000).error == .invalidRequest)
        #expect(harness.state.entries.isEmpty, "nothing is created for a refused request")
    }

    @Test func requestsWhileLoadingAreRefused() {
        var state = TransactionCoordinatorState(configuration: TransactionConfiguration())
        let decision = state.initProducerId(transactionalId: "tx", timeoutMs: 1000, expected: nil, nowMs: 0, newProducerId: { 1 })
        #expect(decision == .answer(.failure(.coordinatorLoadInProgress)))
        #expect(state.verify(producerId: 1, producerEpoch: 0, partition: TransactionHarness.tp0) == .coordinatorLoadInProgress,
                "a transactional produce during the load is told to retry, not that its transaction is invalid")
    }

    @Test func commitWritesCommitMarkersToEveryPartitionAndCompletes() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        #expect(harness.add(producer, [TransactionHarness.tp0]) == nil)
        #expect(harness.state.metadata("tx")?.state == .ongoing)
        #expect(harness.state.metadata("tx")?.startTimestampMs == 1_000)
        harness.now = 2_000
        #expect(harness.add(producer, [TransactionHarness.tp1]) == nil)
        #expect(harness.state.metadata("tx")?.startTimestampMs == 1_000, "the transaction started with its first partition")
        let (error, markers) = harness.end(producer, commit: true)
        #expect(error == nil)
        #expect(markers == [TransactionMarkers(transactionalId: "tx", producerId: 100, producerEpoch: 0, commit: true,
                                               partitions: [TransactionHarness.tp0, TransactionHarness.tp1])])
        let done = try #require(harness.state.metadata("tx"))
        #expect(done.state == .completeCommit)
        #expect(done.partitions.isEmpty)
        #expect(harness.end(producer, commit: true).0 == nil, "a retried commit of a committed transaction succeeds")
        #expect(harness.end(producer, commit: false).0 == .invalidTxnState)
    }

    @Test func abortWritesAbortMarkers() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        _ = harness.add(producer, [TransactionHarness.tp0])
        let (error, markers) = harness.end(producer, commit: false)
        #expect(error == nil)
        #expect(markers.map(\.commit) == [false])
        #expect(harness.state.metadata("tx")?.state == .completeAbort)
        #expect(harness.end(producer, commit: true).0 == .invalidTxnState)
    }

    @Test func endWithoutATransactionIsAnInvalidState() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        #expect(harness.end(producer, commit: true).0 == .invalidTxnState)
    }

    @Test func wrongProducerIdOrEpochIsRefused() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        var stranger = producer
        stranger.producerId = 7
        #expect(harness.add(stranger, [TransactionHarness.tp0]) == .invalidProducerIdMapping)
        #expect(harness.add(producer, [TransactionHarness.tp0], id: "unknown") == .invalidProducerIdMapping)
        var old = producer
        old.producerEpoch = -5
        #expect(harness.add(old, [TransactionHarness.tp0]) == .producerFenced)
        #expect(harness.end(old, commit: true).0 == .producerFenced)
    }

    @Test func aNewProducerFencesAnOngoingTransactionWhichIsAborted() throws {
        var harness = TransactionHarness()
        let first = try #require(harness.initProducer().value)
        _ = harness.add(first, [TransactionHarness.tp0])
        // The new producer's InitProducerId aborts the old transaction with a bumped epoch and asks it to retry.
        let decision = harness.state.initProducerId(transactionalId: "tx", timeoutMs: 60_000, expected: nil, nowMs: harness.now,
                                                    newProducerId: { 999 })
        guard case let .write(fence, reply) = decision else {
            Issue.record("expected a fence write, got \(decision)")
            return
        }
        #expect(reply == .concurrentTransactions)
        #expect((fence.state, fence.producerEpoch) == (.prepareAbort, 1))
        // While the abort is being written, everything else about the id waits.
        #expect(harness.add(first, [TransactionHarness.tp1]) == .producerFenced || harness.add(first, [TransactionHarness.tp1]) == .concurrentTransactions)
        #expect(harness.initProducer().error == .concurrentTransactions)
        let markers = harness.carryOut([.write(fence)])
        #expect(markers.map { ($0.commit, $0.producerEpoch) }.elementsEqual([(false, Int16(1))], by: ==),
                "aborted with the bumped epoch, which fences the old producer in the partitions")
        #expect(harness.state.metadata("tx")?.state == .completeAbort)
        let second = try #require(harness.initProducer().value)
        #expect((second.producerId, second.producerEpoch) == (100, 2), "the retry gets the next epoch")
        #expect(harness.end(first, commit: true).0 == .producerFenced, "the old producer cannot commit")
    }

    @Test func concurrentRequestsDuringAWriteGetConcurrentTransactions() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        let decision = harness.state.addPartitions(transactionalId: "tx", producerId: producer.producerId,
                                                   producerEpoch: producer.producerEpoch, partitions: [TransactionHarness.tp0], nowMs: 0)
        guard case let .write(target, _) = decision else {
            Issue.record("expected a write")
            return
        }
        #expect(harness.end(producer, commit: true).0 == .concurrentTransactions)
        #expect(harness.add(producer, [TransactionHarness.tp1]) == .concurrentTransactions)
        _ = harness.state.written(target)
        #expect(harness.add(producer, [TransactionHarness.tp0]) == nil, "partitions already in the transaction: nothing to write")
    }

    @Test func aFailedWriteChangesNothing() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        let decision = harness.state.addPartitions(transactionalId: "tx", producerId: producer.producerId,
                                                   producerEpoch: producer.producerEpoch, partitions: [TransactionHarness.tp0], nowMs: 0)
        guard case let .write(target, _) = decision else {
            Issue.record("expected a write")
            return
        }
        harness.state.writeFailed(target)
        #expect(harness.state.metadata("tx")?.state == .empty)
        #expect(harness.state.entries["tx"]?.pending == nil)
        // A fresh id whose first write fails is forgotten.
        let fresh = harness.state.initProducerId(transactionalId: "new", timeoutMs: 1000, expected: nil, nowMs: 0, newProducerId: { 5 })
        guard case let .write(first, _) = fresh else {
            Issue.record("expected a write")
            return
        }
        harness.state.writeFailed(first)
        #expect(harness.state.metadata("new") == nil)
        #expect(harness.state.metadata(producerId: 5) == nil)
    }

    @Test func failedMarkersAreRetriedByTheTimer() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        _ = harness.add(producer, [TransactionHarness.tp0])
        let decision = harness.state.endTransaction(transactionalId: "tx", producerId: producer.producerId,
                                                    producerEpoch: producer.producerEpoch, commit: true, nowMs: 0)
        guard case let .write(prepare, _) = decision else {
            Issue.record("expected a write")
            return
        }
        #expect(harness.state.written(prepare).count == 1, "markers asked for")
        harness.state.markersFailed(transactionalId: "tx")
        #expect(harness.state.metadata("tx")?.state == .prepareCommit)
        let retried = harness.state.expire(nowMs: 0, expireIds: false)
        #expect(retried.count == 1)
        #expect(harness.state.expire(nowMs: 0, expireIds: false).isEmpty, "not asked twice while being written")
        _ = harness.carryOut(retried)
        #expect(harness.state.metadata("tx")?.state == .completeCommit)
    }

    @Test func timedOutTransactionsAreAbortedAndTheirProducerFenced() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer(timeoutMs: 2_000).value)
        _ = harness.add(producer, [TransactionHarness.tp0])
        #expect(harness.state.expire(nowMs: 3_000, expireIds: false).isEmpty, "started at 1000, times out after 3000")
        let actions = harness.state.expire(nowMs: 3_001, expireIds: false)
        #expect(actions.count == 1)
        let markers = harness.carryOut(actions)
        #expect(markers.map(\.commit) == [false])
        #expect(markers.first?.producerEpoch == 1)
        #expect(harness.state.metadata("tx")?.state == .completeAbort)
        #expect(harness.add(producer, [TransactionHarness.tp0]) == .producerFenced, "the producer finds itself fenced")
    }

    @Test func idleIdsExpire() throws {
        var harness = TransactionHarness { $0.idExpirationMs = 5_000 }
        _ = try #require(harness.initProducer().value)
        #expect(harness.state.expire(nowMs: 5_999, expireIds: true).isEmpty)
        #expect(harness.state.expire(nowMs: 6_000, expireIds: false).isEmpty, "only when asked to expire ids")
        let actions = harness.state.expire(nowMs: 6_000, expireIds: true)
        guard case let .write(dead)? = actions.first else {
            Issue.record("expected a write")
            return
        }
        #expect(dead.state == .dead)
        _ = harness.state.written(dead)
        #expect(harness.state.metadata("tx") == nil)
        #expect(harness.state.metadata(producerId: 100) == nil)
    }

    @Test func produceVerificationNeedsTheOngoingTransactionToHoldThePartition() throws {
        var harness = TransactionHarness()
        let producer = try #require(harness.initProducer().value)
        #expect(harness.state.verify(producerId: 100, producerEpoch: 0, partition: TransactionHarness.tp0) == .invalidTxnState)
        _ = harness.add(producer, [TransactionHarness.tp0])
        #expect(harness.state.verify(producerId: 100, producerEpoch: 0, partition: TransactionHarness.tp0) == nil)
        #expect(harness.state.verify(producerId: 100, producerEpoch: 0, partition: TransactionHarness.tp1) == .invalidTxnState)
        #expect(harness.state.verify(producerId: 100, producerEpoch: -1, partition: TransactionHarness.tp0) == .producerFenced)
        #expect(harness.state.verify(producerId: 555, producerEpoch: 0, partition: TransactionHarness.tp0) == .invalidProducerIdMapping)
    }

    @Test func exhaustedEpochRotatesTheProducerId() throws {
        var harness = TransactionHarness()
        _ = harness.initProducer()
        var metadata = try #require(harness.state.metadata("tx"))
        metadata.producerEpoch = Int16.max - 1
        harness.state.replay(transactionalId: "tx", metadata)
        let rotated = try #require(harness.initProducer().value)
        #expect((rotated.producerId, rotated.producerEpoch, rotated.lastProducerId) == (101, 0, 100))
        #expect(harness.state.metadata(producerId: 100) == nil)
        #expect(harness.state.metadata(producerId: 101)?.transactionalId == "tx")
    }

    @Test func aRetriedInitWithTheLastEpochGetsTheSameAnswer() throws {
        var harness = TransactionHarness()
        let first = try #require(harness.initProducer().value)
        let bumped = try #require(harness.initProducer(expected: (first.producerId, first.producerEpoch)).value)
        #expect(bumped.producerEpoch == 1)
        // The client did not hear the answer and asks again with epoch 0: the same epoch 1 comes back.
        let retried = try #require(harness.initProducer(expected: (first.producerId, first.producerEpoch)).value)
        #expect(retried.producerEpoch == 1)
        #expect(harness.initProducer(expected: (first.producerId, 42)).error == .producerFenced)
        #expect(harness.initProducer(expected: (777, 1)).error == .producerFenced)
    }

    @Test func restartFinishesTransactionsHalfWayThroughTheirMarkers() throws {
        var state = TransactionCoordinatorState(configuration: TransactionConfiguration())
        let preparing = TransactionMetadata(transactionalId: "a", producerId: 1, producerEpoch: 3, timeoutMs: 1000,
                                            state: .prepareCommit, partitions: [TransactionHarness.tp0], startTimestampMs: 5,
                                            lastUpdateTimestampMs: 6)
        let ongoing = TransactionMetadata(transactionalId: "b", producerId: 2, producerEpoch: 0, timeoutMs: 1000,
                                          state: .ongoing, partitions: [TransactionHarness.tp1], startTimestampMs: 5,
                                          lastUpdateTimestampMs: 6)
        state.replay(transactionalId: "a", preparing)
        state.replay(transactionalId: "b", ongoing)
        var other = ongoing
        other.transactionalId = "c"
        other.producerId = 3
        state.replay(transactionalId: "c", other)
        state.replay(transactionalId: "c", nil)
        let actions = state.finishLoading()
        #expect(actions == [.writeMarkers(TransactionMarkers(transactionalId: "a", producerId: 1, producerEpoch: 3, commit: true,
                                                             partitions: [TransactionHarness.tp0]))])
        #expect(state.metadata("c") == nil, "a tombstone removes the id")
        #expect(state.metadata(producerId: 3) == nil)
        #expect(state.metadata(producerId: 2)?.transactionalId == "b")
    }

    @Test func listFiltersByStateProducerAndDuration() throws {
        var harness = TransactionHarness()
        let a = try #require(harness.initProducer("a").value)
        _ = try #require(harness.initProducer("b").value)
        _ = harness.add(a, [TransactionHarness.tp0], id: "a")
        #expect(harness.state.list(states: [], producerIds: [], minimumDurationMs: -1, nowMs: 2_000).map(\.transactionalId) == ["a", "b"])
        #expect(harness.state.list(states: [.ongoing], producerIds: [], minimumDurationMs: -1, nowMs: 2_000).map(\.transactionalId) == ["a"])
        #expect(harness.state.list(states: [], producerIds: [101], minimumDurationMs: -1, nowMs: 2_000).map(\.transactionalId) == ["b"])
        #expect(harness.state.list(states: [], producerIds: [], minimumDurationMs: 1_000, nowMs: 2_000).map(\.transactionalId) == ["a"])
        #expect(harness.state.list(states: [], producerIds: [], minimumDurationMs: 1_001, nowMs: 2_000).isEmpty)
    }

    @Test func stateNamesAndTransitionsFollowKafka() {
        #expect(TransactionState.allCases.map(\.name) == ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
                                                          "CompleteAbort", "Dead", "PrepareEpochFence"])
        #expect(TransactionState(name: "Ongoing") == .ongoing)
        #expect(TransactionState(name: "ongoing") == nil)
        #expect(TransactionState.ongoing.canMove(to: .prepareCommit))
        #expect(!TransactionState.empty.canMove(to: .prepareCommit))
        #expect(!TransactionState.prepareCommit.canMove(to: .prepareAbort))
    }
}

@Suite("__transaction_state records")
struct TransactionStateTopicTests {
    @Test func recordsRoundTripInKafkasFormat() throws {
        let metadata = TransactionMetadata(transactionalId: "my-tx", producerId: 42, producerEpoch: 7, timeoutMs: 60_000,
                                           state: .ongoing, partitions: [TransactionHarness.tp1, TransactionHarness.tp0],
                                           startTimestampMs: 1_000, lastUpdateTimestampMs: 2_000)
        let record = try TransactionStateTopic.record(metadata)
        // Key: version 0, then the id as an int16-length string.
        #expect(Array(record.key.readableBytesView) == [0, 0, 0, 5] + Array("my-tx".utf8))
        var value = try #require(record.value)
        #expect(value.readInteger(as: Int16.self) == 0, "value version 0 (transaction version 1)")
        #expect(value.readInteger(as: Int64.self) == 42)
        #expect(value.readInteger(as: Int16.self) == 7)
        #expect(value.readInteger(as: Int32.self) == 60_000)
        #expect(value.readInteger(as: Int8.self) == 1, "Ongoing")
        let decoded = try #require(try TransactionStateTopic.decode(key: record.key, value: record.value))
        #expect(decoded.transactionalId == "my-tx")
        #expect(decoded.metadata == metadata)
    }

    @Test func aRemovedIdIsATombstone() throws {
        var metadata = TransactionMetadata(transactionalId: "gone", producerId: 1, producerEpoch: 0, timeoutMs: 1,
                                           state: .empty, lastUpdateTimestampMs: 0)
        metadata.state = .dead
        let record = try TransactionStateTopic.record(metadata)
        #expect(record.value == nil)
        let decoded = try #require(try TransactionStateTopic.decode(key: record.key, value: nil))
        #expect(decoded.transactionalId == "gone" && decoded.metadata == nil)
    }

    @Test func partitionsFollowJavasStringHashCode() {
        // Java: "my-tx".hashCode() = 104_315_461, and 104_315_461 % 50 = 11.
        #expect(TransactionStateTopic.partition(for: "my-tx", partitionCount: 50) == 11)
    }
}
