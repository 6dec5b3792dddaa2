#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `vltava perf produce` has sent: records, bytes and latencies of acknowledged batches, in the window since the
/// last progress line and in all. A batch's latency (from the request's sending to its acknowledgement) counts for
/// each of its records, as Kafka's perf test times each record from `send` to its callback.
actor PerfProduceStats {
    private let start = ContinuousClock.now
    private var windowStart = ContinuousClock.now
    private var window = Totals()
    private var total = Totals()
    /// Latencies in microseconds with the number of records of each batch, for percentiles.
    private var latencies: [(micros: Int64, records: Int)] = []
    private var sentRecords = 0

    struct Totals {
        var records = 0
        var bytes = 0
        var latencySum: Int64 = 0
        var maxLatency: Int64 = 0

        mutating func add(records count: Int, bytes: Int, micros: Int64) {
            records += count
            self.bytes += bytes
            latencySum += micros * Int64(count)
            maxLatency = max(maxLatency, micros)
        }
    }

    /// Takes `count` records to send, waiting as long as `--throughput` asks (Kafka's ThroughputThrottler); nil when
    /// all `limit` records are taken.
    func take(_ count: Int, limit: Int, throughput: Double) async -> Int? {
        let granted = min(count, limit - sentRecords)
        guard granted > 0 else { return nil }
        sentRecords += granted
        if throughput > 0 {
            let due = start + .seconds(Double(sentRecords - granted) / throughput)
            if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
        }
        return granted
    }

    func acknowledged(records: Int, bytes: Int, latency: Duration) {
        let micros = latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000
        window.add(records: records, bytes: bytes, micros: micros)
        total.add(records: records, bytes: bytes, micros: micros)
        latencies.append((micros, records))
    }

    /// Kafka's progress line: `N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency.`
    func windowLine() -> String {
        let now = ContinuousClock.now
        let seconds = max((now - windowStart).seconds, 1e-9)
        defer {
            window = Totals()
            windowStart = now
        }
        return Self.format("%ld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.",
                           window.records, Double(window.records) / seconds, Double(window.bytes) / seconds / 1_048_576,
                           Self.average(window), Double(window.maxLatency) / 1000)
    }

    /// Kafka's summary line, with the 50th, 95th, 99th and 99.9th percentiles.
    func summaryLine() -> String {
        let seconds = max((ContinuousClock.now - start).seconds, 1e-9)
        let sorted = latencies.sorted { $0.micros < $1.micros }
        func percentile(_ fraction: Double) -> Int {
            let target = Int((Double(total.records) * fraction).rounded(.up))
            var seen = 0
            for entry in sorted {
                seen += entry.records
                if seen >= target { return Int(entry.micros / 1000) }
            }
            return Int((sorted.last?.micros ?? 0) / 1000)
        }
        return Self.format("%ld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, ",
                           total.records, Double(total.records) / seconds, Double(total.bytes) / seconds / 1_048_576,
                           Self.average(total), Double(total.maxLatency) / 1000)
            + "\(percentile(0.5)) ms 50th, \(percentile(0.95)) ms 95th, \(percentile(0.99)) ms 99th, \(percentile(0.999)) ms 99.9th."
    }

    var acknowledgedRecords: Int { total.records }

    private static func average(_ totals: Totals) -> Double {
        totals.records == 0 ? 0 : Double(totals.latencySum) / Double(totals.records) / 1000
    }

    /// C's printf formatting of numbers (the figures read as Kafka's tool prints them).
    static func format(_ pattern: String, _ arguments: any CVarArg...) -> String {
        withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 512)
            let length = vsnprintf(&buffer, buffer.count, pattern, list)
            guard length >= 0 else { return pattern }
            return String(decoding: buffer.prefix(Int(min(length, Int32(buffer.count - 1)))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
