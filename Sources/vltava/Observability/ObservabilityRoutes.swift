import Hummingbird
import NIOCore
import VltavaMetrics

/// `/livez`, `/readyz` (with `/v1/status/ready`, the alias Redpanda and Confluent tooling ask) and `/metrics`,
/// served on the console listener and on a metrics-only listener.
struct ObservabilityRoutes {
    let exporter: MetricsExporter
    let readiness: Readiness

    /// Prometheus' text exposition format, version 0.0.4.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    func add(to router: Router<BasicRequestContext>) {
        router.get("/livez") { _, _ in
            Self.text("ok\n")
        }
        let readiness = self.readiness
        for path in ["/readyz", "/v1/status/ready"] {
            router.get(RouterPath(path)) { _, _ in
                Self.readinessResponse(readiness.state)
            }
        }
        let exporter = self.exporter
        router.get("/metrics") { _, _ in
            let text = await exporter.render()
            return Response(
                status: .ok, headers: [.contentType: Self.metricsContentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
    }

    /// 200 with the passed checks once every check passed, else 503 naming those that have not.
    static func readinessResponse(_ state: ReadinessState) -> Response {
        Response(
            status: state.isReady ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: readinessBody(state) + "\n")))
    }

    /// `{"status":"ready"|"not ready","checks":[{"name":…,"status":"pass"|"fail","message":…}],"failing":[names]}`:
    /// a failing check's message says what it is waiting for.
    static func readinessBody(_ state: ReadinessState) -> String {
        let checks = state.checks.map { check in
            var item = "{\"name\":\(RESTClient.jsonString(check.name)),\"status\":\"\(check.passed ? "pass" : "fail")\""
            if !check.passed { item += ",\"message\":\(RESTClient.jsonString(check.waitingFor))" }
            return item + "}"
        }
        let failing = state.failing.map { RESTClient.jsonString($0.name) }
        return "{\"status\":\"\(state.isReady ? "ready" : "not ready")\",\"checks\":[\(checks.joined(separator: ","))],"
            + "\"failing\":[\(failing.joined(separator: ","))]}"
    }

    static func text(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
