import ArgumentParser
import NIOCore
import VltavaClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `vltava consume`: print a topic's records, like kcat -C.
struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the records of a topic's partitions.")

    @OptionGroup var bootstrap: BootstrapOptions
    @Option(name: [.customShort("t"), .long], help: "The topic to consume.") var topic: String
    @Option(name: [.customShort("p"), .long], help: "Only this partition (default: all).") var partition: Int32?
    @Option(name: [.customShort("o"), .long], parsing: .unconditional, help: "Start at: beginning, end, N, -N (from the end) or s@MILLISECONDS.")
    var offset: String = "beginning"
    @Flag(name: [.customShort("e"), .customLong("exit")], help: "Exit once every partition's end is reached.")
    var exitAtEnd = false
    @Option(name: [.customShort("c"), .customLong("count")], help: "Exit after this many records.") var count: Int?
    @Option(name: [.customShort("f"), .customLong("format")],
            help: "kcat format: %t %p %o %k %K %s %S %T %h, \\n \\t escapes (default: the value and a newline).")
    var format: String?

    func run() async throws {
        let start: StartOffset
        let recordFormat: RecordFormat
        do {
            start = try StartOffset(parsing: offset)
            recordFormat = try format.map { (text) throws(KafkaClientError) in try RecordFormat(parsing: text) } ?? .valueOnly
        } catch {
            throw ValidationError("\(error)")
        }
        if let count, count <= 0 { return }
        try await bootstrap.withClient { (client) throws(KafkaClientError) in
            let metadata = try await client.topicMetadata(topic)
            let partitions = partition.map { [$0] } ?? metadata.partitions.map(\.partition)
            if let partition, !metadata.partitions.contains(where: { $0.partition == partition }) {
                throw .broker(code: .unknownTopicOrPartition, message: nil, resource: "\(topic)-\(partition)")
            }
            var positions = try await client.startOffsets(topic: topic, partitions: partitions, start: start)
            var printed = 0
            while true {
                // With -e, a partition leaves `positions` once its end is reached.
                guard !positions.isEmpty else { return }
                let started = NIODeadline.now()
                let fetched = try await client.fetch(topic: topic, offsets: positions, maxWait: .milliseconds(500))
                var output: [UInt8] = []
                defer { writeAll(output, to: 1) }
                for answer in fetched {
                    for record in answer.records {
                        recordFormat.render(record, into: &output)
                        printed += 1
                        if printed == count { return }
                    }
                    positions[answer.partition] = answer.nextOffset
                    if exitAtEnd && answer.nextOffset >= answer.highWatermark {
                        positions[answer.partition] = nil
                    }
                }
                // A broker that answers an empty fetch at once, ignoring max wait, must not make this loop spin.
                if fetched.allSatisfy({ $0.records.isEmpty }) && NIODeadline.now() - started < .milliseconds(100) {
                    try? await Task.sleep(nanoseconds: 200_000_000)
                }
            }
        }
    }
}
