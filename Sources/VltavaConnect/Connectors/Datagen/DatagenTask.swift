#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The task of `DatagenConnector`. Records are spaced by a random wait below `max.interval`; `poll` returns the
/// records due by now and never sleeps. Source partition `{"task.id": N}`; the offset of each record holds the
/// task's next state, as Confluent's does: `task.generation`, `current.iteration` and `random.seed`, so a
/// restarted task continues the count (towards `iterations`) and the random sequence. Each record carries the
/// headers `task.generation`, `task.id` and `current.iteration`.
public struct DatagenTask: SourceTask {
    /// The keys of the source offset (and of the headers), as Confluent's task names them.
    public static let taskGenerationKey = "task.generation"
    public static let currentIterationKey = "current.iteration"
    public static let randomSeedKey = "random.seed"
    /// The most records one poll returns (with no `max.interval`, every poll has records due).
    static let maximumBatch = 1000

    private var config: DatagenConfig?
    private var taskId: Int32 = 0
    private var generation: Int64 = 0
    /// Records generated over the task's life, restarts included.
    private var count: Int64 = 0
    private var generator = DatagenValueGenerator(random: DatagenRandom(seed: 0), generation: 0)
    private var nextDue: UInt64 = 0
    /// The waits between records are not part of the data, so a seed does not fix them (as in Confluent's).
    private var timing = SystemRandomNumberGenerator()
    /// Nanoseconds on a monotonic clock (replaceable in tests).
    var clock: @Sendable () -> UInt64 = DatagenTask.monotonicNanoseconds

    public init() {}

    /// The source partition of a task.
    public static func partition(taskId: Int32) -> ConnectValue {
        .map([ConnectMapEntry(key: .string(DatagenConfig.taskIdKey), value: .int32(taskId))])
    }

    public mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        let parsed = try DatagenConfig(config)
        let idText = config[DatagenConfig.taskIdKey] ?? "0"
        guard let id = Int32(idText) else {
            throw .config(name: DatagenConfig.taskIdKey, message: "Invalid value \(idText) for configuration task.id: Not a number of type INT")
        }
        taskId = id
        var random = DatagenRandom.unseeded()
        if let seed = parsed.randomSeed {
            // Each task derives its own seed from the connector's, so tasks generate different data.
            random = DatagenRandom(seed: UInt64(bitPattern: seed))
            for _ in 0..<max(id, 0) { random = DatagenRandom(seed: random.next()) }
        }
        generation = 0
        count = 0
        if case let .map(entries)? = offsets.offset(for: Self.partition(taskId: id)) {
            let stored = { (name: String) -> Int64? in Self.integer(entries.first { $0.key == .string(name) }?.value) }
            generation = stored(Self.taskGenerationKey) ?? 0
            count = stored(Self.currentIterationKey) ?? 0
            if let seed = stored(Self.randomSeedKey) { random = DatagenRandom(seed: UInt64(bitPattern: seed)) }
        }
        generator = DatagenValueGenerator(random: random, generation: count)
        self.config = parsed
        nextDue = clock() &+ randomWait(parsed.maxInterval)
    }

    /// The records due by now, at most `maximumBatch`. Once `iterations` records were generated (over the task's
    /// life), the task fails with Confluent's message, as Confluent's does.
    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        guard let config else { throw .failed("the Datagen task was polled before it started") }
        let now = clock()
        // A task polled late (the worker was busy) does not make up for all the time lost at once.
        let interval = UInt64(max(config.maxInterval, 0)) * 1_000_000
        if now > interval, nextDue < now - interval { nextDue = now - interval }
        var records: [ConnectRecord] = []
        while nextDue <= now, records.count < Self.maximumBatch {
            if config.iterations > 0, count >= Int64(config.iterations) {
                if !records.isEmpty { break }
                throw .failed("Stopping connector: generated the configured \(count) number of messages")
            }
            records.append(makeRecord(config))
            nextDue = nextDue &+ randomWait(config.maxInterval)
        }
        return records
    }

    private mutating func makeRecord(_ config: DatagenConfig) -> ConnectRecord {
        let value = generator.value(of: config.schema)
        var keySchema: ConnectSchema = .optionalString
        var key: ConnectValue = .null
        if let keyField = config.keyField {
            keySchema = keyField.type.connectSchema
            key = value[field: keyField.name] ?? .null
        }
        // Confluent re-seeds after each record and stores the seed in the offset, which restores the next state.
        let seed = generator.random.next()
        generator.random = DatagenRandom(seed: seed)
        let headers = [
            ConnectHeader(key: Self.taskGenerationKey, schema: .int64, value: .int64(generation)),
            ConnectHeader(key: DatagenConfig.taskIdKey, schema: .int64, value: .int64(Int64(taskId))),
            ConnectHeader(key: Self.currentIterationKey, schema: .int64, value: .int64(count)),
        ]
        let offset = ConnectValue.map([
            ConnectMapEntry(key: .string(Self.taskGenerationKey), value: .int64(generation + 1)),
            ConnectMapEntry(key: .string(Self.currentIterationKey), value: .int64(count + 1)),
            ConnectMapEntry(key: .string(Self.randomSeedKey), value: .int64(Int64(bitPattern: seed))),
        ])
        count += 1
        return ConnectRecord(topic: config.topic, keySchema: keySchema, key: key, valueSchema: config.schema.connectSchema,
                             value: value, headers: headers, sourcePartition: Self.partition(taskId: taskId), sourceOffset: offset)
    }

    public mutating func stop() {
        config = nil
    }

    private mutating func randomWait(_ maxInterval: Int64) -> UInt64 {
        guard maxInterval > 0 else { return 0 }
        return UInt64.random(in: 0..<(UInt64(maxInterval) * 1_000_000), using: &timing)
    }

    private static func integer(_ value: ConnectValue?) -> Int64? {
        switch value {
        case let .int64(number)?: return number
        case let .int32(number)?: return Int64(number)
        case let .int16(number)?: return Int64(number)
        case let .int8(number)?: return Int64(number)
        case let .float64(number)?: return Int64(exactly: number)
        default: return nil
        }
    }

    @Sendable static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
