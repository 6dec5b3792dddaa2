import KafkaProtocol
import NIOCore
import NIOPosix
import Testing
import VltavaCoordinator
import VltavaStorage

@testable import VltavaBroker

@Suite struct TxnOffsetCommitHandlerTests {
    /// Offset commits wait for the flusher thread, which an embedded event loop cannot be completed from.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private func context(_ fixture: BrokerFixture, _ apiKey: ApiKey, version: Int16) -> RequestContext {
        var context = fixture.context(apiKey, version: version)
        context.connection.eventLoop = Self.eventLoops.any()
        return context
    }

    private func txnOffsetCommit(_ fixture: BrokerFixture, version: Int16, _ topics: [(String, Int32)], offset: Int64 = 10,
                                 epoch: Int16 = 0) throws -> [String: Int16] {
        var request = TxnOffsetCommitRequest()
        request.transactionalId = "tx"
        request.groupId = "g"
        request.producerId = 7
        request.producerEpoch = epoch
        request.topics = topics.map { .init(name: $0.0, partitions: [.init(partitionIndex: $0.1, committedOffset: offset)]) }
        let answer = try fixture.broker.handleTxnOffsetCommit(request, context: context(fixture, .txnOffsetCommit, version: version)).wait()
        guard case let .message(.txnOffsetCommit(response)) = answer else { throw WireError.trailingBytes(-1) }
        let decoded = try wire(response, version: version)
        var codes: [String: Int16] = [:]
        for topic in decoded.topics {
            for partition in topic.partitions { codes["\(topic.name)-\(partition.partitionIndex)"] = partition.errorCode }
        }
        return codes
    }

    /// OffsetFetch v7 of t-0: the top-level error, the partition's error and offset.
    private func fetchV7(_ fixture: BrokerFixture, requireStable: Bool) throws -> (Int16, Int16, Int64) {
        var request = OffsetFetchRequest()
        request.groupId = "g"
        request.topics = [.init(name: "t", partitionIndexes: [0])]
        request.requireStable = requireStable
        let response = try wire(fixture.broker.handleOffsetFetch(request, context: context(fixture, .offsetFetch, version: 7)), version: 7)
        let partition = try #require(response.topics.first?.partitions.first)
        return (response.errorCode, partition.errorCode, partition.committedOffset)
    }

    @Test func pendingOffsetsAreUnstableUntilTheTransactionCommits() throws {
        let fixture = try BrokerFixture()
        fixture.broker.groups.load()
        try fixture.createTopic("t", partitions: 2)
        #expect(try txnOffsetCommit(fixture, version: 3, [("t", 0), ("t", 5), ("missing", 0)])
            == ["t-0": 0, "t-5": ErrorCode.unknownTopicOrPartition.rawValue, "missing-0": ErrorCode.unknownTopicOrPartition.rawValue])
        let unstable = ErrorCode.unstableOffsetCommit.rawValue
        #expect(try fetchV7(fixture, requireStable: true) == (0, unstable, -1))
        #expect(try fetchV7(fixture, requireStable: false) == (0, 0, -1))

        var request = OffsetFetchRequest()
        request.groups = [.init(groupId: "g", topics: [.init(name: "t", partitionIndexes: [0, 1])])]
        request.requireStable = true
        let v8 = try wire(fixture.broker.handleOffsetFetch(request, context: context(fixture, .offsetFetch, version: 8)), version: 8)
        #expect(v8.groups.first?.errorCode == 0)
        #expect(v8.groups.first?.topics.first?.partitions.map(\.errorCode) == [unstable, 0])

        let offsetsPartition = OffsetsTopic.partition(for: "g", partitionCount: fixture.broker.groups.partitionCount)
        #expect(fixture.broker.groups.completeTransaction(offsetsPartition: offsetsPartition, producerId: 7, producerEpoch: 0,
                                                          commit: true, coordinatorEpoch: 0) == ErrorCode.none)
        #expect(try fetchV7(fixture, requireStable: true) == (0, 0, 10))
    }

    @Test func anOlderEpochIsInvalidProducerEpoch() throws {
        let fixture = try BrokerFixture()
        fixture.broker.groups.load()
        try fixture.createTopic("t")
        #expect(try txnOffsetCommit(fixture, version: 0, [("t", 0)], epoch: 3) == ["t-0": 0])
        #expect(try txnOffsetCommit(fixture, version: 2, [("t", 0)], epoch: 2) == ["t-0": ErrorCode.invalidProducerEpoch.rawValue])
    }

    @Test func versionsOfTransactionVersion1AreServed() {
        #expect(Broker.allVersions[.txnOffsetCommit] == 0...3)
    }
}
