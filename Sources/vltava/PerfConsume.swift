import ArgumentParser
import NIOCore
import VltavaClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kafka's `kafka-consumer-perf-test`: reads `--messages` records of a topic's partitions from the start (or from the
/// end with `--from-latest`) and prints Kafka's summary line; `--show-detailed-stats` prints one every
/// `--reporting-interval`. Partitions are assigned, not subscribed, so `rebalance.time.ms` is 0.
struct PerfConsume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consume", abstract: "Kafka's kafka-consumer-perf-test.")

    @Option(name: .customLong("bootstrap-server"), help: "The brokers.") var bootstrapServer: String?
    @Option(help: "The topic to consume.") var topic: String
    @Option(help: "How many records to consume.") var messages: Int
    @Option(help: "Accepted for Kafka's tool's sake: partitions are assigned and nothing is committed.") var group: String?
    @Option(name: .customLong("fetch-size"), help: "Bytes fetched per partition per request.") var fetchSize: Int32 = 1_048_576
    @Flag(name: .customLong("from-latest"), help: "Start at the end of the partitions instead of their start.") var fromLatest = false
    @Option(name: .customLong("consumer.config"), help: "A consumer properties file (security.protocol, sasl.*, ssl.*).") var consumerConfig: String?
    @Option(help: "Milliseconds without a record after which the test ends.") var timeout: Int = 10_000
    @Flag(name: .customLong("show-detailed-stats"), help: "A line every --reporting-interval.") var showDetailedStats = false
    @Option(name: .customLong("reporting-interval"), help: "Milliseconds between detailed lines.") var reportingInterval: Int = 5000
    @Flag(name: .customLong("hide-header"), help: "Leave out the header line.") var hideHeader = false
    @Flag(name: .customLong("print-metrics"), help: "Accepted for Kafka's tool's sake.") var printMetrics = false

    static let header = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
        + "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"

    func run() async throws {
        let properties = try PerfProperties(file: consumerConfig, assignments: [], bootstrap: bootstrapServer)
        let client = try properties.client()
        var records = 0, bytes = 0
        let startMillis = WallClock.milliseconds()
        let start = ContinuousClock.now
        var lastRecord = ContinuousClock.now
        var lastReport = (time: start, records: 0, bytes: 0)
        do {
            let partitions = (try await client.describeTopics([topic]).first?.topic.partitions.map(\.partition)) ?? []
            var offsets = try await client.listOffsets(topic: topic, partitions: partitions, spec: fromLatest ? .latest : .earliest)
            if !hideHeader { print(showDetailedStats ? "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                + "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec" : Self.header) }
            while records < messages, ContinuousClock.now - lastRecord < .milliseconds(timeout) {
                let fetched = try await client.fetch(topic: topic, offsets: offsets, maxWait: .milliseconds(100),
                                                     partitionMaxBytes: fetchSize)
                for partition in fetched {
                    offsets[partition.partition] = partition.nextOffset
                    for record in partition.records where records < messages {
                        records += 1
                        bytes += (record.key?.readableBytes ?? 0) + (record.value?.readableBytes ?? 0)
                    }
                    if !partition.records.isEmpty { lastRecord = ContinuousClock.now }
                }
                if showDetailedStats, ContinuousClock.now - lastReport.time >= .milliseconds(reportingInterval) {
                    let now = ContinuousClock.now
                    let seconds = max((now - lastReport.time).seconds, 1e-9)
                    let megabytes = Double(bytes - lastReport.bytes) / 1_048_576
                    print(Self.dateText(WallClock.milliseconds()) + PerfProduceStats.format(", 0, %.4f, %.4f, %ld, %.4f, 0, %ld, %.4f, %.4f",
                                                  Double(bytes) / 1_048_576, megabytes / seconds, records,
                                                  Double(records - lastReport.records) / seconds, Int(seconds * 1000),
                                                  megabytes / seconds, Double(records - lastReport.records) / seconds))
                    lastReport = (now, records, bytes)
                }
            }
        } catch {
            await client.close()
            printError("Error: \(error)")
            throw ExitCode.failure
        }
        await client.close()
        if records < messages {
            printError("WARNING: Exiting before consuming the expected number of messages: timeout (\(timeout) ms) exceeded.")
        }
        let seconds = max((ContinuousClock.now - start).seconds, 1e-9)
        let megabytes = Double(bytes) / 1_048_576
        guard !showDetailedStats else { return }
        print(Self.dateText(startMillis) + ", " + Self.dateText(WallClock.milliseconds()) + PerfProduceStats.format(
            ", %.4f, %.4f, %ld, %.4f, %ld, %ld, %.4f, %.4f", megabytes, megabytes / seconds, records,
                                      Double(records) / seconds, 0, Int(seconds * 1000), megabytes / seconds, Double(records) / seconds))
    }

    /// Kafka's default `--date-format`, `yyyy-MM-dd HH:mm:ss:SSS`, in local time.
    static func dateText(_ millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return PerfProduceStats.format("%04d-%02d-%02d %02d:%02d:%02d:%03d", Int32(parts.tm_year + 1900), Int32(parts.tm_mon + 1),
                                       Int32(parts.tm_mday), Int32(parts.tm_hour), Int32(parts.tm_min), Int32(parts.tm_sec),
                                       Int32(millis % 1000))
    }
}
