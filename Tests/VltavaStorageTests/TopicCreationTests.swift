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
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let outcome = Result { () throws(StorageError) -> TopicMetadata in
                try manager.createTopic(name: "raced", partitions: 3, configs: [:])
            }
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
        for partition in Int32(0)..<3 { #expect(manager.log(topic: "raced", partition: partition) != nil) }
    }
}
