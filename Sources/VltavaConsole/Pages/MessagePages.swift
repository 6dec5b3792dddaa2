import Hummingbird
import KafkaRecords
import NIOCore
import NIOPosix
import SchemaRegistry
import VltavaClient
import VltavaConnect

/// What the messages page was asked to show: partitions, where to start, how many, and a text filter.
struct MessageQuery: Sendable {
    enum Seek: String, CaseIterable, Sendable {
        case newest, oldest, offset, timestamp
    }

    var partition: Int32?
    var seek: Seek = .newest
    var offset: Int64?
    var timestamp: Int64?
    var timestampText = ""
    var limit = 50
    var filter: String?

    static let maximumLimit = 1000
    /// A filter scans at most this many records per page (so a filter matching nothing does not read the topic).
    static let maximumScanned = 20_000

    init(_ query: FormFields) throws(ConsoleError) {
        partition = try query.integer("partition", label: "The partition", in: Int32(0)...Int32.max)
        if let text = query.text("seek") {
            guard let seek = Seek(rawValue: text) else { throw .badRequest("seek is newest, oldest, offset or timestamp, not '\(text)'") }
            self.seek = seek
        }
        offset = try query.integer("offset", label: "The offset", in: Int64(0)...Int64.max)
        if let text = query.text("timestamp") {
            guard let milliseconds = Timestamps.parse(text) else {
                throw .badRequest("Cannot read '\(text)' as a time: give ISO 8601 (2024-01-31T12:00:00Z) or milliseconds since 1970.")
            }
            timestamp = milliseconds
            timestampText = text
        }
        if seek == .offset && offset == nil { throw .badRequest("Give the offset to start at.") }
        if seek == .timestamp && timestamp == nil { throw .badRequest("Give the time to start at.") }
        limit = try query.integer("limit", label: "The number of messages", in: 1...Self.maximumLimit) ?? 50
        filter = query.text("filter")
    }

    /// The query string that asks for this again (for the export link and the live tail).
    var queryString: String {
        var parts: [String] = []
        if let partition { parts.append("partition=\(partition)") }
        parts.append("seek=\(seek.rawValue)")
        if let offset { parts.append("offset=\(offset)") }
        if !timestampText.isEmpty { parts.append("timestamp=\(timestampText.urlEncoded)") }
        parts.append("limit=\(limit)")
        if let filter { parts.append("filter=\(filter.urlEncoded)") }
        return "?" + parts.joined(separator: "&")
    }
}

/// A record as the page shows it: decoded key, value and headers.
struct ShownMessage: Sendable {
    var record: ConsumedRecord
    var key: MessageDecoder.Decoded
    var value: MessageDecoder.Decoded
    var headers: [(name: String, value: String)]

    func matches(_ filter: String?) -> Bool {
        guard let filter else { return true }
        return key.text.contains(filter) || value.text.contains(filter) || headers.contains { $0.name.contains(filter) || $0.value.contains(filter) }
    }

    var context: [String: Any] {
        [
            "partition": record.partition, "offset": record.offset, "timestamp": Timestamps.iso(record.timestamp),
            "key": key.text, "value": value.text, "format": value.format,
            "headers": headers.map { ["name": $0.name, "value": $0.value] },
        ]
    }

    var json: JSONValue {
        func body(_ decoded: MessageDecoder.Decoded) -> JSONValue {
            if decoded.format == "null" { return .null }
            if decoded.format == "JSON" || decoded.schemaId != nil, let parsed = try? JSONParser.parse(decoded.text) { return parsed }
            return .string(decoded.text)
        }
        return .object([
            ("topic", .string(record.topic)), ("partition", .integer(record.partition)), ("offset", .integer(record.offset)),
            ("timestamp", .integer(record.timestamp)), ("time", .string(Timestamps.iso(record.timestamp))),
            ("key", body(key)), ("value", body(value)), ("format", .string(value.format)),
            ("schemaId", value.schemaId.map { .integer($0) } ?? .null),
            ("headers", .array(headers.map { .object([("key", .string($0.name)), ("value", .string($0.value))]) })),
        ])
    }
}

extension Console {
    func messages(_ request: PageRequest, topic: String) async throws -> RenderedPage {
        let query = try MessageQuery(request.query)
        let metadata = try await kafka.topicMetadata(topic)
        let (shown, scanned) = try await readMessages(topic: topic, metadata: metadata, query: query)
        let rows = shown.map(\.context)
        var summary = "\(shown.count) message(s)"
        if query.filter != nil { summary += " matching the filter, of \(scanned) read" }
        let context: [String: Any] = [
            "topic": topic, "link": topic.urlEncoded, "rows": rows, "summary": summary,
            "partitionOptions": metadata.partitions.map { ["value": $0.partition, "selected": $0.partition == query.partition] },
            "seekOptions": MessageQuery.Seek.allCases.map { ["value": $0.rawValue, "label": Self.seekLabel($0), "selected": $0 == query.seek] },
            "offset": query.offset.map(String.init) ?? "", "timestamp": query.timestampText, "limit": query.limit,
            "filter": query.filter ?? "", "query": query.queryString,
            "tailQuery": query.partition.map { "?partition=\($0)" } ?? "",
        ]
        return RenderedPage(title: "Messages of \(topic)", section: "topics", template: "messages", context: context)
    }

    static func seekLabel(_ seek: MessageQuery.Seek) -> String {
        switch seek {
        case .newest: return "newest first"
        case .oldest: return "from the oldest"
        case .offset: return "from the offset"
        case .timestamp: return "from the time"
        }
    }

    /// `GET /topics/{t}/messages.json`: the messages the page shows, as a JSON array.
    func exportMessages(_ request: Request, topic: String) async throws -> Response {
        do {
            let query = try MessageQuery(FormFields(request.uri.query.map { Substring($0) } ?? ""))
            let metadata = try await kafka.topicMetadata(topic)
            let (shown, _) = try await readMessages(topic: topic, metadata: metadata, query: query)
            return Response(
                status: .ok,
                headers: [.contentType: "application/json", .contentDisposition: "attachment; filename=\"\(topic)-messages.json\""],
                body: ResponseBody(byteBuffer: ByteBuffer(string: JSONValue.array(shown.map(\.json)).serialized)))
        } catch {
            let failure = ConsoleError.from(error)
            return Response(status: failure.status, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: JSONValue.object([("error", .string(failure.description))]).serialized)))
        }
    }

    /// Reads what a query asks: from each partition's starting offset up to `limit` matching records per partition
    /// (scanning at most `maximumScanned` in all), merged by time; newest first for `.newest`.
    func readMessages(topic: String, metadata: ClusterMetadata.Topic, query: MessageQuery) async throws -> ([ShownMessage], Int) {
        let partitions = try query.partition.map { partition -> [Int32] in
            guard metadata.partitions.contains(where: { $0.partition == partition }) else {
                throw ConsoleError.notFound("\(topic) has no partition \(partition)")
            }
            return [partition]
        } ?? metadata.partitions.map(\.partition)
        let starts = try await kafka.listOffsets(topic: topic, partitions: partitions, spec: .earliest)
        let ends = try await kafka.listOffsets(topic: topic, partitions: partitions, spec: .latest)
        var from: [Int32: Int64] = [:]
        switch query.seek {
        case .oldest:
            from = starts
        case .newest:
            // Each partition's last `limit` records, or more with a filter (it scans back further).
            let back = Int64(query.filter == nil ? query.limit : MessageQuery.maximumScanned / max(1, partitions.count))
            for partition in partitions {
                from[partition] = max(starts[partition] ?? 0, (ends[partition] ?? 0) - back)
            }
        case .offset:
            for partition in partitions { from[partition] = min(max(query.offset ?? 0, starts[partition] ?? 0), ends[partition] ?? 0) }
        case .timestamp:
            let found = try await kafka.listOffsets(topic: topic, partitions: partitions, spec: .timestamp(query.timestamp ?? 0))
            for partition in partitions { from[partition] = (found[partition] ?? -1) < 0 ? ends[partition] ?? 0 : found[partition] ?? 0 }
        }
        var collected: [Int32: [ConsumedRecord]] = [:]
        var scanned = 0
        var pending = from.filter { $0.value < (ends[$0.key] ?? 0) }
        let want = query.filter == nil ? query.limit : MessageQuery.maximumScanned
        while !pending.isEmpty, scanned < MessageQuery.maximumScanned {
            let fetched = try await kafka.fetch(topic: topic, offsets: pending, maxWait: .milliseconds(0), maxBytes: 16 << 20,
                                                partitionMaxBytes: 2 << 20)
            var progressed = false
            for answer in fetched {
                guard let end = ends[answer.partition] else { continue }
                for record in answer.records where record.offset < end && (collected[answer.partition]?.count ?? 0) < want {
                    collected[answer.partition, default: []].append(record)
                    scanned += 1
                }
                let next = answer.nextOffset
                if next > (pending[answer.partition] ?? next) { progressed = true }
                if next >= end || (collected[answer.partition]?.count ?? 0) >= want {
                    pending[answer.partition] = nil
                } else {
                    pending[answer.partition] = next
                }
            }
            if !progressed { break }
        }
        let decoder = self.decoder
        let records = collected.values.flatMap { $0 }
        let decoded = try await NIOThreadPool.singleton.runIfActive {
            records.map { Self.show($0, decoder: decoder) }
        }
        var shown = decoded.filter { $0.matches(query.filter) }
        shown.sort { ($0.record.timestamp, $0.record.partition, $0.record.offset) < ($1.record.timestamp, $1.record.partition, $1.record.offset) }
        if query.seek == .newest {
            shown.reverse()
        }
        if query.partition == nil || query.filter != nil { shown = Array(shown.prefix(query.limit)) }
        return (shown, scanned)
    }

    static func show(_ record: ConsumedRecord, decoder: MessageDecoder) -> ShownMessage {
        ShownMessage(
            record: record,
            key: decoder.decode(record.key, topic: record.topic, isKey: true),
            value: decoder.decode(record.value, topic: record.topic, isKey: false),
            headers: record.headers.map { header in
                guard let value = header.value else { return (header.key, "null") }
                let bytes = Array(value.readableBytesView)
                return (header.key, String(validating: bytes, as: UTF8.self) ?? MessageDecoder.hex(bytes))
            })
    }

    /// `GET /topics/{t}/tail`: Server-Sent Events, one rendered row per new record from the current end on,
    /// a comment every 5 s while quiet; ends when the browser goes (at the next write).
    func tail(_ request: Request, topic: String) async throws -> Response {
        let query = FormFields(request.uri.query.map { Substring($0) } ?? "")
        let metadata: ClusterMetadata.Topic
        do {
            metadata = try await kafka.topicMetadata(topic)
        } catch {
            return plain(ConsoleError.from(error).status, "\(ConsoleError.from(error).description)\n")
        }
        let partitions = query["partition"].flatMap { Int32($0) }.map { [$0] } ?? metadata.partitions.map(\.partition)
        guard tails.acquire() else {
            return plain(.tooManyRequests, "Too many live tails are open; close one and try again.\n")
        }
        // A long-polling fetch holds back the answers to later requests on its connection (Kafka answers in order),
        // so each tail has a client, and so connections, of its own.
        let kafka = KafkaClient(bootstrapServers: await self.kafka.bootstrapServers, configuration: await self.kafka.configuration)
        let (decoder, templates, tails, logger) = (self.decoder, self.templates, self.tails, self.logger)
        let body = ResponseBody { writer in
            defer {
                tails.release()
                Task { await kafka.close() }
            }
            var offsets = try await kafka.listOffsets(topic: topic, partitions: partitions, spec: .latest)
            try await writer.write(ByteBuffer(string: "retry: 2000\n: tailing \(topic)\n\n"))
            var quietSince = ContinuousClock.now
            while !Task.isCancelled {
                let fetched: [FetchedPartition]
                do {
                    fetched = try await kafka.fetch(topic: topic, offsets: offsets, maxWait: .seconds(1))
                } catch {
                    logger.debug("live tail of \(topic) stopped: \(error)")
                    break
                }
                let records = fetched.flatMap(\.records)
                for answer in fetched { offsets[answer.partition] = answer.nextOffset }
                if records.isEmpty {
                    // A comment every 5 s: a write to a browser that went away fails, which ends the tail.
                    if ContinuousClock.now - quietSince > .seconds(5) {
                        try await writer.write(ByteBuffer(string: ": quiet\n\n"))
                        quietSince = .now
                    }
                    continue
                }
                quietSince = .now
                let rows = try await NIOThreadPool.singleton.runIfActive {
                    records.sorted { ($0.timestamp, $0.offset) < ($1.timestamp, $1.offset) }.map { record in
                        templates.render(Self.show(record, decoder: decoder).context, withTemplate: "message_row") ?? ""
                    }
                }
                var event = ""
                for row in rows.reversed() {
                    for line in row.split(separator: "\n", omittingEmptySubsequences: false) { event += "data: \(line)\n" }
                    event += "\n"
                }
                try await writer.write(ByteBuffer(string: event))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    func produceForm(_ request: PageRequest, topic: String) async throws -> RenderedPage {
        let metadata = try await kafka.topicMetadata(topic)
        let subjects = (try? await registry?.subjects()) ?? []
        return RenderedPage(
            title: "Produce to \(topic)", section: "topics", template: "produce",
            context: ["topic": topic, "link": topic.urlEncoded, "partitions": metadata.partitions.map(\.partition), "subjects": subjects])
    }

    func produce(_ request: PageRequest, topic: String) async throws -> ActionOutcome {
        let form = request.form
        let partition = try form.integer("partition", label: "The partition", in: Int32(0)...Int32.max)
        let key = form["null_key"] == "1" ? nil : form["key"].map { ByteBuffer(string: $0) }
        var value = form["null_value"] == "1" ? nil : form["value"].map { ByteBuffer(string: $0) }
        if let subject = form.text("value_subject"), let text = form["value"], form["null_value"] != "1" {
            value = try await serialize(text, subject: subject, topic: topic)
        }
        var headers: [RecordHeader] = []
        for line in (form["headers"] ?? "").split(whereSeparator: \.isNewline) {
            let text = String(line)
            guard !text.trimmedWhitespace.isEmpty else { continue }
            guard let equals = text.firstIndex(of: "=") else { throw ConsoleError.badRequest("Each header line is name=value: '\(text)' is not.") }
            headers.append(RecordHeader(key: String(text[..<equals]).trimmedWhitespace,
                                        value: ByteBuffer(string: String(text[text.index(after: equals)...]))))
        }
        let results = try await kafka.produce(
            topic: topic, records: [ProducerRecord(key: key, value: value, headers: headers)], partition: partition)
        guard let result = results.first else { throw ConsoleError.unavailable("the broker did not say where the record went") }
        return ActionOutcome(
            location: "/topics/\(topic.urlEncoded)/messages?partition=\(result.partition)&seek=newest",
            notice: "Produced to partition \(result.partition) at offset \(result.baseOffset).")
    }

    /// The JSON typed into the form written with a subject's latest schema (AVRO, PROTOBUF or JSON Schema) as
    /// Confluent's serializers write it; a value that does not fit the schema is refused with the field named.
    func serialize(_ text: String, subject: String, topic: String) async throws -> ByteBuffer {
        let bytes: [UInt8]
        do {
            bytes = try await NIOThreadPool.singleton.runIfActive {
                try self.decoder.serialize(json: text, subject: subject, topic: topic, isKey: false)
            }
        } catch let error as ConnectError {
            if case let .failed(message) = error { throw ConsoleError.unavailable(message) }
            throw ConsoleError.badRequest("Cannot write the value with \(subject)'s latest schema: \(error)")
        }
        return ByteBuffer(bytes: bytes)
    }
}
