import Testing
@testable import VltavaConnect

private func record(_ value: ConnectValue, schema: ConnectSchema? = nil, key: ConnectValue = .null, topic: String = "orders",
                    offset: Int64 = 0) -> ConnectRecord {
    ConnectRecord(topic: topic, kafkaPartition: 0, key: key, valueSchema: schema, value: value, kafkaOffset: offset)
}

private func config(_ extra: [String: String] = [:]) throws -> HttpSinkConfig {
    try HttpSinkConfig(["http.api.url": "http://127.0.0.1:8080/api"].merging(extra) { $1 })
}

private func configError(_ settings: [String: String]) -> (name: String, message: String)? {
    do {
        _ = try HttpSinkConfig(settings)
        return nil
    } catch {
        if case let .config(name, message) = error { return (name, message) }
        return ("?", error.description)
    }
}

@Suite("HTTP sink")
struct HttpSinkTests {
    @Test("Confluent's defaults")
    func defaults() throws {
        let settings = try config()
        #expect(settings.method == "POST")
        #expect(settings.headers.isEmpty)
        #expect(settings.batchMaxSize == 1)
        #expect(settings.batchSeparator == ",")
        #expect(settings.bodyFormat == .string)
        #expect(settings.maxRetries == 10)
        #expect(settings.retryBackoffMs == 3000)
        #expect(settings.backoffPolicy == .exponentialWithJitter)
        #expect(settings.retryOnStatusCodes.contains(400) && settings.retryOnStatusCodes.contains(599))
        #expect(!settings.retryOnStatusCodes.contains(399))
        #expect(settings.behaviorOnError == .fail)
        #expect(settings.behaviorOnNullValues == .ignore)
        #expect(settings.connectTimeoutMs == 30000 && settings.requestTimeoutMs == 30000)
    }

    @Test("status code ranges: single codes, closed ranges, open ranges")
    func statusCodeRanges() throws {
        let ranges = try HttpStatusCodeRanges("404, 408,500-502,520-")
        #expect(ranges.ranges == [404...404, 408...408, 500...502, 520...Int.max])
        for status in [404, 408, 500, 501, 502, 520, 599] { #expect(ranges.contains(status)) }
        for status in [200, 400, 405, 503, 519] { #expect(!ranges.contains(status)) }
        #expect(try HttpStatusCodeRanges("").ranges.isEmpty)
        for bad in ["abc", "500-400", "40-", "-500", "500-x", "5000"] {
            #expect(throws: HttpConfigValueError.self) { try HttpStatusCodeRanges(bad) }
        }
    }

    @Test("headers: Confluent's name:value|name:value, another separator, bad entries")
    func headers() throws {
        let parsed = try HttpSinkConfig.parseHeaders("Content-Type:application/json| X-Trace : a:b:c ||", separator: "|")
        #expect(parsed == [HttpHeaderField(name: "Content-Type", value: "application/json"),
                           HttpHeaderField(name: "X-Trace", value: "a:b:c")])
        #expect(try HttpSinkConfig.parseHeaders("A:1;B:2", separator: ";").map(\.name) == ["A", "B"])
        #expect(try config(["headers": "A:1#B:2", "header.separator": "#"]).headers.count == 2)
        #expect(configError(["http.api.url": "http://h/", "headers": "no-colon"])?.name == "headers")
        #expect(configError(["http.api.url": "http://h/", "headers": "bad name:1"])?.name == "headers")
    }

    @Test("authentication: BASIC, BEARER, an Authorization header; OAUTH2 refused")
    func authentication() throws {
        let basic = try config(["auth.type": "BASIC", "connection.user": "alice", "connection.password": "s3cret"])
        #expect(basic.headers == [HttpHeaderField(name: "Authorization", value: "Basic YWxpY2U6czNjcmV0")])
        let bearer = try config(["auth.type": "bearer", "bearer.token": "tok", "headers": "Authorization:Basic x|X-A:1"])
        #expect(bearer.headers == [HttpHeaderField(name: "X-A", value: "1"), HttpHeaderField(name: "Authorization", value: "Bearer tok")])
        #expect(try config(["headers": "Authorization:Bearer abc"]).headers.first?.value == "Bearer abc")
        #expect(configError(["http.api.url": "http://h/", "auth.type": "BASIC"])?.name == "connection.user")
        #expect(configError(["http.api.url": "http://h/", "auth.type": "BEARER"])?.name == "bearer.token")
        #expect(configError(["http.api.url": "http://h/", "auth.type": "OAUTH2"])?.name == "auth.type")
        #expect(configError(["http.api.url": "http://h/", "auth.type": "DIGEST"])?.name == "auth.type")
    }

    @Test("bad configurations name their keys")
    func badConfigurations() {
        #expect(configError([:])?.name == "http.api.url")
        #expect(configError(["http.api.url": "ftp://h/x"])?.name == "http.api.url")
        #expect(configError(["http.api.url": "http://h:99999/x"])?.name == "http.api.url")
        #expect(configError(["http.api.url": "http://h/", "request.method": "GET"])?.message
            == "Invalid value GET for configuration request.method: String must be one of: POST, PUT, PATCH")
        #expect(configError(["http.api.url": "http://h/", "retry.on.status.codes": "5xx"])?.name == "retry.on.status.codes")
        #expect(configError(["http.api.url": "http://h/", "batch.max.size": "0"])?.name == "batch.max.size")
        #expect(configError(["http.api.url": "http://h/", "request.body.format": "xml"])?.name == "request.body.format")
        #expect(configError(["http.api.url": "http://h/", "behavior.on.error": "retry"])?.name == "behavior.on.error")
        #expect(configError(["http.api.url": "http://h/${topic}/x", "request.method": "put"]) == nil)
    }

    @Test("string bodies: prefix, separator, suffix, batches of batch.max.size")
    func stringBatches() throws {
        let batcher = HttpRequestBatcher(config: try config(["batch.max.size": "2", "batch.prefix": "<", "batch.suffix": ">",
                                                             "batch.separator": ";"]))
        let records = [record(.string("a")), record(.int32(7), schema: .int32), record(.string("c"))]
        let plan = batcher.plan(records)
        #expect(plan.requests.map(\.body) == ["<a;7>", "<c>"])
        #expect(plan.requests.map(\.method) == ["POST", "POST"])
        #expect(plan.requests.map { $0.records.count } == [2, 1])
        #expect(plan.requests.allSatisfy { $0.url == "http://127.0.0.1:8080/api" })
    }

    @Test("JSON bodies: values as JSON, as an array when asked")
    func jsonBodies() throws {
        let structSchema = ConnectSchema.structure(name: "com.example.Order", fields: [("id", .int32), ("name", .string)])
        let value = ConnectValue.structure(ConnectStruct(schema: structSchema, values: [.int32(1), .string("x\"y")]))
        let map = ConnectValue.map([ConnectMapEntry(key: .string("k"), value: .boolean(true))])
        let records = [record(value, schema: structSchema), record(map), record(.string("plain"))]
        let asArray = HttpRequestBatcher(config: try config(["request.body.format": "json", "batch.max.size": "5",
                                                             "batch.json.as.array": "true"]))
        #expect(asArray.plan(records).requests.map(\.body) == [#"[{"id":1,"name":"x\"y"},{"k":true},"plain"]"#])
        let separated = HttpRequestBatcher(config: try config(["request.body.format": "json", "batch.max.size": "5",
                                                               "batch.separator": "\n"]))
        #expect(separated.plan(records).requests.map(\.body) == ["{\"id\":1,\"name\":\"x\\\"y\"}\n{\"k\":true}\n\"plain\""])
    }

    @Test("${topic} and ${key} make URLs and batches")
    func templates() throws {
        let batcher = HttpRequestBatcher(config: try config(["http.api.url": "http://h/${topic}/${key}", "batch.max.size": "10"]))
        let records = [record(.string("1"), key: .string("a")), record(.string("2"), key: .string("b")),
                       record(.string("3"), key: .string("a"), topic: "other"), record(.string("4"), key: .string("a"))]
        #expect(batcher.plan(records).requests.map { "\($0.url) \($0.body)" }
            == ["http://h/orders/a 1,4", "http://h/orders/b 2", "http://h/other/a 3"])
        let byKey = HttpRequestBatcher(config: try config(["batch.key.pattern": "${key}", "batch.max.size": "10"]))
        #expect(byKey.plan(records).requests.map(\.body) == ["1,3,4", "2"])
    }

    @Test("null values follow behavior.on.null.values")
    func nullValues() throws {
        let records = [record(.string("a"), key: .string("k1")), record(.null, key: .string("k2"), offset: 1), record(.string("b"), offset: 2)]
        func plan(_ behavior: String) throws -> HttpSinkPlan {
            try HttpRequestBatcher(config: config(["behavior.on.null.values": behavior, "batch.max.size": "5",
                                                   "http.api.url": "http://h/${key}"])).plan(records)
        }
        #expect(try plan("ignore").requests.map(\.body) == ["a", "b"])
        #expect(try plan("log").skippedNullValues.map(\.kafkaOffset) == [1])
        #expect(try plan("fail").refused.map { $0.record.kafkaOffset } == [1])
        #expect(try plan("delete").requests.map { "\($0.method) \($0.url) \($0.body)" }
            == ["POST http://h/k1 a", "DELETE http://h/k2 ", "POST http://h/null b"])
    }

    @Test("URLs: path and query kept, credentials not shown")
    func targets() throws {
        let target = try HttpTarget(url: "https://u:p@example.com:8443/a/b/?q=1")
        #expect(target.endpoint.host == "example.com" && target.endpoint.port == 8443 && target.endpoint.usesTLS)
        #expect(target.path == "/a/b/?q=1")
        #expect(target.display == "https://example.com:8443/a/b/?q=1")
        #expect(try HttpTarget(url: "http://h").path == "/")
    }

    @Test("retries: retried statuses and failures until success or max.retries, plain-words message")
    func retries() throws {
        var policy = HttpRetryPolicy(config: try config(["max.retries": "3", "retry.backoff.ms": "10",
                                                         "retry.backoff.policy": "CONSTANT_VALUE"]))
        let request = HttpSinkRequest(method: "POST", url: "http://127.0.0.1:9/x", body: "a", records: [])
        var answers: [HttpAttempt] = [.answer(status: 503, body: []), .failure("connection refused"), .answer(status: 200, body: [])]
        var waits: [Int64] = []
        #expect(try policy.deliver(request, display: request.url, send: { answers.removeFirst() },
                                   sleep: { waits.append($0); return true }) == nil)
        #expect(waits == [10, 10])
        let body = Array(String(repeating: "x", count: 300).utf8)
        let failure = try policy.deliver(request, display: request.url, send: { .answer(status: 503, body: body) }, sleep: { _ in true })
        #expect(failure == "HTTP POST http://127.0.0.1:9/x failed after 3 retries: 503 Service Unavailable: " + String(repeating: "x", count: 200))
        policy.retryOn = try HttpStatusCodeRanges("500-")
        var attempts = 0
        let notRetried = try policy.deliver(request, display: request.url, send: {
            attempts += 1
            return .answer(status: 400, body: Array("bad".utf8))
        }, sleep: { _ in true })
        #expect(notRetried == "HTTP POST http://127.0.0.1:9/x failed: 400 Bad Request: bad" && attempts == 1)
        #expect(throws: ConnectError.self) {
            try policy.deliver(request, display: request.url, send: { .answer(status: 503, body: []) }, sleep: { _ in false })
        }
        #expect(throws: ConnectError.self) { try policy.deliver(request, display: request.url, send: { nil }, sleep: { _ in true }) }
    }

    @Test("exponential backoff with jitter stays under retry.backoff.ms × 2^retry")
    func backoff() throws {
        let policy = HttpRetryPolicy(config: try config(["retry.backoff.ms": "100"]))
        #expect(policy.backoff(retry: 3) { $0.upperBound } == 800)
        #expect(policy.backoff(retry: 0) { $0.upperBound } == 100)
        #expect(policy.backoff(retry: 40) { $0.upperBound } == HttpRetryPolicy.maximumBackoffMs)
        #expect((0...100).contains(policy.backoff(retry: 0)))
    }

    @Test("the plugin is found by its class name and aliases; validation names bad keys")
    func plugin() throws {
        for name in ["io.confluent.connect.http.HttpSinkConnector", "HttpSinkConnector", "HttpSink"] {
            #expect(try ConnectorPlugins.named(name).type == .sink)
        }
        let plugin = try ConnectorPlugins.named("HttpSink")
        let valid = ConnectorValidation(plugin: plugin, config: ["connector.class": "HttpSink", "name": "h", "topics": "t",
                                                                 "http.api.url": "http://127.0.0.1:1/x"])
        #expect(valid.errorCount == 0)
        let invalid = ConnectorValidation(plugin: plugin, config: ["connector.class": "HttpSink", "name": "h", "topics": "t",
                                                                   "http.api.url": "http://127.0.0.1:1/x", "retry.on.status.codes": "x"])
        #expect(invalid.errors.map(\.name) == ["retry.on.status.codes"])
        let missing = ConnectorValidation(plugin: plugin, config: ["connector.class": "HttpSink", "name": "h", "topics": "t"])
        #expect(missing.errors.map(\.name) == ["http.api.url"])
    }
}
