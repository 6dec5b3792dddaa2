import ArgumentParser
import KafkaProtocol
import VltavaClient

/// `vltava groups`: list, describe, delete consumer groups and reset their offsets, like kafka-consumer-groups.
struct Groups: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, describe and delete consumer groups; reset their committed offsets.",
        subcommands: [List.self, Describe.self, Delete.self, ResetOffsets.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the groups, one per line with their state.")

        @OptionGroup var bootstrap: BootstrapOptions

        func run() async throws {
            let groups = try await bootstrap.withClient { (client) throws(KafkaClientError) in try await client.listGroups() }
            for group in groups {
                print("\(group.groupId)\t\(group.state.isEmpty ? "-" : group.state)\t\(group.protocolType.isEmpty ? "-" : group.protocolType)"
                    + (group.type.isEmpty ? "" : "\t\(group.type)"))
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a group's members and, per partition, the committed offset, log end offset and lag.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The group to describe.") var group: String

        func run() async throws {
            let rows = try await bootstrap.withClient { (client) throws(KafkaClientError) -> (GroupDescription, ConsumerGroupDescription?, [PartitionLag]) in
                let description = try await client.describeGroup(group)
                let modern = description.protocolType == "consumer" ? try await client.describeConsumerGroup(group) : nil
                return (description, modern, try await client.groupLag(group: group, description: description))
            }
            let (description, modern, partitions) = rows
            if let modern {
                print("Group \(group) is \(modern.state) with \(modern.members.count) member(s) (consumer protocol, assignor "
                    + "\(modern.assignor), group epoch \(modern.groupEpoch), assignment epoch \(modern.assignmentEpoch)).")
            } else {
                print("Group \(group) is \(description.state) with \(description.members.count) member(s)"
                    + (description.protocolName.isEmpty ? "." : " (classic protocol, assignor \(description.protocolName))."))
            }
            print("")
            var table = [["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]]
            for row in partitions {
                let lag = row.lag.map(String.init) ?? "-"
                table.append([
                    group, row.topic, String(row.partition), row.committed.map(String.init) ?? "-", row.logEnd.map(String.init) ?? "-",
                    lag, row.owner?.memberId ?? "-", row.owner?.clientHost ?? "-", row.owner?.clientId ?? "-",
                ])
            }
            printTable(table)
            if let modern, !modern.members.isEmpty {
                print("")
                var members = [["CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "EPOCH", "ASSIGNMENT", "TARGET"]]
                for member in modern.members {
                    members.append([member.memberId, member.instanceId ?? "-", member.clientHost, member.clientId,
                                    String(member.memberEpoch), Self.partitionList(member.assignment), Self.partitionList(member.target)])
                }
                printTable(members)
            } else if !description.members.isEmpty {
                print("")
                var members = [["CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"]]
                for member in description.members {
                    members.append([member.memberId, member.groupInstanceId ?? "-", member.clientHost, member.clientId,
                                    String(member.assignment.values.reduce(0) { $0 + $1.count }), Self.partitionList(member.assignment)])
                }
                printTable(members)
            }
        }

        /// `topic(0,1),other(2)`, or `-` for none.
        static func partitionList(_ partitions: [String: [Int32]]) -> String {
            let text = partitions.sorted { $0.key < $1.key }
                .map { "\($0.key)(\($0.value.sorted().map(String.init).joined(separator: ",")))" }
                .joined(separator: ",")
            return text.isEmpty ? "-" : text
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an empty group and its committed offsets.")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The group to delete.") var group: String

        func run() async throws {
            try await bootstrap.withClient { (client) throws(KafkaClientError) in try await client.deleteGroup(group) }
            print("Deleted group \(group).")
        }
    }

    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Reset a group's committed offsets of a topic (a dry run unless --execute; the group must be inactive).")

        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The group whose offsets to reset.") var group: String
        @Option(help: "The topic, optionally with partitions: TOPIC or TOPIC:0,2.") var topic: String
        @Flag(name: .customLong("to-earliest"), help: "To the log start offset.") var toEarliest = false
        @Flag(name: .customLong("to-latest"), help: "To the log end offset.") var toLatest = false
        @Option(name: .customLong("to-offset"), help: "To this offset (kept within the log).") var toOffset: Int64?
        @Option(name: .customLong("shift-by"), help: "Move the committed offset by N (negative goes back).") var shiftBy: Int64?
        @Option(name: .customLong("to-datetime"), help: "To the first offset at or after a time: ISO 8601 (2024-01-31T12:00:00Z, 2024-01-31) or milliseconds since 1970.")
        var toDatetime: String?
        @Flag(help: "Commit the new offsets (without it, only show them).") var execute = false

        func validate() throws {
            let chosen = [toEarliest, toLatest, toOffset != nil, shiftBy != nil, toDatetime != nil].filter { $0 }.count
            if chosen != 1 {
                throw ValidationError("give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime")
            }
            if let toDatetime, Timestamps.parse(toDatetime) == nil {
                throw ValidationError("cannot read '\(toDatetime)' as an ISO 8601 date and time")
            }
        }

        func run() async throws {
            let parts = topic.split(separator: ":", maxSplits: 1)
            let topicName = String(parts[0])
            let chosenPartitions = parts.count > 1 ? parts[1].split(separator: ",").compactMap { Int32($0) } : nil
            let target: OffsetResetTarget
            if toEarliest {
                target = .earliest
            } else if toLatest {
                target = .latest
            } else if let toOffset {
                target = .offset(toOffset)
            } else if let shiftBy {
                target = .shiftBy(shiftBy)
            } else if let toDatetime, let milliseconds = Timestamps.parse(toDatetime) {
                target = .timestamp(milliseconds)
            } else {
                throw ValidationError("give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime")
            }
            let result = try await bootstrap.withClient { (client) throws(KafkaClientError) -> [Int32: Int64]? in
                switch try await client.planOffsetReset(group: group, topic: topicName, partitions: chosenPartitions, to: target) {
                case let .groupActive(state):
                    printError("Error: Assignments can only be reset if the group '\(group)' is inactive, but the current state is \(state).")
                    return nil
                case let .offsets(targets):
                    if execute { try await client.commitOffsets(group: group, topic: topicName, offsets: targets) }
                    return targets
                }
            }
            guard let result else { throw ExitCode.failure }
            var table = [["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]]
            for (partition, offset) in result.sorted(by: { $0.key < $1.key }) {
                table.append([group, topicName, String(partition), String(offset)])
            }
            printTable(table)
            if !execute { print("\nDry run: nothing committed. Add --execute to commit these offsets.") }
        }
    }
}

/// Prints rows as left-aligned columns separated by two spaces.
func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}
