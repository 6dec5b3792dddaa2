import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import VltavaClient

/// `vltava transactions`: list and describe transactional ids, describe a partition's producers, and abort a
/// hanging transaction, like Kafka's kafka-transactions.sh.
struct Transactions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and describe transactions; find and abort hanging ones (like kafka-transactions.sh).",
        subcommands: [List.self, Describe.self, DescribeProducers.self, Abort.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the transactional ids: id, coordinator, producer id, state.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(name: .customLong("state"), help: "Only ids in this state (Ongoing, CompleteCommit, ...); repeatable.")
        var states: [String] = []
        @Option(name: .customLong("producer-id"), help: "Only this producer id; repeatable.") var producerIds: [Int64] = []
        @Option(name: .customLong("duration-filter"), help: "Only transactions running for at least this many ms.")
        var durationMs: Int64 = -1

        func run() async throws {
            let listed = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.listTransactions(states: states, producerIds: producerIds, minimumDurationMs: durationMs)
            }
            var table = [["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]]
            for transaction in listed {
                table.append([transaction.transactionalId, String(transaction.coordinatorId), String(transaction.producerId),
                              transaction.state])
            }
            printTable(table)
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a transactional id's coordinator, producer, state, timeout and the partitions of its transaction.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(name: .customLong("transactional-id"), help: "The transactional id.") var transactionalId: String

        func run() async throws {
            let described = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.describeTransaction(transactionalId)
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let duration = described.startTimeMs >= 0 ? String(max(0, now - described.startTimeMs) / 1000) : "None"
            let partitions = described.partitions.keys.sorted().flatMap { topic in
                (described.partitions[topic] ?? []).sorted().map { "\(topic)-\($0)" }
            }
            printTable([
                ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
                 "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"],
                [String(described.coordinatorId), described.transactionalId, String(described.producerId),
                 String(described.producerEpoch), described.state, String(described.timeoutMs),
                 described.startTimeMs >= 0 ? String(described.startTimeMs) : "None",
                 duration == "None" ? duration : String(max(0, now - described.startTimeMs)),
                 partitions.isEmpty ? "None" : partitions.joined(separator: ",")],
            ])
        }
    }

    struct DescribeProducers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-producers",
            abstract: "Show the producers a partition has seen and where their open transactions start.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic.") var topic: String
        @Option(help: "The partition.") var partition: Int32

        func run() async throws {
            let producers = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.describeProducers(topic: topic, partition: partition)
            }
            var table = [["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
                          "CurrentTransactionStartOffset"]]
            for producer in producers.sorted(by: { $0.producerId < $1.producerId }) {
                table.append([String(producer.producerId), String(producer.producerEpoch), String(producer.coordinatorEpoch),
                              String(producer.lastSequence), String(producer.lastTimestamp),
                              producer.currentTransactionStartOffset >= 0 ? String(producer.currentTransactionStartOffset) : "None"])
            }
            printTable(table)
        }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Abort a hanging transaction in one partition: by the start offset of its open transaction, or by "
                + "its producer id, epoch and coordinator epoch.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic.") var topic: String
        @Option(help: "The partition.") var partition: Int32
        @Option(name: .customLong("start-offset"), help: "The first offset of the open transaction to abort.") var startOffset: Int64?
        @Option(name: .customLong("producer-id"), help: "The producer id of the transaction.") var producerId: Int64?
        @Option(name: .customLong("producer-epoch"), help: "Its producer epoch.") var producerEpoch: Int16?
        @Option(name: .customLong("coordinator-epoch"), help: "Its coordinator epoch.") var coordinatorEpoch: Int32?

        func validate() throws {
            let byProducer = producerId != nil || producerEpoch != nil || coordinatorEpoch != nil
            if startOffset != nil && byProducer {
                throw ValidationError("give either --start-offset or --producer-id, --producer-epoch and --coordinator-epoch, not both")
            }
            if startOffset == nil && (producerId == nil || producerEpoch == nil || coordinatorEpoch == nil) {
                throw ValidationError("give --start-offset, or all of --producer-id, --producer-epoch and --coordinator-epoch")
            }
        }

        func run() async throws {
            let aborted = try await bootstrap.withClient { (client) throws(KafkaClientError) -> (Int64, Int16)? in
                let target: (producerId: Int64, epoch: Int16, coordinatorEpoch: Int32)
                if let startOffset {
                    let producers = try await client.describeProducers(topic: topic, partition: partition)
                    guard let producer = producers.first(where: { $0.currentTransactionStartOffset == startOffset }) else {
                        return nil
                    }
                    target = (producer.producerId, Int16(clamping: producer.producerEpoch), producer.coordinatorEpoch)
                } else {
                    target = (producerId ?? -1, producerEpoch ?? -1, coordinatorEpoch ?? -1)
                }
                try await client.abortTransaction(topic: topic, partition: partition, producerId: target.producerId,
                                                  producerEpoch: target.epoch, coordinatorEpoch: target.coordinatorEpoch)
                return (target.producerId, target.epoch)
            }
            guard let aborted else {
                printError("Error: no open transaction starts at offset \(startOffset ?? -1) in \(topic)-\(partition) "
                    + "(see `vltava transactions describe-producers`)")
                throw ExitCode.failure
            }
            print("Aborted the transaction of producer \(aborted.0) (epoch \(aborted.1)) in \(topic)-\(partition).")
        }
    }
}
