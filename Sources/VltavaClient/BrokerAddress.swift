/// A broker's `host:port`, as given on a command line or announced in metadata.
public struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
    /// A host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port.
    public var port: Int

    /// An address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6-address]:port`, or a bare host (port 9092, Kafka's default).
    public init(parsing text: String) throws(KafkaClientError) {
        var rest = Substring(text.trimmingWhitespace())
        // A listener's name or security protocol as a scheme (`SASL_SSL://host:9093`).
        if let scheme = rest.firstRange(of: "://") {
            let name = rest[..<scheme.lowerBound]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                rest = rest[scheme.upperBound...]
            }
        }
        guard !rest.isEmpty else { throw .invalidArgument("empty broker address") }
        var host = rest
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalidArgument("bad broker address '\(text)'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw .invalidArgument("bad broker address '\(text)'")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        var port = 9092
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw .invalidArgument("bad port in broker address '\(text)'")
            }
            port = parsed
        }
        guard !host.isEmpty else { throw .invalidArgument("bad broker address '\(text)'") }
        self.init(host: String(host), port: port)
    }

    /// Whether the host is an IPv4 or IPv6 address rather than a name.
    public var isIPAddress: Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber) }
    }

    /// Parses a comma-separated bootstrap list such as `h1:9092,h2:9092`.
    public static func parseList(_ text: String) throws(KafkaClientError) -> [BrokerAddress] {
        var addresses: [BrokerAddress] = []
        for part in text.split(separator: ",") where !part.allSatisfy(\.isWhitespace) {
            addresses.append(try BrokerAddress(parsing: String(part)))
        }
        guard !addresses.isEmpty else { throw .invalidArgument("no bootstrap server given") }
        return addresses
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
