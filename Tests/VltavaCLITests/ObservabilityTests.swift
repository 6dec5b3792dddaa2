import Testing
import VltavaMetrics
@testable import vltava

@Suite("vltava serve: health and metrics listeners")
struct ObservabilityTests {
    @Test("listener options: http://host:port, the first of several, or none")
    func listeners() throws {
        #expect(try ObservabilityService.listener("http://0.0.0.0:8080", option: "--console-listeners")! == ("0.0.0.0", 8080))
        #expect(try ObservabilityService.listener("http://127.0.0.1:9100,http://[::1]:9101", option: "--metrics-listeners")! == ("127.0.0.1", 9100))
        #expect(try ObservabilityService.listener("http://[::1]:9101", option: "--metrics-listeners")! == ("::1", 9101))
        #expect(try ObservabilityService.listener(":8080", option: "--console-listeners")! == ("0.0.0.0", 8080))
        #expect(try ObservabilityService.listener("none", option: "--console-listeners") == nil)
        #expect(try ObservabilityService.listener(" NONE ", option: "--console-listeners") == nil)
        #expect(throws: ObservabilityService.ListenerError.self) {
            try ObservabilityService.listener("https://0.0.0.0:8080", option: "--console-listeners")
        }
        #expect(throws: ObservabilityService.ListenerError.self) {
            try ObservabilityService.listener("http://0.0.0.0:99999", option: "--console-listeners")
        }
    }

    @Test("/readyz is 503 naming the failing checks and what they wait for, 200 once all passed")
    func readiness() {
        var state = ReadinessState()
        state.require(Readiness.logsRecovered, waitingFor: "recovering the partition logs in \"./data\"")
        state.require(Readiness.listenersBound, waitingFor: "binding the Kafka listeners")
        #expect(ObservabilityRoutes.readinessResponse(state).status.code == 503)
        #expect(ObservabilityRoutes.readinessBody(state) == """
            {"status":"not ready","checks":[{"name":"logs_recovered","status":"fail","message":"recovering the partition logs in \\"./data\\""},\
            {"name":"listeners_bound","status":"fail","message":"binding the Kafka listeners"}],"failing":["logs_recovered","listeners_bound"]}
            """)
        state.pass(Readiness.logsRecovered)
        state.pass(Readiness.listenersBound)
        #expect(ObservabilityRoutes.readinessResponse(state).status.code == 200)
        #expect(ObservabilityRoutes.readinessBody(state) == """
            {"status":"ready","checks":[{"name":"logs_recovered","status":"pass"},{"name":"listeners_bound","status":"pass"}],"failing":[]}
            """)
    }
}
