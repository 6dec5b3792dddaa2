/// The kind of a metric family, as the `# TYPE` line of Prometheus' text format names it.
public enum PrometheusMetricType: String, Sendable {
    case counter
    case gauge
    case histogram
    case untyped
}

/// Writes metric families in Prometheus' text exposition format (version 0.0.4): a `# HELP` and a `# TYPE` line
/// per family, then one line per sample with its labels escaped. Used for the families computed at scrape time
/// from the broker's state (watermarks, lag, group states), which are not kept as live metric objects.
public struct PrometheusTextWriter: Sendable {
    /// The text written so far, as UTF-8.
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Starts a family: every sample written after it until the next family belongs to it.
    public mutating func family(_ name: String, _ type: PrometheusMetricType, help: String) {
        append("# HELP ")
        append(name)
        bytes.append(UInt8(ascii: " "))
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        append("\n# TYPE ")
        append(name)
        bytes.append(UInt8(ascii: " "))
        append(type.rawValue)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample of an integer value.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Int64) {
        sampleStart(name, labels)
        append(String(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample of a floating-point value (`+Inf`, `-Inf` and `NaN` as Prometheus spells them).
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        sampleStart(name, labels)
        append(Self.format(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// A number as the text format writes it.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private mutating func sampleStart(_ name: String, _ labels: [(String, String)]) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, (label, value)) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(label)
                append("=\"")
                appendEscapedLabelValue(value)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
    }

    private mutating func appendEscapedLabelValue(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }
}

/// Something that writes metric families computed from current state when `/metrics` is scraped, so that the
/// request path never pays for them.
public protocol ScrapeCollector: Sendable {
    func collect(into writer: inout PrometheusTextWriter) async
}
