import ArgumentParser
import KafkaProtocol
import VltavaClient

/// `vltava topics`: create, list, describe, alter and delete topics, like kafka-topics.
struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, describe, alter and delete topics.",
        subcommands: [Create.self, List.self, Describe.self, Alter.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic to create.") var topic: String
        @Option(help: "Number of partitions (default: the broker's num.partitions).") var partitions: Int32?
        @Option(name: .customLong("replication-factor"), help: "Replication factor (default: the broker's).")
        var replicationFactor: Int16?
        @Option(name: .customLong("config"), help: "A topic config name=value; repeatable.")
        var configs: [ConfigAssignment] = []
        @Flag(name: .customLong("if-not-exists"), help: "Succeed if the topic already exists.")
        var ifNotExists = false
        @Flag(name: .customLong("validate-only"), help: "Only check that the topic could be created.")
        var validateOnly = false

        func run() async throws {
            let newTopic = NewTopic(
                name: topic, partitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1, configs: configs)
            let created = try await bootstrap.withClient { (client) throws(KafkaClientError) -> Bool in
                do throws(KafkaClientError) {
                    try await client.createTopics([newTopic], validateOnly: validateOnly)
                    return true
                } catch where ifNotExists && error.errorCode == .topicAlreadyExists {
                    return false
                }
            }
            if created { print(validateOnly ? "Topic \(topic) can be created." : "Created topic \(topic).") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the topics, one per line.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Flag(name: .customLong("exclude-internal"), help: "Leave out internal topics.") var excludeInternal = false

        func run() async throws {
            let names = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.listTopics(includeInternal: !excludeInternal)
            }
            for name in names { print(name) }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe one topic, or all of them.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic to describe (default: all topics).") var topic: String?

        func run() async throws {
            let descriptions = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.describeTopics(topic.map { [$0] })
            }
            for description in descriptions { print(Self.render(description), terminator: "") }
        }

        /// kafka-topics' layout: a summary line, then one indented line per partition.
        static func render(_ description: TopicDescription) -> String {
            let topic = description.topic
            let configs = description.configs
                .filter { !$0.isDefault && !$0.isSensitive }
                .map { "\($0.name)=\($0.value ?? "")" }
                .joined(separator: ",")
            var text = "Topic: \(topic.name)\tTopicId: \(topic.topicId)\tPartitionCount: \(topic.partitions.count)"
                + "\tReplicationFactor: \(description.replicationFactor)\tConfigs: \(configs)\n"
            for partition in topic.partitions {
                let list = { (ids: [Int32]) in ids.map(String.init).joined(separator: ",") }
                text += "\tTopic: \(topic.name)\tPartition: \(partition.partition)\tLeader: "
                    + (partition.leader < 0 ? "none" : String(partition.leader))
                    + "\tReplicas: \(list(partition.replicas))\tIsr: \(list(partition.isr))"
                if !partition.offlineReplicas.isEmpty { text += "\tOffline: \(list(partition.offlineReplicas))" }
                text += "\n"
            }
            return text
        }
    }

    struct Alter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add partitions to a topic or change its configs.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic to alter.") var topic: String
        @Option(help: "The new, higher, number of partitions.") var partitions: Int32?
        @Option(name: .customLong("config"), help: "A topic config name=value to set; repeatable.")
        var configs: [ConfigAssignment] = []

        func validate() throws {
            if partitions == nil && configs.isEmpty {
                throw ValidationError("give --partitions or at least one --config")
            }
        }

        func run() async throws {
            try await bootstrap.withClient { (client) throws(KafkaClientError) in
                if let partitions { try await client.createPartitions(topic: topic, totalCount: partitions) }
                if !configs.isEmpty { try await client.setConfigs(.topic(topic), configs) }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a topic.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic to delete; repeatable.") var topic: [String]
        @Flag(name: .customLong("if-exists"), help: "Succeed if the topic does not exist.") var ifExists = false

        func run() async throws {
            try await bootstrap.withClient { (client) throws(KafkaClientError) in
                do throws(KafkaClientError) {
                    try await client.deleteTopics(topic)
                } catch where ifExists && error.errorCode == .unknownTopicOrPartition {
                    return
                }
            }
        }
    }
}
