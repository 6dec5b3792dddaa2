import NIOHTTP1
import VltavaHTTP
import SchemaRegistry

/// One call of Kafka Connect's REST API.
struct ConnectRequest: Equatable {
    var method: HTTPMethod
    var path: String
    var body: String?
}

/// The REST calls behind `vltava connectors` (Kafka Connect's API, as any worker answers it).
enum ConnectRequests {
    static func connector(_ name: String, _ suffix: String = "") -> String {
        "/connectors/" + HTTPEndpoint.encodePathSegment(name) + suffix
    }

    /// `GET /connectors`, with `?expand=status` and/or `?expand=info`.
    static func list(expand: [String]) -> ConnectRequest {
        let query = expand.map { "expand=" + HTTPEndpoint.encodePathSegment($0) }.joined(separator: "&")
        return ConnectRequest(method: .GET, path: "/connectors" + (query.isEmpty ? "" : "?" + query))
    }

    static func get(_ name: String) -> ConnectRequest { ConnectRequest(method: .GET, path: connector(name)) }

    /// `POST /connectors` with Kafka's `{"name": ..., "config": {...}}`; with `update`, `PUT .../config`, which
    /// creates the connector or replaces its configuration.
    static func create(_ name: String, config: [(String, String)], update: Bool) -> ConnectRequest {
        let configJSON = JSONValue.object(config.map { ($0.0, .string($0.1)) })
        if update {
            return ConnectRequest(method: .PUT, path: connector(name, "/config"), body: configJSON.serialized)
        }
        let body = JSONValue.object([("name", .string(name)), ("config", configJSON)])
        return ConnectRequest(method: .POST, path: "/connectors", body: body.serialized)
    }

    static func delete(_ name: String) -> ConnectRequest { ConnectRequest(method: .DELETE, path: connector(name)) }
    static func pause(_ name: String) -> ConnectRequest { ConnectRequest(method: .PUT, path: connector(name, "/pause")) }
    static func resume(_ name: String) -> ConnectRequest { ConnectRequest(method: .PUT, path: connector(name, "/resume")) }
    static func stop(_ name: String) -> ConnectRequest { ConnectRequest(method: .PUT, path: connector(name, "/stop")) }
    static func status(_ name: String) -> ConnectRequest { ConnectRequest(method: .GET, path: connector(name, "/status")) }

    /// `POST .../restart`, with Kafka's `includeTasks` and `onlyFailed` (both false by default).
    static func restart(_ name: String, includeTasks: Bool, onlyFailed: Bool) -> ConnectRequest {
        var query: [String] = []
        if includeTasks { query.append("includeTasks=true") }
        if onlyFailed { query.append("onlyFailed=true") }
        return ConnectRequest(method: .POST, path: connector(name, "/restart") + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
    }

    /// `GET .../offsets`, or `DELETE .../offsets` to reset them (the connector must be stopped).
    static func offsets(_ name: String, reset: Bool) -> ConnectRequest {
        ConnectRequest(method: reset ? .DELETE : .GET, path: connector(name, "/offsets"))
    }

    static func plugins(all: Bool) -> ConnectRequest {
        ConnectRequest(method: .GET, path: "/connector-plugins" + (all ? "?connectorsOnly=false" : ""))
    }
}

/// Connector configurations from files and `key=value` arguments.
enum ConnectorConfigInput {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The name and configuration of Kafka's create body, `{"name": ..., "config": {...}}`.
    static func createBody(_ text: String, source: String) throws(Failure) -> (name: String?, config: [(String, String)]) {
        let json = try parseJSON(text, source: source)
        guard let config = json["config"] else {
            throw Failure(description: "\(source) has no \"config\" object (expected {\"name\": ..., \"config\": {...}})")
        }
        return (json["name"]?.stringValue, try flatConfig(config, source: source))
    }

    /// A configuration file: JSON (a flat object, or Kafka's create body) or Java properties, told apart by the
    /// first character that is not blank.
    static func configFile(_ text: String, source: String) throws(Failure) -> (name: String?, config: [(String, String)]) {
        guard text.first(where: { !$0.isWhitespace }) == "{" else { return (nil, try properties(text, source: source)) }
        let json = try parseJSON(text, source: source)
        if let config = json["config"], config.isObject { return (json["name"]?.stringValue, try flatConfig(config, source: source)) }
        return (nil, try flatConfig(json, source: source))
    }

    /// `key=value` arguments.
    static func assignments(_ arguments: [String]) throws(Failure) -> [(String, String)] {
        var config: [(String, String)] = []
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                throw Failure(description: "--config \(argument): expected key=value")
            }
            config.append((String(argument[..<equals]), String(argument[argument.index(after: equals)...])))
        }
        return config
    }

    /// Later entries replace earlier ones with the same key, keeping the first one's place.
    static func merge(_ parts: [(String, String)]...) -> [(String, String)] {
        var merged: [(String, String)] = []
        for (key, value) in parts.joined() {
            if let index = merged.firstIndex(where: { $0.0 == key }) {
                merged[index].1 = value
            } else {
                merged.append((key, value))
            }
        }
        return merged
    }

    private static func parseJSON(_ text: String, source: String) throws(Failure) -> JSONValue {
        do {
            return try JSONParser.parse(text)
        } catch {
            throw Failure(description: "\(source) is not valid JSON: \(error)")
        }
    }

    /// Connect configurations are strings; numbers and booleans are taken as their text, as Connect's REST API does.
    private static func flatConfig(_ json: JSONValue, source: String) throws(Failure) -> [(String, String)] {
        guard let members = json.objectValue else { throw Failure(description: "\(source): the configuration must be a JSON object") }
        var config: [(String, String)] = []
        for (key, value) in members {
            switch value {
            case let .string(text): config.append((key, text))
            case let .number(text): config.append((key, text))
            case let .bool(flag): config.append((key, flag ? "true" : "false"))
            case .null: continue
            default: throw Failure(description: "\(source): the value of \(key) must be a string, number or boolean")
            }
        }
        return config
    }

    /// Java's `.properties` format: `key=value`, `key: value` or `key value`; `#` and `!` comments; a backslash at
    /// the end of a line continues it; `\t \n \r \f \uXXXX` and escaped separators in keys and values.
    static func properties(_ text: String, source: String) throws(Failure) -> [(String, String)] {
        var logicalLines: [String] = []
        var pending: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            var line = Substring(rawLine)
            if pending != nil {
                line = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
            } else {
                line = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
                if line.isEmpty || line.first == "#" || line.first == "!" { continue }
            }
            let trailingBackslashes = line.reversed().prefix { $0 == "\\" }.count
            if trailingBackslashes % 2 == 1 {
                pending = (pending ?? "") + line.dropLast()
                continue
            }
            logicalLines.append((pending ?? "") + line)
            pending = nil
        }
        if let pending { logicalLines.append(pending) }

        var config: [(String, String)] = []
        for line in logicalLines {
            var key = ""
            var index = line.startIndex
            while index < line.endIndex {
                let character = line[index]
                if character == "\\" {
                    index = line.index(after: index)
                    guard index < line.endIndex else { break }
                    key += try unescape(Substring(line), at: &index, source: source)
                    continue
                }
                if character == "=" || character == ":" || character == " " || character == "\t" || character == "\u{0C}" { break }
                key.append(character)
                index = line.index(after: index)
            }
            var rest = line[index...].drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
            if let first = rest.first, first == "=" || first == ":" {
                rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
            }
            var value = ""
            var valueIndex = rest.startIndex
            while valueIndex < rest.endIndex {
                if rest[valueIndex] == "\\" {
                    valueIndex = rest.index(after: valueIndex)
                    guard valueIndex < rest.endIndex else { break }
                    value += try unescape(rest, at: &valueIndex, source: source)
                    continue
                }
                value.append(rest[valueIndex])
                valueIndex = rest.index(after: valueIndex)
            }
            config.append((key, value))
        }
        return merge(config)
    }

    /// The character escaped at `index` (just after a backslash), advancing past it.
    private static func unescape(_ characters: Substring, at index: inout String.Index, source: String) throws(Failure) -> String {
        let character = characters[index]
        index = characters.index(after: index)
        switch character {
        case "t": return "\t"
        case "n": return "\n"
        case "r": return "\r"
        case "f": return "\u{0C}"
        case "u":
            guard let end = characters.index(index, offsetBy: 4, limitedBy: characters.endIndex),
                  let code = UInt32(characters[index..<end], radix: 16), let scalar = Unicode.Scalar(code) else {
                throw Failure(description: "\(source): a \\u escape needs four hexadecimal digits")
            }
            index = end
            return String(Character(scalar))
        default: return String(character)
        }
    }
}
