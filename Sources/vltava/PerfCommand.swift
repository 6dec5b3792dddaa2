import ArgumentParser
import KafkaRecords
import NIOCore
import VltavaClient
import VltavaSecurity

/// `vltava perf produce|consume`: Kafka's `kafka-producer-perf-test` and `kafka-consumer-perf-test`, with their
/// flags and output, against any Kafka cluster.
struct PerfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf", abstract: "Measure a cluster as Kafka's producer and consumer perf tests do.",
        subcommands: [PerfProduce.self, PerfConsume.self])
}

/// Kafka's `kafka-producer-perf-test`: `--num-records` records of `--record-size` bytes (or lines of a
/// `--payload-file`), at most `--throughput` records/s, with a progress line every 5 s and Kafka's summary.
/// `--connections` clients, each with `max.in.flight.requests.per.connection` batches of `batch.size` bytes in flight,
/// drive a broker harder than one client can.
struct PerfProduce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "produce", abstract: "Kafka's kafka-producer-perf-test.")

    @Option(help: "The topic to produce to.") var topic: String
    @Option(name: .customLong("num-records"), help: "How many records to produce.") var numRecords: Int
    @Option(name: .customLong("record-size"), help: "Each record's size in bytes (random upper-case letters).") var recordSize: Int?
    @Option(name: .customLong("payload-file"), help: "Records' values taken in turn from this file's parts.") var payloadFile: String?
    @Option(name: .customLong("payload-delimiter"), help: "What separates the payload file's parts.") var payloadDelimiter = "\n"
    @Option(parsing: .unconditional, help: "At most this many records per second; -1 for no limit.") var throughput: Double
    @Option(name: .customLong("producer-props"), parsing: .upToNextOption,
            help: "Producer properties name=value: bootstrap.servers, acks, batch.size, compression.type, max.in.flight.requests.per.connection.")
    var producerProps: [String] = []
    @Option(name: .customLong("producer.config"), help: "A producer properties file (security.protocol, sasl.*, ssl.*, and the above).")
    var producerConfig: String?
    @Option(name: .customLong("bootstrap-server"), help: "The brokers (else bootstrap.servers of the properties).") var bootstrapServer: String?
    @Option(help: "Independent client connections sending at once (Vltava's; Kafka's tool has one producer).") var connections = 1
    @Flag(name: .customLong("print-metrics"), help: "Accepted for Kafka's tool's sake; Vltava prints no client metrics.") var printMetrics = false

    func run() async throws {
        let properties = try PerfProperties(file: producerConfig, assignments: producerProps, bootstrap: bootstrapServer)
        guard numRecords >= 0, connections >= 1 else { throw ValidationError("--num-records must be ≥ 0 and --connections ≥ 1") }
        let payloads = try payloads()
        let acks: Acks
        switch properties.values["acks"] ?? "all" {
        case "all", "-1": acks = .all
        case "1": acks = .leader
        case "0": acks = .none
        case let other: throw ValidationError("acks must be all, -1, 1 or 0, not \(other)")
        }
        let compressionName = properties.values["compression.type"] ?? "none"
        guard let codec = CompressionCodec.allCases.first(where: { $0.description == compressionName }) else {
            throw ValidationError("compression.type must be none, gzip, snappy, lz4 or zstd")
        }
        let batchBytes = Int(properties.values["batch.size"] ?? "") ?? 16_384
        let inFlight = max(1, Int(properties.values["max.in.flight.requests.per.connection"] ?? "") ?? 5)
        let averageSize = max(1, payloads.reduce(0) { $0 + $1.readableBytes } / max(1, payloads.count))
        // A throttled run sends batches of at most a tenth of a second's records, so the rate holds within batches.
        let recordsPerBatch = max(1, min(batchBytes / averageSize, throughput > 0 ? Int(throughput / 10) : Int.max))
        let clients = try (0..<connections).map { _ in try properties.client() }
        let partitionCount: Int32
        do {
            partitionCount = Int32(try await clients[0].describeTopics([topic]).first?.topic.partitions.count ?? 1)
        } catch where error.errorCode == .unknownTopicOrPartition {
            partitionCount = 1  // the first produce creates it, when the cluster creates topics on use
        } catch {
            printError("Error: \(error)")
            throw ExitCode.failure
        }
        let stats = PerfProduceStats()
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                if Task.isCancelled { break }
                print(await stats.windowLine())
            }
        }
        let limit = numRecords, rate = throughput
        let failure: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            for (index, client) in clients.enumerated() {
                for lane in 0..<inFlight {
                    let first = Int32((index * inFlight + lane) % Int(max(partitionCount, 1)))
                    group.addTask {
                        var partition = first
                        var cursor = Int(first)
                        do {
                            while let count = await stats.take(recordsPerBatch, limit: limit, throughput: rate) {
                                var records: [ProducerRecord] = []
                                records.reserveCapacity(count)
                                var bytes = 0
                                for _ in 0..<count {
                                    let payload = payloads[cursor % payloads.count]
                                    cursor &+= 1
                                    bytes += payload.readableBytes
                                    records.append(ProducerRecord(key: nil, value: payload))
                                }
                                let sent = ContinuousClock.now
                                try await client.produce(topic: topic, records: records, partition: partition, acks: acks, compression: codec)
                                await stats.acknowledged(records: count, bytes: bytes, latency: ContinuousClock.now - sent)
                                partition = (partition + Int32(clients.count * inFlight)) % max(partitionCount, 1)
                            }
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
            }
            var first: (any Error)?
            for await outcome in group where first == nil { first = outcome }
            return first
        }
        reporter.cancel()
        for client in clients { await client.close() }
        if let failure {
            printError("Error: \(failure)")
            throw ExitCode.failure
        }
        print(await stats.summaryLine())
    }

    /// The values to send: one payload of random upper-case letters, or the payload file's parts.
    private func payloads() throws -> [ByteBuffer] {
        if let payloadFile {
            guard let text = try? String(contentsOfFile: payloadFile, encoding: .utf8) else {
                throw ValidationError("cannot read the payload file \(payloadFile)")
            }
            let parts = text.split(separator: payloadDelimiter, omittingEmptySubsequences: true).map { ByteBuffer(string: String($0)) }
            guard !parts.isEmpty else { throw ValidationError("the payload file \(payloadFile) holds no payload") }
            return parts
        }
        guard let recordSize, recordSize >= 0 else { throw ValidationError("give --record-size or --payload-file") }
        var payload = ByteBuffer()
        payload.reserveCapacity(recordSize)
        for _ in 0..<recordSize { payload.writeInteger(UInt8.random(in: 65...90)) }
        return [payload]
    }
}

/// Producer or consumer properties from Kafka's `--producer-props`/`--consumer.config` style inputs: a properties file
/// first, then `name=value` arguments, then `--bootstrap-server`.
struct PerfProperties {
    var values: [String: String] = [:]

    init(file: String?, assignments: [String], bootstrap: String?) throws {
        if let file {
            do {
                values = try JavaProperties.read(path: file)
            } catch {
                throw ValidationError("cannot read \(file): \(error)")
            }
        }
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "=") else { throw ValidationError("'\(assignment)' is not name=value") }
            values[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        if let bootstrap { values["bootstrap.servers"] = bootstrap }
        guard values["bootstrap.servers"] != nil else { throw ValidationError("bootstrap.servers is not set (--bootstrap-server or the properties)") }
    }

    func client() throws -> KafkaClient {
        var configuration = KafkaClient.Configuration()
        configuration.clientId = values["client.id"] ?? "vltava-perf"
        do {
            configuration.security = try ClientSecurity(properties: values)
            return try KafkaClient(bootstrapServers: values["bootstrap.servers"] ?? "", configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
