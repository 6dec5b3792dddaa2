import CoreMetrics
import KafkaProtocol
import NIOConcurrencyHelpers
import VltavaMetrics

/// The broker's live metrics. Everything the request path touches is made up front — a counter and a latency
/// histogram per API, indexed by API key — so that answering a request costs an atomic add and one histogram
/// record, never a lookup under a lock. Error counters are made on first use of an (API, error) pair: only
/// answers carrying an error pay for that.
public final class BrokerMetrics: Sendable {
    private let factory: any MetricsFactory
    private let requests: [CoreMetrics.Counter?]
    private let durations: [CoreMetrics.Timer?]
    private let errors = NIOLockedValueBox<[ErrorKey: CoreMetrics.Counter]>([:])
    private let rejections = NIOLockedValueBox<[Int16: CoreMetrics.Counter]>([:])
    private let connections = NIOLockedValueBox<[String: (open: Meter, accepted: CoreMetrics.Counter)]>([:])

    private struct ErrorKey: Hashable {
        var api: Int16
        var code: Int16
    }

    /// Metrics made through `factory`; nil (the default) makes them in a registry no one reads.
    public init(factory: (any MetricsFactory)? = nil) {
        let factory = factory ?? NOOPMetricsHandler.instance
        self.factory = factory
        let highest = Int(ApiKey.allCases.map(\.rawValue).max() ?? 0)
        var requests = [CoreMetrics.Counter?](repeating: nil, count: highest + 1)
        var durations = [CoreMetrics.Timer?](repeating: nil, count: highest + 1)
        for api in Broker.allVersions.keys {
            let dimensions = [("api", api.name)]
            requests[Int(api.rawValue)] = CoreMetrics.Counter(label: MetricCatalog.kafkaRequests, dimensions: dimensions, factory: factory)
            durations[Int(api.rawValue)] = CoreMetrics.Timer(label: MetricCatalog.kafkaRequestDuration, dimensions: dimensions, factory: factory)
        }
        self.requests = requests
        self.durations = durations
    }

    /// One request of `api` answered `nanoseconds` after it arrived, its answer carrying `errorCodes`.
    func requestAnswered(_ api: ApiKey, nanoseconds: Int64, errorCodes: ErrorCodeTally) {
        let index = Int(api.rawValue)
        guard index >= 0, index < requests.count, let counter = requests[index] else { return }
        counter.increment()
        durations[index]?.recordNanoseconds(nanoseconds)
        errorCodes.forEach { code, count in
            self.errorCounter(api, code).increment(by: count)
            if api == .produce { self.produceRejected(code, count: count) }
        }
    }

    private func errorCounter(_ api: ApiKey, _ code: Int16) -> CoreMetrics.Counter {
        errors.withLockedValue { counters in
            let key = ErrorKey(api: api.rawValue, code: code)
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: MetricCatalog.kafkaRequestErrors,
                dimensions: [("api", api.name), ("error", ErrorCode(rawValue: code).name)], factory: factory)
            counters[key] = counter
            return counter
        }
    }

    /// A produce partition answer refused with `code`.
    func produceRejected(_ code: Int16, count: Int = 1) {
        let counter = rejections.withLockedValue { counters in
            if let counter = counters[code] { return counter }
            let counter = CoreMetrics.Counter(
                label: MetricCatalog.produceRejections, dimensions: [("reason", ErrorCode(rawValue: code).name)], factory: factory)
            counters[code] = counter
            return counter
        }
        counter.increment(by: count)
    }

    /// The gauge and counter of a listener's connections (looked up once per connection).
    func connectionMetrics(listener: String) -> (open: Meter, accepted: CoreMetrics.Counter) {
        connections.withLockedValue { known in
            if let metrics = known[listener] { return metrics }
            let dimensions = [("listener", listener)]
            let metrics = (
                Meter(label: MetricCatalog.kafkaConnections, dimensions: dimensions, factory: factory),
                CoreMetrics.Counter(label: MetricCatalog.kafkaConnectionsAccepted, dimensions: dimensions, factory: factory))
            known[listener] = metrics
            return metrics
        }
    }
}

/// The error codes of one answer and how often each occurs, without allocating for the usual answer that has
/// none or one.
struct ErrorCodeTally {
    private var first: (code: Int16, count: Int) = (0, 0)
    private var more: [Int16: Int] = [:]

    mutating func add(_ code: Int16) {
        guard code != 0 else { return }
        if first.count == 0 || first.code == code {
            first = (code, first.count + 1)
        } else {
            more[code, default: 0] += 1
        }
    }

    func forEach(_ body: (Int16, Int) -> Void) {
        if first.count > 0 { body(first.code, first.count) }
        for (code, count) in more { body(code, count) }
    }

    /// The codes of an answer: its top-level error code, and each partition's for Produce and Fetch.
    static func of(_ response: BrokerResponse) -> ErrorCodeTally {
        var tally = ErrorCodeTally()
        switch response {
        case let .message(.produce(body)):
            for topic in body.responses {
                for partition in topic.partitionResponses { tally.add(partition.errorCode) }
            }
        case let .message(body):
            if let code = body.topLevelErrorCode { tally.add(code) }
        case let .fetch(body, _):
            tally.add(body.errorCode)
            for topic in body.responses {
                for partition in topic.partitions { tally.add(partition.errorCode) }
            }
        case .none, .saslToken:
            break
        }
        return tally
    }
}
