import CoreMetrics
import Testing
@testable import VltavaMetrics

@Suite("Prometheus text exposition")
struct ExpositionTests {
    @Test("families have HELP and TYPE lines, samples their labels escaped")
    func writerFormat() {
        var writer = PrometheusTextWriter()
        writer.family("kafka_consumergroup_lag", .gauge, help: "Lag\\with a backslash\nand a newline")
        writer.sample("kafka_consumergroup_lag", [("consumergroup", "g\"1\\\n"), ("topic", "t"), ("partition", "0")], Int64(42))
        writer.sample("up", [], 1.5)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == """
            # HELP kafka_consumergroup_lag Lag\\\\with a backslash\\nand a newline
            # TYPE kafka_consumergroup_lag gauge
            kafka_consumergroup_lag{consumergroup="g\\"1\\\\\\n",topic="t",partition="0"} 42
            up 1.5

            """)
    }

    @Test("labels rendered once and reused; integers written digit by digit")
    func renderedLabels() {
        let group = PrometheusTextWriter.renderLabels([("consumergroup", "a\"b")])
        #expect(group == #"consumergroup="a\"b""#)
        var writer = PrometheusTextWriter()
        writer.sample("kafka_consumergroup_lag", renderedLabels: group, moreLabels: #"topic="t",partition="7""#, -120)
        writer.sample("kafka_brokers", renderedLabels: "", 0)
        writer.sample("big", renderedLabels: "", .max)
        writer.sample("small", renderedLabels: "", .min)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == """
            kafka_consumergroup_lag{consumergroup="a\\"b",topic="t",partition="7"} -120
            kafka_brokers 0
            big 9223372036854775807
            small -9223372036854775808

            """)
    }

    @Test("numbers as the text format spells them")
    func numbers() {
        #expect(PrometheusTextWriter.format(3) == "3")
        #expect(PrometheusTextWriter.format(0.25) == "0.25")
        #expect(PrometheusTextWriter.format(.infinity) == "+Inf")
        #expect(PrometheusTextWriter.format(-.infinity) == "-Inf")
        #expect(PrometheusTextWriter.format(.nan) == "NaN")
    }

    struct FixedCollector: ScrapeCollector {
        func collect(into writer: inout PrometheusTextWriter) async {
            writer.family("kafka_brokers", .gauge, help: "Number of Brokers in the Kafka Cluster.")
            writer.sample("kafka_brokers", [], Int64(1))
        }
    }

    @Test("the exporter writes swift-metrics' metrics with catalog help, then the collectors' families")
    func exporter() async {
        let exporter = MetricsExporter()
        let counter = CoreMetrics.Counter(
            label: MetricCatalog.kafkaRequests, dimensions: [("api", "Produce")], factory: exporter.factory)
        counter.increment(by: 3)
        let timer = CoreMetrics.Timer(
            label: MetricCatalog.kafkaRequestDuration, dimensions: [("api", "Produce")], factory: exporter.factory)
        timer.recordMicroseconds(150)
        exporter.add(FixedCollector())
        let text = String(decoding: await exporter.render(), as: UTF8.self)
        #expect(text.contains("# HELP vltava_kafka_requests_total Kafka requests answered, by API.\n"))
        #expect(text.contains("# TYPE vltava_kafka_requests_total counter\n"))
        #expect(text.contains("vltava_kafka_requests_total{api=\"Produce\"} 3\n"))
        #expect(text.contains("# TYPE vltava_kafka_request_duration_seconds histogram\n"))
        // Buckets start at 100 µs: a 150 µs request is above the first and within the second.
        #expect(text.contains("vltava_kafka_request_duration_seconds_bucket{api=\"Produce\",le=\"0.0001\"} 0\n"))
        #expect(text.contains("vltava_kafka_request_duration_seconds_bucket{api=\"Produce\",le=\"0.00025\"} 1\n"))
        #expect(text.contains("vltava_kafka_request_duration_seconds_count{api=\"Produce\"} 1\n"))
        #expect(text.hasSuffix("# HELP kafka_brokers Number of Brokers in the Kafka Cluster.\n# TYPE kafka_brokers gauge\nkafka_brokers 1\n"))
    }
}

@Suite("Readiness")
struct ReadinessTests {
    @Test("not ready until every required check passed; the body names the failing ones")
    func checks() {
        var state = ReadinessState()
        #expect(state.isReady)
        state.require("logs_recovered", waitingFor: "recovering the partition logs in ./data")
        state.require("listeners_bound", waitingFor: "binding the Kafka listeners")
        #expect(!state.isReady)
        #expect(state.failing.map(\.name) == ["logs_recovered", "listeners_bound"])
        state.pass("logs_recovered")
        #expect(state.failing.map(\.name) == ["listeners_bound"])
        state.pass("listeners_bound")
        #expect(state.isReady)
    }

    @Test("a check required again is pending again")
    func requireAgain() {
        var state = ReadinessState()
        state.pass("schema_registry_caught_up")
        state.require("schema_registry_caught_up", waitingFor: "reading _schemas")
        #expect(state.checks.count == 1)
        #expect(!state.isReady)
        #expect(state.failing.map(\.waitingFor) == ["reading _schemas"])
    }
}
