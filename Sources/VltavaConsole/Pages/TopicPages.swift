import Hummingbird
import KafkaProtocol
import VltavaClient

/// The overview and the topic pages: list, create, one topic's partitions and configs, and its changes.
extension Console {
    func overview(_ request: PageRequest) async throws -> RenderedPage {
        let cluster = try await kafka.describeCluster()
        let metadata = try await kafka.refreshMetadata()
        let groups = try await kafka.listGroups()
        let brokers: [[String: Any]] = cluster.brokers.map {
            ["nodeId": $0.nodeId, "host": $0.address.host, "port": $0.address.port, "rack": $0.rack ?? "",
             "role": $0.nodeId == cluster.controllerId ? "controller" : "broker"]
        }
        let context: [String: Any] = [
            "clusterId": cluster.clusterId ?? "", "brokerCount": cluster.brokers.count,
            "topicCount": metadata.topics.count, "partitionCount": metadata.topics.reduce(0) { $0 + $1.partitions.count },
            "groupCount": groups.count, "recordsRate": Self.rate(history.latestClusterRate), "version": configuration.version,
            "chart": overviewChartSVG(), "brokers": brokers,
            "bootstrap": await kafka.bootstrapServers.map(\.description).joined(separator: ","),
            "registryURL": configuration.registryURL ?? "", "connectURL": configuration.connectURL ?? "",
        ]
        return RenderedPage(title: "Overview", section: "overview", template: "overview", context: context)
    }

    func overviewChartSVG() -> String {
        SVGChart(unit: "/s").render([.init(name: "records produced per second", points: history.clusterRate)])
    }

    func overviewChart() -> Response {
        Response(status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: overviewChartSVG())))
    }

    func topics(_ request: PageRequest) async throws -> RenderedPage {
        let includeInternal = request.query["internal"] == "1"
        let filter = request.query.text("filter")
        let metadata = try await kafka.refreshMetadata()
        let needle = filter?.lowercased()
        let shown = metadata.topics.filter { topic in
            guard includeInternal || !topic.isInternal else { return false }
            guard let needle else { return true }
            return topic.name.lowercased().contains(needle)
        }
        var partitions: [String: [Int32]] = [:]
        for topic in shown { partitions[topic.name] = topic.partitions.map(\.partition) }
        let ends = try await kafka.listOffsets(partitions, spec: .latest, metadata: metadata)
        let sizes = (try? await kafka.logSizes()) ?? [:]
        let rows: [[String: Any]] = shown.map { topic in
            let size: String = sizes[topic.name].map { Self.bytes($0.values.reduce(0, +)) } ?? "-"
            let end: String = ends[topic.name].map { String($0.values.reduce(0, +)) } ?? "-"
            let row: [String: Any] = [
                "name": topic.name, "link": topic.name.urlEncoded, "internal": topic.isInternal,
                "partitions": topic.partitions.count, "replicas": topic.partitions.first?.replicas.count ?? 0,
                "size": size, "endOffsets": end, "rate": Self.rate(history.rate(topic: topic.name)),
            ]
            return row
        }
        return RenderedPage(title: "Topics", section: "topics", template: "topics",
                            context: ["topics": rows, "filter": filter ?? "", "internal": includeInternal])
    }

    func createTopic(_ request: PageRequest) async throws -> ActionOutcome {
        let form = request.form
        guard let name = form.text("name") else { throw ConsoleError.badRequest("Give the topic a name.") }
        let partitions = try form.integer("partitions", label: "Partitions", in: Int32(1)...Int32(1_000_000)) ?? -1
        let replication = try form.integer("replication_factor", label: "Replication factor", in: Int16(1)...Int16.max) ?? -1
        var configs: [ConfigAssignment] = []
        for line in (form["configs"] ?? "").split(whereSeparator: \.isNewline) {
            let text = String(line).trimmedWhitespace
            guard !text.isEmpty, !text.hasPrefix("#") else { continue }
            do {
                configs.append(try ConfigAssignment(parsing: text))
            } catch {
                throw ConsoleError.badRequest("Each config line is name=value: '\(text)' is not.")
            }
        }
        try await kafka.createTopics([NewTopic(name: name, partitions: partitions, replicationFactor: replication, configs: configs)])
        return ActionOutcome(location: "/topics/\(name.urlEncoded)", notice: "Created topic \(name).")
    }

    func topic(_ request: PageRequest, name: String) async throws -> RenderedPage {
        let topic = try await kafka.topicMetadata(name)
        let partitions = topic.partitions.map(\.partition)
        let starts = try await kafka.listOffsets(topic: name, partitions: partitions, spec: .earliest)
        let ends = try await kafka.listOffsets(topic: name, partitions: partitions, spec: .latest)
        let sizes = ((try? await kafka.logSizes(of: [name: partitions])) ?? [:])[name] ?? [:]
        let configs = try await kafka.describeConfigs([.topic(name)])[.topic(name)] ?? []
        let rows: [[String: Any]] = topic.partitions.map { partition in
            let start: String = starts[partition.partition].map { String($0) } ?? "-"
            let end: String = ends[partition.partition].map { String($0) } ?? "-"
            let size: String = sizes[partition.partition].map { Self.bytes($0) } ?? "-"
            let replicas: String = partition.replicas.map { String($0) }.joined(separator: ",")
            let isr: String = partition.isr.map { String($0) }.joined(separator: ",")
            let row: [String: Any] = [
                "partition": partition.partition, "leader": partition.leader, "replicas": replicas, "isr": isr,
                "start": start, "end": end, "size": size, "link": name.urlEncoded,
            ]
            return row
        }
        let configRows: [[String: Any]] = configs.sorted { $0.name < $1.name }.map { entry in
            ["name": entry.name, "value": entry.isSensitive ? "(hidden)" : entry.value ?? "", "source": Self.sourceName(entry.source),
             "isDefault": entry.isDefault]
        }
        let context: [String: Any] = [
            "name": name, "link": name.urlEncoded, "topicId": "\(topic.topicId)", "internal": topic.isInternal,
            "partitionCount": topic.partitions.count, "endOffsets": String(ends.values.reduce(0, +)),
            "size": Self.bytes(sizes.values.reduce(0, +)), "rate": Self.rate(history.rate(topic: name)),
            "partitions": rows, "configs": configRows,
        ]
        return RenderedPage(title: "Topic \(name)", section: "topics", template: "topic", context: context)
    }

    func setTopicConfig(_ request: PageRequest, name: String) async throws -> ActionOutcome {
        guard let config = request.form.text("name") else { throw ConsoleError.badRequest("Name the config to change.") }
        if let value = request.form.text("value") {
            try await kafka.incrementalAlterConfigs(.topic(name), [ConfigAlteration(name: config, operation: .set, value: value)])
            return ActionOutcome(location: "/topics/\(name.urlEncoded)", notice: "Set \(config)=\(value) on \(name).")
        }
        try await kafka.incrementalAlterConfigs(.topic(name), [ConfigAlteration(name: config, operation: .delete, value: nil)])
        return ActionOutcome(location: "/topics/\(name.urlEncoded)", notice: "\(config) of \(name) is back to its default.")
    }

    func addPartitions(_ request: PageRequest, name: String) async throws -> ActionOutcome {
        guard let count = try request.form.integer("count", label: "The partition count", in: Int32(1)...Int32(1_000_000)) else {
            throw ConsoleError.badRequest("Give the new partition count.")
        }
        try await kafka.createPartitions(topic: name, totalCount: count)
        return ActionOutcome(location: "/topics/\(name.urlEncoded)", notice: "\(name) has \(count) partitions.")
    }

    func purgeTopic(_ request: PageRequest, name: String) async throws -> ActionOutcome {
        try Self.confirm(request, name: name, what: "purge the topic")
        let topic = try await kafka.topicMetadata(name)
        let starts = try await kafka.deleteRecords(topic: name, offsets: Dictionary(uniqueKeysWithValues: topic.partitions.map { ($0.partition, -1) }))
        return ActionOutcome(location: "/topics/\(name.urlEncoded)",
                             notice: "Purged \(name): its partitions start at \(starts.sorted { $0.key < $1.key }.map { "\($0.value)" }.joined(separator: ", ")).")
    }

    func deleteTopic(_ request: PageRequest, name: String) async throws -> ActionOutcome {
        try Self.confirm(request, name: name, what: "delete the topic")
        try await kafka.deleteTopics([name])
        return ActionOutcome(location: "/topics", notice: "Deleted topic \(name).")
    }

    /// A destructive form carries the thing's name typed again.
    static func confirm(_ request: PageRequest, name: String, what: String) throws {
        guard request.form["confirm"]?.trimmedWhitespace == name else {
            throw ConsoleError.badRequest("Type \(name) into the confirmation field to \(what).")
        }
    }

    static func sourceName(_ source: ConfigEntry.Source) -> String {
        switch source {
        case .dynamicTopicConfig: return "topic"
        case .dynamicBrokerConfig, .dynamicDefaultBrokerConfig: return "broker (dynamic)"
        case .staticBrokerConfig: return "broker"
        case .defaultConfig: return "default"
        default: return "other"
        }
    }

    /// 1.5 KiB, 20 MiB.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(SVGChart.format(value)) \(units[unit])"
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return SVGChart.format(value)
    }
}
