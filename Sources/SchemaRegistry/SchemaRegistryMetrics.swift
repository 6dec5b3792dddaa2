import CoreMetrics
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import VltavaMetrics

/// Counts the registry's HTTP requests by method and status code, and times them.
struct RegistryMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory
    let duration: CoreMetrics.Timer
    private let counters = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        duration = CoreMetrics.Timer(label: MetricCatalog.schemaRegistryRequestDuration, factory: factory)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = NIODeadline.now()
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            count(request.method.rawValue, error.status.code)
            throw error
        }
        duration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
        count(request.method.rawValue, response.status.code)
        return response
    }

    private func count(_ method: String, _ status: Int) {
        let key = "\(method) \(status)"
        let factory = self.factory
        counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: MetricCatalog.schemaRegistryRequests, dimensions: [("method", method), ("status", String(status))], factory: factory)
            counters[key] = counter
            return counter
        }.increment()
    }
}

/// The registry's subject and schema counts, read from its published state at scrape time.
public struct SchemaRegistryCollector: ScrapeCollector {
    let registry: SchemaRegistry

    public init(registry: SchemaRegistry) {
        self.registry = registry
    }

    public func collect(into writer: inout PrometheusTextWriter) async {
        let (subjects, schemas) = registry.store.published.withLockedValue { state in
            (state.subjectNames().count, state.schemasById.count)
        }
        writer.family("vltava_schema_registry_subjects", .gauge, help: "Subjects with at least one version that is not deleted.")
        writer.sample("vltava_schema_registry_subjects", [], Int64(subjects))
        writer.family("vltava_schema_registry_schemas", .gauge, help: "Schemas the registry knows by id.")
        writer.sample("vltava_schema_registry_schemas", [], Int64(schemas))
    }
}
