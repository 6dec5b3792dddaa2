/// One request of the HTTP sink: its method, URL and body, and the records it carries.
public struct HttpSinkRequest: Sendable, Hashable {
    public var method: String
    public var url: String
    public var body: String
    public var records: [ConnectRecord]
}

/// What the sink makes of a `put`'s records: the requests to send, in order; the records with null values it skips
/// (to log them when `behavior.on.null.values=log`); the records it refuses (a null value under `fail`, a value that
/// cannot be written as JSON), which `behavior.on.error` decides about.
public struct HttpSinkPlan: Sendable {
    public var requests: [HttpSinkRequest] = []
    public var skippedNullValues: [ConnectRecord] = []
    public var refused: [(record: ConnectRecord, error: ConnectError)] = []
}

/// Confluent's batching: records go to the URL of `http.api.url` (with the record's `${topic}` and `${key}`) and
/// into the batch of their `batch.key.pattern`; a batch is sent when it holds `batch.max.size` records, and the rest
/// at the end of the `put`. A body is `batch.prefix` + the records joined by `batch.separator` + `batch.suffix`, or
/// a JSON array with `batch.json.as.array` and `request.body.format=json`. A record with a null value (a tombstone)
/// follows `behavior.on.null.values`; `delete` sends a DELETE to its URL, after the batches before it.
public struct HttpRequestBatcher: Sendable {
    public let config: HttpSinkConfig
    private let json: JsonConverter

    public init(config: HttpSinkConfig) {
        self.config = config
        var json = JsonConverter()
        // Plain JSON of the value, without the schema envelope: Confluent's `request.body.format=json`.
        try? json.configure([JsonConverter.schemasEnableConfig: "false"], isKey: false)
        self.json = json
    }

    public func plan(_ records: [ConnectRecord]) -> HttpSinkPlan {
        var plan = HttpSinkPlan()
        var pending: [(url: String, batchKey: String, records: [ConnectRecord], bodies: [String])] = []
        func send(_ index: Int) {
            let batch = pending.remove(at: index)
            plan.requests.append(HttpSinkRequest(method: config.method, url: batch.url, body: body(batch.bodies), records: batch.records))
        }
        for record in records {
            let key = record.key.isNull ? "null" : FileStreamSinkTask.javaString(record.key, schema: record.keySchema)
            let url = HttpSinkConfig.substitute(config.urlTemplate, topic: record.topic, key: key)
            if record.value.isNull {
                switch config.behaviorOnNullValues {
                case .ignore:
                    continue
                case .log:
                    plan.skippedNullValues.append(record)
                case .fail:
                    plan.refused.append((record, .data("the record \(Self.coordinates(record)) has a null value "
                        + "(behavior.on.null.values=fail)")))
                case .delete:
                    while !pending.isEmpty { send(0) }
                    plan.requests.append(HttpSinkRequest(method: "DELETE", url: url, body: "", records: [record]))
                }
                continue
            }
            let text: String
            do {
                text = try format(record)
            } catch {
                plan.refused.append((record, error))
                continue
            }
            let batchKey = HttpSinkConfig.substitute(config.batchKeyPattern, topic: record.topic, key: key)
            let index: Int
            if let found = pending.firstIndex(where: { $0.url == url && $0.batchKey == batchKey }) {
                index = found
            } else {
                pending.append((url, batchKey, [], []))
                index = pending.count - 1
            }
            pending[index].records.append(record)
            pending[index].bodies.append(text)
            if pending[index].records.count >= config.batchMaxSize { send(index) }
        }
        while !pending.isEmpty { send(0) }
        return plan
    }

    /// A record's value as it goes into a body: its string form (Java's `String.valueOf`), or its JSON.
    public func format(_ record: ConnectRecord) throws(ConnectError) -> String {
        switch config.bodyFormat {
        case .string:
            return FileStreamSinkTask.javaString(record.value, schema: record.valueSchema)
        case .json:
            let bytes = try json.fromConnectData(topic: record.topic, schema: record.valueSchema, value: record.value, headers: [])
            return String(decoding: bytes ?? Array("null".utf8), as: UTF8.self)
        }
    }

    /// The body of a batch of formatted records.
    public func body(_ formatted: [String]) -> String {
        if config.bodyFormat == .json, config.batchJsonAsArray { return "[" + formatted.joined(separator: ",") + "]" }
        return config.batchPrefix + formatted.joined(separator: config.batchSeparator) + config.batchSuffix
    }

    /// `topic-partition@offset`, as the worker's messages name a record.
    static func coordinates(_ record: ConnectRecord) -> String {
        "\(record.topic)-\(record.kafkaPartition.map(String.init) ?? "?")@\(record.kafkaOffset.map(String.init) ?? "?")"
    }
}
