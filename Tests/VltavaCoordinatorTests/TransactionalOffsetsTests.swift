import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import NIOPosix
import Testing
import VltavaStorage
@testable import VltavaCoordinator

/// A group coordinator over `__consumer_offsets` in a temporary folder, which can be closed and opened again to
/// check what the log reloads to.
final class CoordinatorFixture {
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let directory = NSTemporaryDirectory() + "vltava-coordinator-tests-" + UUID().uuidString
    let logger = Logger(label: "coordinator-tests") { _ in SwiftLogNoOpLogHandler() }
    let configuration: GroupConfiguration
    private(set) var logs: LogManager
    private(set) var coordinator: GroupCoordinator
    let partition = TopicPartition(topic: "t", partition: 0)
    var eventLoop: EventLoop { Self.eventLoops.any() }

    init(configuration: GroupConfiguration = GroupConfiguration()) throws {
        self.configuration = configuration
        (logs, coordinator) = try Self.open(directory, configuration: configuration, logger: logger)
    }

    private static func open(_ directory: String, configuration: GroupConfiguration, logger: Logger) throws
        -> (LogManager, GroupCoordinator) {
        let metadata = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        let logs = try LogManager(dataDirectory: directory, metadata: metadata, logger: logger, clock: { 1_000 })
        let coordinator = GroupCoordinator(logs: logs, configuration: configuration, logger: logger, clock: { 1_000 })
        coordinator.load()
        return (logs, coordinator)
    }

    /// Closes the logs and reads `__consumer_offsets` back into a new coordinator, as a restart does.
    func reopen() throws {
        logs.shutdown()
        (logs, coordinator) = try Self.open(directory, configuration: configuration, logger: logger)
    }

    deinit {
        logs.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var offsetsPartition: Int32 { OffsetsTopic.partition(for: "g", partitionCount: coordinator.partitionCount) }

    @discardableResult
    func commit(_ offset: Int64, group: String = "g", partition: TopicPartition? = nil) throws -> ErrorCode? {
        let partition = partition ?? self.partition
        return try coordinator.commitOffsets(
            group: group, memberId: "", groupInstanceId: nil, generationId: -1,
            offsets: [(partition, CommittedOffset(offset: offset, commitTimestampMs: 1_000))], eventLoop: eventLoop
        ).wait()[partition]
    }

    /// Makes every later append to the group's `__consumer_offsets` partition start a segment of its own.
    func useTinySegments() throws {
        let log = try #require(logs.log(topic: OffsetsTopic.name, partition: offsetsPartition))
        log.updateConfig(LogConfig(overrides: OffsetsTopic.topicConfigs.merging(["segment.bytes": "100"]) { $1 }))
    }

    /// Compacts `__consumer_offsets` after one more commit (of another partition), so that every record before it
    /// is in a closed segment.
    func compact() throws {
        try commit(1, partition: TopicPartition(topic: "filler", partition: 0))
        logs.runMaintenance()
    }

    @discardableResult
    func commitInTransaction(_ offset: Int64, group: String = "g", producerId: Int64 = 7, epoch: Int16 = 0,
                             memberId: String = "", generationId: Int32 = -1, instanceId: String? = nil) throws -> ErrorCode? {
        try coordinator.commitTransactionalOffsets(
            group: group, producerId: producerId, producerEpoch: epoch, memberId: memberId, generationId: generationId,
            groupInstanceId: instanceId, offsets: [(partition, CommittedOffset(offset: offset, commitTimestampMs: 1_000))],
            eventLoop: eventLoop
        ).wait()[partition]
    }

    func end(producerId: Int64 = 7, epoch: Int16 = 0, commit: Bool) -> ErrorCode {
        coordinator.completeTransaction(offsetsPartition: offsetsPartition, producerId: producerId, producerEpoch: epoch,
                                        commit: commit, coordinatorEpoch: 0)
    }

    /// The committed offset OffsetFetch returns, nil when none.
    func fetched(group: String = "g") -> Int64? {
        coordinator.fetchOffsets(group: group, partitions: [partition]).offsets[partition]?.offset
    }

    /// Whether OffsetFetch with require_stable finds the partition unstable.
    func unstable(group: String = "g") -> Bool {
        coordinator.fetchOffsets(group: group, partitions: [partition], requireStable: true).unstable.contains(partition)
    }

    /// The batches of the group's `__consumer_offsets` partition.
    func batches() throws -> [RecordBatch] {
        let log = try #require(logs.log(topic: OffsetsTopic.name, partition: offsetsPartition))
        var batches: [RecordBatch] = []
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            var bytes = try PartitionLog.load(try log.read(offset: offset, maxBytes: 1 << 20, minOneBatch: true))
            guard bytes.readableBytes > 0 else { break }
            while bytes.readableBytes > 0 {
                let batch = try RecordBatch(decoding: &bytes)
                batches.append(batch)
                offset = batch.baseOffset + Int64(batch.lastOffsetDelta ?? batch.records.last?.offsetDelta ?? 0) + 1
            }
        }
        return batches
    }
}

@Suite("Transactional offset commits")
struct TransactionalOffsetsTests {
    @Test func pendingOffsetsAreInvisibleUntilTheTransactionCommits() throws {
        let fixture = try CoordinatorFixture()
        #expect(try fixture.commit(5) == ErrorCode.none)
        #expect(try fixture.commitInTransaction(10) == ErrorCode.none)
        #expect(fixture.fetched() == 5)
        #expect(fixture.unstable())
        #expect(fixture.coordinator.fetchOffsets(group: "g", partitions: nil, requireStable: true).offsets.isEmpty)
        #expect(fixture.end(commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 10)
        #expect(!fixture.unstable())
        let batches = try fixture.batches()
        #expect(batches.map(\.isTransactional) == [false, true, true])
        #expect(batches.map(\.isControl) == [false, false, true])
        #expect(batches[1].producerId == 7 && batches[1].producerEpoch == 0)
        #expect(try ControlRecord(batches[2].records[0]).type == .commit)
    }

    @Test func abortDropsThePendingOffsets() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commit(5)
        try fixture.commitInTransaction(10)
        #expect(fixture.end(commit: false) == ErrorCode.none)
        #expect(fixture.fetched() == 5)
        #expect(!fixture.unstable())
        #expect(try ControlRecord(try #require(fixture.batches().last?.records.first)).type == .abort)
        // A later marker of the same producer finds nothing left to apply.
        #expect(fixture.end(commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 5)
    }

    @Test func aLaterPlainCommitWinsOverAnEarlierTransactionalOne() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commitInTransaction(10)
        try fixture.commit(7)
        #expect(fixture.fetched() == 7)
        #expect(fixture.end(commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 7, "the plain commit's record is later than the transaction's")
        try fixture.reopen()
        #expect(fixture.fetched() == 7)
    }

    @Test func transactionsOfTwoProducersEndIndependently() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commitInTransaction(10, producerId: 1)
        try fixture.commitInTransaction(20, producerId: 2)
        #expect(fixture.end(producerId: 2, commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 20)
        #expect(fixture.unstable(), "producer 1's transaction is still open")
        #expect(fixture.end(producerId: 1, commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 20, "producer 1's record is older than producer 2's")
        #expect(!fixture.unstable())
    }

    @Test func reloadAppliesCommitMarkers() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commit(5)
        try fixture.commitInTransaction(10)
        _ = fixture.end(commit: true)
        try fixture.reopen()
        #expect(fixture.fetched() == 10)
        #expect(!fixture.unstable())
    }

    @Test func reloadDropsAbortedOffsets() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commit(5)
        try fixture.commitInTransaction(10)
        _ = fixture.end(commit: false)
        try fixture.reopen()
        #expect(fixture.fetched() == 5)
        #expect(!fixture.unstable())
    }

    @Test func reloadKeepsOffsetsOfOpenTransactionsPending() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commit(5)
        try fixture.commitInTransaction(10)
        try fixture.reopen()
        #expect(fixture.fetched() == 5)
        #expect(fixture.unstable())
        #expect(fixture.end(commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 10)
        try fixture.reopen()
        #expect(fixture.fetched() == 10)
    }

    @Test func aTransactionalCommitCreatesTheGroupAfterReload() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commitInTransaction(10, group: "fresh")
        try fixture.reopen()
        #expect(fixture.coordinator.describe(group: "fresh").group?.state == .empty)
        #expect(fixture.unstable(group: "fresh"))
    }

    @Test func anOlderProducerEpochIsFenced() throws {
        let fixture = try CoordinatorFixture()
        #expect(try fixture.commitInTransaction(10, epoch: 1) == ErrorCode.none)
        #expect(try fixture.commitInTransaction(11, epoch: 0) == .invalidProducerEpoch)
        #expect(fixture.end(epoch: 0, commit: true) == .invalidProducerEpoch)
        #expect(fixture.unstable())
        #expect(fixture.end(epoch: 1, commit: true) == ErrorCode.none)
        #expect(fixture.fetched() == 10)
        // A bumped epoch is accepted, and fences the one before it.
        #expect(try fixture.commitInTransaction(12, epoch: 2) == ErrorCode.none)
        #expect(try fixture.commitInTransaction(13, epoch: 1) == .invalidProducerEpoch)
    }

    @Test func groupIdsAreCheckedAsForPlainCommits() throws {
        let fixture = try CoordinatorFixture()
        #expect(try fixture.commitInTransaction(1, group: "") == .invalidGroupId)
        #expect(try fixture.commitInTransaction(1, group: "other", memberId: "m", generationId: 3) == .illegalGeneration)
        #expect(fixture.coordinator.describe(group: "other").group == nil)
    }

    @Test func compactionKeepsCommittedOffsetsThatALaterAbortedTransactionWrote() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commitInTransaction(10, producerId: 1)
        try fixture.useTinySegments()
        _ = fixture.end(producerId: 1, commit: true)
        try fixture.commitInTransaction(99, producerId: 2)
        _ = fixture.end(producerId: 2, commit: false)
        let before = try fixture.batches().count
        try fixture.compact()
        let after = try fixture.batches()
        #expect(after.count == before, "the aborted batch went, the filler came")
        #expect(!after.contains { $0.producerId == 2 && !$0.isControl }, "aborted data is removed")
        #expect(after.filter(\.isControl).count == 2, "markers are kept")
        try fixture.reopen()
        #expect(fixture.fetched() == 10)
        #expect(!fixture.unstable())
    }

    @Test func compactionStopsAtAnOpenTransaction() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commit(5)
        try fixture.useTinySegments()
        try fixture.commitInTransaction(50)
        try fixture.commit(6, partition: TopicPartition(topic: "t", partition: 1))
        try fixture.compact()
        try fixture.reopen()
        #expect(fixture.fetched() == 5)
        #expect(fixture.end(commit: false) == ErrorCode.none)
        #expect(fixture.fetched() == 5, "the offset the open transaction would have replaced is still there")
        try fixture.reopen()
        #expect(fixture.fetched() == 5)
    }

    @Test func compactionKeepsATransactionsOffsetOverAnOlderPlainOne() throws {
        let fixture = try CoordinatorFixture()
        try fixture.commit(5)
        try fixture.useTinySegments()
        try fixture.commitInTransaction(10)
        _ = fixture.end(commit: true)
        try fixture.compact()
        #expect(try fixture.batches().first?.isTransactional == true, "the plain record the transaction replaced is gone")
        try fixture.reopen()
        #expect(fixture.fetched() == 10)
    }

    @Test func markersForPartitionsThatDoNotExistAreRefused() throws {
        let fixture = try CoordinatorFixture()
        #expect(fixture.coordinator.completeTransaction(offsetsPartition: fixture.coordinator.partitionCount, producerId: 7,
                                                        producerEpoch: 0, commit: true, coordinatorEpoch: 0) == .unknownTopicOrPartition)
    }
}
