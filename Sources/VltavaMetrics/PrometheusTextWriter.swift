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
        appendDecimal(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample of a floating-point value (`+Inf`, `-Inf` and `NaN` as Prometheus spells them).
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        sampleStart(name, labels)
        append(Self.format(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample whose labels were rendered once with `renderLabels` (a scrape writes the same partition's labels
    /// in a dozen families: rendering them once saves most of its work); `moreLabels`, also rendered, follow them.
    public mutating func sample(_ name: String, renderedLabels: String, moreLabels: String = "", _ value: Int64) {
        append(name)
        if !renderedLabels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            append(renderedLabels)
            if !moreLabels.isEmpty {
                bytes.append(UInt8(ascii: ","))
                append(moreLabels)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        appendDecimal(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Appends text written elsewhere in the same format (swift-prometheus' registry).
    public mutating func appendExposition(_ write: (inout [UInt8]) -> Void) {
        write(&bytes)
    }

    /// An integer's decimal digits, without making a String.
    private mutating func appendDecimal(_ value: Int64) {
        guard value != .min else { return append(String(value)) }
        var magnitude = value < 0 ? -value : value
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Labels as they stand between a sample's braces: `name="value",...`, values escaped.
    public static func renderLabels(_ labels: [(String, String)]) -> String {
        var writer = PrometheusTextWriter(capacity: 64)
        for (index, (label, value)) in labels.enumerated() {
            if index > 0 { writer.bytes.append(UInt8(ascii: ",")) }
            writer.append(label)
            writer.append("=\"")
            writer.appendEscapedLabelValue(value)
            writer.bytes.append(UInt8(ascii: "\""))
        }
        return String(decoding: writer.bytes, as: UTF8.self)
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
            append(Self.renderLabels(labels))
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
