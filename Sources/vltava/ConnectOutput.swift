import SchemaRegistry

/// The human-readable forms of Kafka Connect's REST answers (`--json` prints the answers as they are).
enum ConnectOutput {
    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.paddedTo(widths[column])
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `GET /connectors`: names one per line; with `?expand=status`, a table of their states and tasks.
    static func connectorList(_ json: JSONValue) -> String {
        if let names = json.arrayValue {
            return names.compactMap(\.stringValue).sorted().joined(separator: "\n")
        }
        guard let members = json.objectValue else { return json.serialized }
        let rows = members.sorted { $0.0 < $1.0 }.map { name, entry -> [String] in
            let status = entry["status"]
            let info = entry["info"]
            let type = status?["type"]?.stringValue ?? info?["type"]?.stringValue ?? ""
            let tasks = status?["tasks"]?.arrayValue ?? []
            let running = tasks.filter { $0["state"]?.stringValue == "RUNNING" }.count
            let connectorClass = info?["config"]?["connector.class"]?.stringValue ?? ""
            var row = [name, type, status?["connector"]?["state"]?.stringValue ?? "", status == nil ? "" : "\(running)/\(tasks.count) running"]
            if info != nil { row.append(connectorClass) }
            return row
        }
        var header = ["NAME", "TYPE", "STATE", "TASKS"]
        if members.contains(where: { $0.1["info"] != nil }) { header.append("CLASS") }
        return table(header, rows)
    }

    /// `GET /connectors/{name}`: its type, tasks and configuration.
    static func connectorInfo(_ json: JSONValue) -> String {
        let name = json["name"]?.stringValue ?? ""
        let tasks = (json["tasks"]?.arrayValue ?? []).compactMap { $0["task"]?.integerValue }.map(String.init)
        var lines = ["Connector: \(name)"]
        if let type = json["type"]?.stringValue { lines.append("Type:      \(type)") }
        lines.append("Tasks:     \(tasks.isEmpty ? "none" : tasks.joined(separator: ", "))")
        lines.append("Config:")
        let config = (json["config"]?.objectValue ?? []).sorted { $0.0 < $1.0 }
        lines += config.map { "  \($0.0) = \(text($0.1))" }
        return lines.joined(separator: "\n")
    }

    /// `GET /connectors/{name}/status`: the connector's state, then a table of its tasks (with the first line of
    /// each failed one's trace).
    static func status(_ json: JSONValue) -> String {
        let name = json["name"]?.stringValue ?? ""
        let connector = json["connector"]
        var lines = ["Connector \(name) is \(connector?["state"]?.stringValue ?? "UNKNOWN")"
            + (connector?["worker_id"]?.stringValue.map { " on \($0)" } ?? "")
            + (json["type"]?.stringValue.map { " (\($0))" } ?? "")]
        if let trace = connector?["trace"]?.stringValue { lines.append("  " + firstLine(trace)) }
        let tasks = json["tasks"]?.arrayValue ?? []
        if tasks.isEmpty {
            lines.append("No tasks.")
        } else {
            lines.append(table(["TASK", "STATE", "WORKER", "TRACE"], tasks.map { task in
                [task["id"].map(text) ?? "", task["state"]?.stringValue ?? "", task["worker_id"]?.stringValue ?? "",
                 task["trace"]?.stringValue.map(firstLine) ?? ""]
            }))
        }
        return lines.joined(separator: "\n")
    }

    /// `GET /connectors/{name}/offsets`: one row per source partition (or topic partition, for a sink).
    static func offsets(_ json: JSONValue) -> String {
        let entries = json["offsets"]?.arrayValue ?? []
        if entries.isEmpty { return "No offsets." }
        return table(["PARTITION", "OFFSET"], entries.map { entry in
            [entry["partition"].map(compact) ?? "", entry["offset"].map(compact) ?? "null"]
        })
    }

    /// `GET /connector-plugins`.
    static func plugins(_ json: JSONValue) -> String {
        let plugins = (json.arrayValue ?? []).sorted { ($0["class"]?.stringValue ?? "") < ($1["class"]?.stringValue ?? "") }
        return table(["CLASS", "TYPE", "VERSION"], plugins.map { plugin in
            [plugin["class"]?.stringValue ?? "", plugin["type"]?.stringValue ?? "", plugin["version"]?.stringValue ?? ""]
        })
    }

    /// The error of a failed call: Kafka Connect's `message` (`{"error_code": 404, "message": "..."}`), else the
    /// status and body.
    static func errorMessage(status: Int, body: String) -> String {
        if let json = try? JSONParser.parse(body), let message = json["message"]?.stringValue, !message.isEmpty {
            return message
        }
        let trimmed = body.trimmedWhitespace
        return "HTTP \(status)" + (trimmed.isEmpty ? "" : ": \(trimmed.prefix(500))")
    }

    /// A JSON value on one line: strings without quotes, everything else as JSON.
    static func text(_ json: JSONValue) -> String { json.stringValue ?? json.serialized }

    private static func compact(_ json: JSONValue) -> String { json.serialized }

    private static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", maxSplits: 1).first ?? "")
    }
}

extension String {
    /// The string padded with spaces to `length` characters (unchanged if longer).
    func paddedTo(_ length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
