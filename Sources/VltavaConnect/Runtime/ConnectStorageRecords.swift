import SchemaRegistry

/// The records of Kafka Connect's internal topics in Kafka's formats (JSON, schemas off), so that a Kafka Connect
/// cluster and Vltava's workers read each other's `connect-configs`, `connect-offsets` and `connect-status`.
public enum ConnectStorageRecords {
    // MARK: connect-offsets

    /// The key of a source offset: `["<connector>",{<source partition>}]`.
    public static func offsetKey(connector: String, partition: ConnectValue) -> String {
        JSONValue.array([.string(connector), json(partition)]).serialized
    }

    /// The connector and source partition of an offset key; nil when the key is not Kafka's shape (Kafka skips
    /// those too).
    public static func parseOffsetKey(_ text: String) -> (connector: String, partition: ConnectValue)? {
        guard let parsed = try? JSONParser.parse(text), let items = parsed.arrayValue, items.count == 2,
              let connector = items[0].stringValue, items[1].isObject else { return nil }
        return (connector, connectValue(items[1]))
    }

    /// The value of a source offset (`{"position":12}`); nil deletes it.
    public static func offsetValue(_ offset: ConnectValue?) -> String? {
        offset.map { json($0).serialized }
    }

    public static func parseOffsetValue(_ text: String?) -> ConnectValue? {
        guard let text, let parsed = try? JSONParser.parse(text) else { return nil }
        return connectValue(parsed)
    }

    // MARK: connect-configs

    /// `connector-<name>` → `{"properties":{...}}` (nil deletes the connector).
    public static func connectorConfig(name: String, properties: [String: String]?) -> (key: String, value: String?) {
        ("connector-\(name)", properties.map(propertiesValue))
    }

    /// `task-<name>-<id>` → `{"properties":{...}}`.
    public static func taskConfig(connector: String, task: Int, properties: [String: String]) -> (key: String, value: String?) {
        ("task-\(connector)-\(task)", propertiesValue(properties))
    }

    /// `commit-<name>` → `{"tasks":N}`: the task configs written before it are complete.
    public static func taskCommit(connector: String, tasks: Int) -> (key: String, value: String?) {
        ("commit-\(connector)", JSONValue.object([("tasks", .integer(tasks))]).serialized)
    }

    /// `target-state-<name>` → `{"state":...,"state.v2":...}` (Kafka writes PAUSED in `state` for STOPPED too,
    /// for older workers, and the real one in `state.v2`).
    public static func targetState(connector: String, state: String) -> (key: String, value: String?) {
        let legacy = state == "STOPPED" ? "PAUSED" : state
        return ("target-state-\(connector)", JSONValue.object([("state", .string(legacy)), ("state.v2", .string(state))]).serialized)
    }

    /// One decoded `connect-configs` record.
    public enum ConfigRecord: Sendable, Hashable {
        case connector(name: String, properties: [String: String]?)
        case task(connector: String, task: Int, properties: [String: String]?)
        case commit(connector: String, tasks: Int)
        case targetState(connector: String, state: String?)
    }

    /// Decodes a `connect-configs` record; nil for keys this worker does not use (session keys, restart requests,
    /// …) or values that are not Kafka's shape.
    public static func parseConfigRecord(key: String, value: String?) -> ConfigRecord? {
        let parsed = value.flatMap { try? JSONParser.parse($0) }
        if key.hasPrefix("connector-") {
            return .connector(name: String(key.dropFirst("connector-".count)), properties: parsed.flatMap(properties))
        }
        if key.hasPrefix("task-") {
            let rest = key.dropFirst("task-".count)
            guard let dash = rest.lastIndex(of: "-"), let task = Int(rest[rest.index(after: dash)...]) else { return nil }
            return .task(connector: String(rest[..<dash]), task: task, properties: parsed.flatMap(properties))
        }
        if key.hasPrefix("commit-") {
            guard let tasks = parsed?["tasks"]?.integerValue else { return nil }
            return .commit(connector: String(key.dropFirst("commit-".count)), tasks: Int(tasks))
        }
        if key.hasPrefix("target-state-") {
            let state = parsed?["state.v2"]?.stringValue ?? parsed?["state"]?.stringValue
            return .targetState(connector: String(key.dropFirst("target-state-".count)), state: state)
        }
        return nil
    }

    /// `restart-connector-<name>` → `{"include-tasks":…,"only-failed":…}`: a restart the leader asks of the workers
    /// that run the connector and its tasks (Kafka's `RestartRequest`).
    public static func restartRequest(connector: String, includeTasks: Bool, onlyFailed: Bool) -> (key: String, value: String?) {
        let value = JSONValue.object([("include-tasks", .bool(includeTasks)), ("only-failed", .bool(onlyFailed))])
        return ("restart-connector-\(connector)", value.serialized)
    }

    /// The connector and options of a `restart-connector-…` record; nil for other keys.
    public static func parseRestartRequest(key: String, value: String?) -> (connector: String, includeTasks: Bool, onlyFailed: Bool)? {
        guard key.hasPrefix("restart-connector-"), let value, let parsed = try? JSONParser.parse(value) else { return nil }
        return (String(key.dropFirst("restart-connector-".count)), parsed["include-tasks"]?.boolValue ?? false,
                parsed["only-failed"]?.boolValue ?? false)
    }

    // MARK: connect-status

    /// `status-connector-<name>` / `status-task-<name>-<id>` → `{"state":...,"trace":...,"worker_id":...,"generation":N}`.
    public static func status(connector: String, task: Int?, state: String, trace: String?, workerId: String,
                              generation: Int32) -> (key: String, value: String?) {
        let key = task.map { "status-task-\(connector)-\($0)" } ?? "status-connector-\(connector)"
        let value = JSONValue.object([
            ("state", .string(state)), ("trace", .string(trace)), ("worker_id", .string(workerId)),
            ("generation", .integer(generation)),
        ])
        return (key, value.serialized)
    }

    /// The connector, task (nil: the connector itself) and status (nil: a tombstone) of a `status-connector-…` or
    /// `status-task-…` record; nil for other keys.
    public static func parseStatus(key: String, value: String?) -> (connector: String, task: Int?, status: ConnectStatus?)? {
        let connector: String
        var task: Int?
        if key.hasPrefix("status-connector-") {
            connector = String(key.dropFirst("status-connector-".count))
        } else if key.hasPrefix("status-task-"), let dash = key.lastIndex(of: "-"),
                  let id = Int(key[key.index(after: dash)...]), key.distance(from: key.startIndex, to: dash) > "status-task-".count {
            connector = String(key[key.index(key.startIndex, offsetBy: "status-task-".count)..<dash])
            task = id
        } else {
            return nil
        }
        guard let value else { return (connector, task, nil) }
        guard let parsed = try? JSONParser.parse(value), let stateName = parsed["state"]?.stringValue,
              let state = ConnectState(rawValue: stateName) else { return nil }
        let status = ConnectStatus(state: state, trace: parsed["trace"]?.stringValue,
                                   workerId: parsed["worker_id"]?.stringValue ?? "")
        return (connector, task, status)
    }

    /// `topic-<topic>-<connector>` → `{"topic":{"name":…,"connector":…,"task":N,"discoverTimestamp":ms}}`: a topic
    /// a connector has used (KIP-558).
    public static func topicStatus(topic: String, connector: String, task: Int, discoverTimestampMs: Int64) -> (key: String, value: String?) {
        let value = JSONValue.object([("topic", .object([
            ("name", .string(topic)), ("connector", .string(connector)), ("task", .integer(task)),
            ("discoverTimestamp", .integer(discoverTimestampMs)),
        ]))])
        return ("topic-\(topic)-\(connector)", value.serialized)
    }

    /// The topic and connector of a `topic-…` status value.
    public static func parseTopicStatus(_ value: String) -> (topic: String, connector: String)? {
        guard let parsed = try? JSONParser.parse(value), let topic = parsed["topic"]?["name"]?.stringValue,
              let connector = parsed["topic"]?["connector"]?.stringValue else { return nil }
        return (topic, connector)
    }

    // MARK: JSON ↔ Connect values (schemaless, as JsonConverter with schemas.enable=false)

    private static func propertiesValue(_ properties: [String: String]) -> String {
        JSONValue.object([("properties", .object(properties.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]).serialized
    }

    private static func properties(_ value: JSONValue) -> [String: String]? {
        guard let members = value["properties"]?.objectValue else { return nil }
        var result: [String: String] = [:]
        for (name, item) in members {
            switch item {
            case let .string(text): result[name] = text
            case .null: continue
            default: result[name] = item.serialized
            }
        }
        return result
    }

    static func json(_ value: ConnectValue) -> JSONValue {
        switch value {
        case .null: return .null
        case let .boolean(flag): return .bool(flag)
        case let .int8(number): return .integer(number)
        case let .int16(number): return .integer(number)
        case let .int32(number): return .integer(number)
        case let .int64(number): return .integer(number)
        case let .float32(number): return .number("\(number)")
        case let .float64(number): return .number("\(number)")
        case let .string(text): return .string(text)
        case let .bytes(bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case let .array(items): return .array(items.map(json))
        case let .map(entries):
            return .object(entries.map { entry in
                if case let .string(key) = entry.key { return (key, json(entry.value)) }
                return (json(entry.key).serialized, json(entry.value))
            })
        case let .structure(value):
            return .object(value.schema.fields.map { ($0.name, json(value.values[$0.index])) })
        }
    }

    static func connectValue(_ value: JSONValue) -> ConnectValue {
        switch value {
        case .null: return .null
        case let .bool(flag): return .boolean(flag)
        case let .number(text):
            if let integer = Int64(text) { return .int64(integer) }
            return .float64(Double(text) ?? 0)
        case let .string(text): return .string(text)
        case let .array(items): return .array(items.map(connectValue))
        case let .object(members): return .map(members.map { ConnectMapEntry(key: .string($0.0), value: connectValue($0.1)) })
        }
    }
}
