import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import VltavaClient

/// What a worker task needs from its worker: the Kafka client, the offset store, the worker's settings, where to
/// report status changes.
struct WorkerContext: Sendable {
    let client: KafkaClient
    /// Makes a client of the same cluster for a task that long-polls (fetches hold a connection's later requests).
    let makeClient: @Sendable () -> KafkaClient
    let config: WorkerConfig
    let offsetStore: any OffsetStore
    let logger: Logger
    /// Called with a task's new state (and the error text of a failure).
    let report: @Sendable (ConnectorTaskId, ConnectState, String?) async -> Void
    /// Called with each topic a task produces to or consumes from, once per task.
    let topicUsed: @Sendable (String, ConnectorTaskId) async -> Void
}

/// A running task's controls: whether it should run or pause, and whether it should stop; and how many records it
/// has moved (a source task: records Kafka acknowledged; a sink task: records handed to `put`), for `/metrics`.
final class WorkerTaskControl: Sendable {
    private let state = NIOLockedValueBox((paused: false, stopping: false))
    private let moved = NIOLockedValueBox(Int64(0))

    init(paused: Bool) {
        state.withLockedValue { $0.paused = paused }
    }

    var isPaused: Bool { state.withLockedValue { $0.paused } }
    var isStopping: Bool { state.withLockedValue { $0.stopping } }

    func setPaused(_ paused: Bool) { state.withLockedValue { $0.paused = paused } }
    func stop() { state.withLockedValue { $0.stopping = true } }

    /// Counts records moved (once per batch, so the lock costs nothing per record).
    func count(records: Int) { moved.withLockedValue { $0 += Int64(records) } }
    var recordsMoved: Int64 { moved.withLockedValue { $0 } }
}

/// A running worker task: its loop as a Swift task and its controls.
final class WorkerTaskHandle: Sendable {
    let id: ConnectorTaskId
    let control: WorkerTaskControl
    let task: Task<Void, Never>

    init(id: ConnectorTaskId, control: WorkerTaskControl, task: Task<Void, Never>) {
        self.id = id
        self.control = control
        self.task = task
    }

    /// Asks the loop to stop and waits for it, at most `timeoutMs`; past that the loop is cancelled and left
    /// behind (Kafka abandons such a task too).
    func stop(timeoutMs: Int64) async {
        control.stop()
        let task = self.task
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await task.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(timeoutMs))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished { task.cancel() }
    }
}

/// Connector code runs here, off Swift's cooperative pool: a file read or a blocking client call of a connector
/// then holds a thread of the worker's own blocking pool, not one of the few threads every async task shares. One
/// call per batch of records, so the hop costs little.
///
/// The pool is Connect's, not NIO's shared one (as many threads as cores, which the broker's file work may use in
/// `vltava serve`): each source task keeps two calls going (a poll and a conversion) and each sink task one, so a
/// few tasks would otherwise queue behind each other, and a connector that blocks would hold up the rest. Kafka
/// gives each task a thread of its own; idle threads here cost only their stacks.
enum BlockingCall {
    static let threadCount = max(8, 2 * System.coreCount)

    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(ConnectError) -> T) async throws(ConnectError) -> T {
        let result: Result<T, ConnectError>
        do {
            result = try await pool.runIfActive { () -> Result<T, ConnectError> in
                Result(catching: body)
            }
        } catch {
            throw .failed("the worker's thread pool is not running: \(error)")
        }
        return try result.get()
    }
}

/// A box for a task's connector object, which only its own loop touches (one call at a time), but which that loop
/// hands to the blocking pool.
final class ConnectorObjectBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Kafka's `errors.tolerance` (none|all) and `errors.log.enable` for conversion and transformation failures.
struct ErrorTolerance: Sendable {
    var toleratesAll = false
    var logErrors = false
    var logMessages = false
    /// Sink connectors: where skipped records go (`errors.deadletterqueue.topic.name`), with the error in
    /// `__connect.errors.*` headers when `errors.deadletterqueue.context.headers.enable`.
    var deadLetterTopic: String?
    var deadLetterHeaders = false
    /// `errors.deadletterqueue.topic.replication.factor`; unset, the broker's default (Kafka's is 3).
    var deadLetterReplicationFactor: Int16 = -1

    init(config: [String: String]) throws(ConnectError) {
        switch (config["errors.tolerance"] ?? "none").lowercased() {
        case "none": toleratesAll = false
        case "all": toleratesAll = true
        case let other:
            throw .config(name: "errors.tolerance", message: "Invalid value \(other) for configuration errors.tolerance: String must be one of: none, all")
        }
        logErrors = (config["errors.log.enable"] ?? "false").lowercased() == "true"
        logMessages = (config["errors.log.include.messages"] ?? "false").lowercased() == "true"
        deadLetterTopic = config["errors.deadletterqueue.topic.name"].map { $0.trimmingWhitespace() }.flatMap { $0.isEmpty ? nil : $0 }
        deadLetterHeaders = (config["errors.deadletterqueue.context.headers.enable"] ?? "false").lowercased() == "true"
        if config["errors.deadletterqueue.topic.replication.factor"] != nil {
            let factor = try ConnectConfig.int(config, "errors.deadletterqueue.topic.replication.factor", default: -1, minimum: -1)
            deadLetterReplicationFactor = Int16(clamping: factor)
        }
    }

    /// Whether a record that failed in `stage` is skipped (true) or fails the task (false); logs it when asked.
    func skip(_ error: ConnectError, stage: String, record: String, id: ConnectorTaskId, logger: Logger) -> Bool {
        guard toleratesAll else { return false }
        if logErrors {
            var metadata: Logger.Metadata = ["task": "\(id)", "stage": "\(stage)", "error": "\(error)"]
            if logMessages { metadata["record"] = "\(record)" }
            logger.error("record skipped (errors.tolerance=all)", metadata: metadata)
        }
        return true
    }
}

/// A connector's key, value and header converters: the connector's `key.converter` (with its `key.converter.*`
/// properties) when it names one, else the worker's (with the worker's properties), as Kafka's `Plugins` picks them.
struct RecordConverters: Sendable {
    let key: any Converter
    let value: any Converter
    let header: any HeaderConverter

    init(connectorConfig: [String: String], worker: WorkerConfig) throws(ConnectError) {
        key = try Self.converter("key.converter", connectorConfig, worker, isKey: true)
        value = try Self.converter("value.converter", connectorConfig, worker, isKey: false)
        header = try Self.headerConverter(connectorConfig, worker)
    }

    private static func converter(_ name: String, _ connectorConfig: [String: String], _ worker: WorkerConfig,
                                  isKey: Bool) throws(ConnectError) -> any Converter {
        let className: String
        let properties: [String: String]
        if let own = connectorConfig[name] {
            className = own
            properties = WorkerConfig.withPrefix(connectorConfig, name + ".")
        } else {
            className = worker.converterClass(name)
            properties = worker.withPrefix(name + ".")
        }
        var converter = try ConverterRegistry.make(className: className, configName: name)
        try converter.configure(properties, isKey: isKey)
        return converter
    }

    /// Kafka's default header converter, `SimpleHeaderConverter`, is stood in for by `StringConverter`: header
    /// values are written as their text (as SimpleHeaderConverter writes strings) and read back as strings
    /// (SimpleHeaderConverter would infer numbers, booleans, lists and maps from the text).
    private static func headerConverter(_ connectorConfig: [String: String], _ worker: WorkerConfig) throws(ConnectError) -> any HeaderConverter {
        let name = "header.converter"
        let own = connectorConfig[name]
        let className = own ?? worker.converterClass(name)
        let properties = own != nil ? WorkerConfig.withPrefix(connectorConfig, name + ".") : worker.withPrefix(name + ".")
        if isSimpleHeaderConverter(className) {
            var converter = StringConverter()
            try converter.configureHeaders(properties)
            return converter
        }
        guard var converter = try ConverterRegistry.make(className: className, configName: name) as? any HeaderConverter else {
            throw .config(name: name, message: "Class \(className) is not a HeaderConverter")
        }
        try converter.configureHeaders(properties)
        return converter
    }

    static func isSimpleHeaderConverter(_ className: String) -> Bool {
        ["org.apache.kafka.connect.storage.SimpleHeaderConverter", "SimpleHeaderConverter", "SimpleHeader"]
            .contains(className.trimmingWhitespace())
    }

    /// A source record as the bytes to produce.
    func producerRecord(_ record: ConnectRecord) throws(ConnectError) -> ProducerRecord {
        var headers: [RecordHeader] = []
        headers.reserveCapacity(record.headers.count)
        for header in record.headers {
            let bytes = try self.header.fromConnectHeader(topic: record.topic, headerKey: header.key, schema: header.schema, value: header.value)
            headers.append(RecordHeader(key: header.key, value: bytes.map { ByteBuffer(bytes: $0) }))
        }
        let keyBytes = try key.fromConnectDataBuffer(topic: record.topic, schema: record.keySchema, value: record.key, headers: record.headers)
        let valueBytes = try value.fromConnectDataBuffer(topic: record.topic, schema: record.valueSchema, value: record.value, headers: record.headers)
        return ProducerRecord(key: keyBytes, value: valueBytes, headers: headers, timestamp: record.timestamp)
    }

    /// A consumed record in Connect's model (before the connector's transformations). `stage` tells, when this
    /// throws, which converter failed (Kafka's stage names, for dead-letter headers).
    func connectRecord(_ record: ConsumedRecord, stage: inout String) throws(ConnectError) -> ConnectRecord {
        stage = "HEADER_CONVERTER"
        var headers: [ConnectHeader] = []
        headers.reserveCapacity(record.headers.count)
        for header in record.headers {
            let converted = try self.header.toConnectHeader(
                topic: record.topic, headerKey: header.key, bytes: header.value.map { Array($0.readableBytesView) })
            headers.append(ConnectHeader(key: header.key, schema: converted.schema, value: converted.value))
        }
        stage = "KEY_CONVERTER"
        let convertedKey = try key.toConnectDataBuffer(topic: record.topic, buffer: record.key, headers: headers)
        stage = "VALUE_CONVERTER"
        let convertedValue = try value.toConnectDataBuffer(topic: record.topic, buffer: record.value, headers: headers)
        return ConnectRecord(
            topic: record.topic, kafkaPartition: record.partition, keySchema: convertedKey.schema, key: convertedKey.value,
            valueSchema: convertedValue.schema, value: convertedValue.value, timestamp: record.timestamp,
            headers: headers, kafkaOffset: record.offset)
    }
}

/// What a task's records pass through besides the connector, made from the connector's configuration: the
/// transformation chain, the key/value/header converters and the error tolerance.
struct RecordPipeline: Sendable {
    let chain: TransformationChain
    let converters: RecordConverters
    let tolerance: ErrorTolerance

    init(connectorConfig: [String: String], worker: WorkerConfig) throws(ConnectError) {
        chain = try TransformationChain(config: connectorConfig)
        converters = try RecordConverters(connectorConfig: connectorConfig, worker: worker)
        tolerance = try ErrorTolerance(config: connectorConfig)
    }
}

extension WorkerContext {
    /// Logs a task's failure and reports it FAILED with the error as its trace.
    func taskFailed(_ id: ConnectorTaskId, _ error: ConnectError) async {
        logger.error("task failed", metadata: ["task": "\(id)", "error": "\(error)"])
        await report(id, .failed, error.description)
    }
}

/// A task loop's pause handling: reports PAUSED or RUNNING once per change, and holds the loop while paused.
struct PauseReporting {
    private var reported: Bool?

    /// Whether the task is paused now (after a short wait, so that a paused loop does not spin).
    mutating func pauseIfAsked(_ control: WorkerTaskControl, context: WorkerContext, id: ConnectorTaskId) async -> Bool {
        let paused = control.isPaused
        if reported != paused {
            reported = paused
            await context.report(id, paused ? .paused : .running, nil)
        }
        if paused { try? await Task.sleep(for: .milliseconds(100)) }
        return paused
    }
}
