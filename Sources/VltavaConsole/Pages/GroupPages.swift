import Hummingbird
import NIOCore
import VltavaClient

/// Consumer groups: the list with total lag, one group's lag per partition with its chart, offset reset, delete.
extension Console {
    func groups(_ request: PageRequest) async throws -> RenderedPage {
        let groups = try await kafka.listGroups().sorted { $0.groupId < $1.groupId }
        // One Metadata and one ListOffsets for every topic the groups committed, then an OffsetFetch per group.
        let committed = try await kafka.committedOffsets(groups: groups.map(\.groupId))
        var members: [String: Int] = [:]
        var wanted: [String: Set<Int32>] = [:]
        for offsets in committed.values {
            for (topic, partitions) in offsets { wanted[topic, default: []].formUnion(partitions.keys) }
        }
        let ends = try await kafka.listOffsets(wanted.mapValues { $0.sorted() }, spec: .latest)
        for group in groups where group.state != "Empty" && group.state != "Dead" {
            members[group.groupId] = (try? await kafka.describeGroup(group.groupId))?.members.count
        }
        let rows: [[String: Any]] = groups.map { group in
            let lag = PartitionLag.total(committed: committed[group.groupId] ?? [:], ends: ends)
            return [
                "id": group.groupId, "link": group.groupId.urlEncoded, "state": group.state.isEmpty ? "-" : group.state,
                "type": [group.type, group.protocolType].filter { !$0.isEmpty }.joined(separator: " · "),
                "members": members[group.groupId] ?? 0, "lag": lag,
            ]
        }
        return RenderedPage(title: "Consumer groups", section: "groups", template: "groups", context: ["groups": rows])
    }

    func group(_ request: PageRequest, id: String) async throws -> RenderedPage {
        let description = try await kafka.describeGroup(id)
        let committedAnything = description.state == "Dead" ? !(try await kafka.committedOffsets(group: id)).isEmpty : true
        guard committedAnything else {
            throw ConsoleError.notFound("There is no group \(id).")
        }
        let lag = try await kafka.groupLag(group: id, description: description)
        let rows: [[String: Any]] = lag.map { row in
            [
                "topic": row.topic, "topicLink": row.topic.urlEncoded, "partition": row.partition,
                "committed": row.committed.map(String.init) ?? "-", "end": row.logEnd.map(String.init) ?? "-",
                "lag": row.lag.map(String.init) ?? "-", "member": row.owner?.memberId ?? "-",
                "host": row.owner?.clientHost ?? "-", "client": row.owner?.clientId ?? "-",
            ]
        }
        let members: [[String: Any]] = description.members.map { member in
            [
                "memberId": member.memberId, "instanceId": member.groupInstanceId ?? "-", "clientId": member.clientId,
                "host": member.clientHost,
                "assignment": member.assignment.sorted { $0.key < $1.key }
                    .map { "\($0.key)(\($0.value.sorted().map(String.init).joined(separator: ",")))" }.joined(separator: " "),
            ]
        }
        var topics = Set(lag.map(\.topic))
        if topics.isEmpty { topics = Set(try await kafka.listTopics()) }
        let context: [String: Any] = [
            "id": id, "link": id.urlEncoded, "state": description.state, "memberCount": description.members.count,
            "totalLag": String(lag.compactMap(\.lag).reduce(0, +)),
            "protocol": description.protocolName.isEmpty ? description.protocolType : "\(description.protocolType) · \(description.protocolName)",
            "rows": rows, "members": members, "topics": topics.sorted(), "chart": lagChartSVG(group: id),
        ]
        return RenderedPage(title: "Group \(id)", section: "groups", template: "group", context: context)
    }

    func lagChartSVG(group: String) -> String {
        SVGChart().render([.init(name: "total lag of \(group)", points: history.lag(group: group))])
    }

    func lagChart(group: String) -> Response {
        Response(status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: lagChartSVG(group: group))))
    }

    func resetOffsets(_ request: PageRequest, group: String) async throws -> ActionOutcome {
        let form = request.form
        guard let topic = form.text("topic") else { throw ConsoleError.badRequest("Choose the topic whose offsets to reset.") }
        let value = form.text("value")
        let target: OffsetResetTarget
        switch form["target"] ?? "" {
        case "earliest": target = .earliest
        case "latest": target = .latest
        case "offset":
            guard let offset = value.flatMap({ Int64($0) }), offset >= 0 else { throw ConsoleError.badRequest("Give the offset to reset to.") }
            target = .offset(offset)
        case "shift":
            guard let shift = value.flatMap({ Int64($0) }) else { throw ConsoleError.badRequest("Give the shift, such as -100.") }
            target = .shiftBy(shift)
        case "timestamp":
            guard let milliseconds = value.flatMap(Timestamps.parse) else {
                throw ConsoleError.badRequest("Give the time as ISO 8601 (2024-01-31T12:00:00Z) or milliseconds since 1970.")
            }
            target = .timestamp(milliseconds)
        default:
            throw ConsoleError.badRequest("Choose earliest, latest, offset, time or shift.")
        }
        switch try await kafka.planOffsetReset(group: group, topic: topic, to: target) {
        case let .groupActive(state):
            throw ConsoleError.badRequest("The offsets of \(group) can only be reset while it has no members; it is \(state). Stop its consumers first.")
        case let .offsets(offsets):
            try await kafka.commitOffsets(group: group, topic: topic, offsets: offsets)
            let list = offsets.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: ", ")
            return ActionOutcome(location: "/groups/\(group.urlEncoded)", notice: "Reset \(group)'s offsets of \(topic): \(list).")
        }
    }

    func deleteGroup(_ request: PageRequest, group: String) async throws -> ActionOutcome {
        try Self.confirm(request, name: group, what: "delete the group")
        try await kafka.deleteGroup(group)
        return ActionOutcome(location: "/groups", notice: "Deleted group \(group).")
    }
}
