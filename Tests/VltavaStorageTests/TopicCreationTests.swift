import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import VltavaStorage

@Suite struct TopicCreationTests {
    /// Two clients creating the same topic at once (Connect workers creating their internal topics): one creates
    /// it, the other learns that it exists — not a storage error — and the topic is whole.
    @Test func concurrentCreationsOfOneTopicLeaveOneTopic() throws {
        let directory = makeTemporaryDirectory()
        let metadata = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        let manager = try LogManager(dataDirectory: directory, metadata: metadata, logger: testLogger, clock: { 1_000 })
        defer { manager.shutdown() }
        let outcomes = NIOLockedValueBox<[Result<TopicMetadata, StorageError>]>([])
        let missingLogs = NIOLockedValueBox(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let outcome = Result { () throws(StorageError) -> TopicMetadata in
                try manager.createTopic(name: "raced", partitions: 3, configs: [:])
            }
            // Whoever lost finds every partition open, as a coordinator that goes on to use the topic needs.
            if case .failure = outcome, manager.log(topic: "raced", partition: 2) == nil { missingLogs.withLockedValue { $0 += 1 } }
            outcomes.withLockedValue { $0.append(outcome) }
        }
        let results = outcomes.withLockedValue { $0 }
        let created = results.compactMap { try? $0.get() }
        #expect(created.count == 1)
        #expect(results.allSatisfy { result in
            if case .failure(let error) = result { return error == .topicExists("raced") }
            return true
        })
        #expect(metadata.topics().filter { $0.name == "raced" }.count == 1)
        #expect(metadata.topic(named: "raced")?.topicId == created.first?.topicId)
        #expect(missingLogs.withLockedValue { $0 } == 0)
        for partition in Int32(0)..<3 { #expect(manager.log(topic: "raced", partition: partition) != nil) }
    }

    /// Coordinators creating their internal topic on first use from several threads: each gets the topic with every
    /// partition open.
    @Test func ensureTopicReturnsOnlyOnceEveryPartitionIsOpen() throws {
        let directory = makeTemporaryDirectory()
        let metadata = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        let manager = try LogManager(dataDirectory: directory, metadata: metadata, logger: testLogger, clock: { 1_000 })
        defer { manager.shutdown() }
        let problems = NIOLockedValueBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let topic = try manager.ensureTopic(name: "__internal", partitions: 5, configs: ["cleanup.policy": "compact"])
                for partition in Int32(0)..<topic.partitionCount where manager.log(topic: "__internal", partition: partition) == nil {
                    problems.withLockedValue { $0.append("partition \(partition) not open") }
                }
            } catch {
                problems.withLockedValue { $0.append("\(error)") }
            }
        }
        #expect(problems.withLockedValue { $0 } == [])
        #expect(metadata.topics().filter { $0.name == "__internal" }.count == 1)
    }
}
