import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

/// The process's metrics: live counters, gauges and histograms in a swift-prometheus registry (created through
/// swift-metrics with `factory`), and the collectors that compute state-derived families at scrape time.
/// `render()` is the body of `/metrics`.
public final class MetricsExporter: Sendable {
    /// The registry behind `factory`.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory the layers create their metrics with.
    public let factory: VltavaMetricsFactory
    private let collectors = NIOLockedValueBox<[any ScrapeCollector]>([])
    private let lastSize = NIOLockedValueBox(64 * 1024)

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = VltavaMetricsFactory(registry: registry)
    }

    /// Sets `vltava_build_info{version}` to 1.
    public func recordBuildInfo(version: String) {
        Gauge(label: MetricCatalog.buildInfo, dimensions: [("version", version)], factory: factory).record(1)
    }

    /// Adds a collector whose families are written at each scrape after the registry's.
    public func add(_ collector: any ScrapeCollector) {
        collectors.withLockedValue { $0.append(collector) }
    }

    /// The text exposition of every metric, as UTF-8.
    public func render() async -> [UInt8] {
        // Sized as the last scrape was, so that a large exposition is not copied each time the buffer grows.
        var writer = PrometheusTextWriter(capacity: lastSize.withLockedValue { $0 } + 4096)
        writer.appendExposition { registry.emit(into: &$0) }
        for collector in collectors.withLockedValue({ $0 }) {
            await collector.collect(into: &writer)
        }
        let size = writer.bytes.count
        lastSize.withLockedValue { $0 = size }
        return writer.bytes
    }
}
