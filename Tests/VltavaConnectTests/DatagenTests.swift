import Foundation
import Testing
@testable import VltavaConnect

@Suite("Datagen connector")
struct DatagenTests {
    @Test("every quickstart generates records of its schema, within its hints", arguments: DatagenQuickstart.allCases)
    func quickstart(_ quickstart: DatagenQuickstart) throws {
        let settings = ["quickstart": quickstart.rawValue, "iterations": "200"]
        let config = try DatagenConfig(DatagenHarness.config(settings))
        let records = try DatagenHarness.records(settings, count: 200)
        #expect(records.count == 200)
        for record in records {
            #expect(record.topic == "datagen")
            #expect(record.valueSchema == config.schema.connectSchema)
            let problems = DatagenHarness.problems(record.value, config.schema)
            #expect(problems.isEmpty, "\(quickstart.rawValue): \(problems.prefix(5))")
            let keyField = try #require(config.schema.fields.first { $0.name == quickstart.keyField })
            #expect(record.keySchema == keyField.type.connectSchema)
            #expect(record.key == DatagenHarness.field(record, quickstart.keyField))
        }
    }

    @Test("the quickstart schemas are valid Avro and read back from their text")
    func quickstartSchemasAreAvro() throws {
        for quickstart in DatagenQuickstart.allCases {
            let fromText = try DatagenSchemaReader.read(quickstart.schema.serialized, setting: "schema.string")
            let fromJSON = try DatagenSchemaReader.read(quickstart.schema, setting: "quickstart")
            #expect(fromText.connectSchema == fromJSON.connectSchema, "\(quickstart.rawValue)")
        }
    }

    @Test("quickstart shapes users of Confluent's connector rely on")
    func quickstartShapes() throws {
        let users = try DatagenConfig(DatagenHarness.config(["quickstart": "USERS"])).schema.connectSchema
        #expect(users.name == "ksql.users")
        #expect(users.fields.map(\.name) == ["registertime", "userid", "regionid", "gender"])
        #expect(users.fields.map(\.schema.type) == [.int64, .string, .string, .string])

        let pageviews = try DatagenHarness.records(["quickstart": "pageviews"], count: 3)
        #expect(pageviews.map { DatagenHarness.field($0, "viewtime") } == [.int64(1), .int64(11), .int64(21)])
        #expect(pageviews.allSatisfy { $0.keySchema == .int64 && $0.key == DatagenHarness.field($0, "viewtime") })

        let orders = try DatagenConfig(DatagenHarness.config(["quickstart": "orders"])).schema.connectSchema
        #expect(orders.field("address")?.schema.name == "ksql.address")

        let purchases = try DatagenConfig(DatagenHarness.config(["quickstart": "purchases"])).schema.connectSchema
        #expect(purchases.field("price_per_unit")?.schema.name == ConnectLogical.decimalName)
        #expect(purchases.field("price_per_unit")?.schema.parameter("scale") == "2")

        let pizza = try DatagenConfig(DatagenHarness.config(["quickstart": "pizza_orders"])).schema.connectSchema
        #expect(pizza.field("date")?.schema.name == ConnectLogical.dateName)
        #expect(pizza.field("order_lines")?.schema.valueSchema?.name == "pizza_orders.order_line")

        let trades = try DatagenConfig(DatagenHarness.config(["quickstart": "stock_trades"])).schema.connectSchema
        #expect(trades.parameter("io.confluent.connect.avro.record.doc") == "Defines a hypothetical stock trade using some known test stock symbols.")
    }

    @Test("equal schemas share their iteration, as avro-random-generator's cache does")
    func sharedIteration() throws {
        let records = try DatagenHarness.records(["quickstart": "inventory"], count: 2)
        let values = records.map { record in ["id", "quantity", "productid"].map { DatagenHarness.field(record, $0) } }
        #expect(values == [[.int64(0), .int64(1), .int64(2)], [.int64(3), .int64(4), .int64(5)]])
        let products = try DatagenHarness.records(["quickstart": "product"], count: 2)
        #expect(products.map { DatagenHarness.field($0, "name") } == [.string("0"), .string("2")])
        #expect(products.map { DatagenHarness.field($0, "price") } == [.float64(0), .float64(1)])
    }

    @Test("random.seed makes the output deterministic; each task has its own stream")
    func determinism() throws {
        let first = try DatagenHarness.records(["quickstart": "orders", "random.seed": "7"], count: 20)
        let again = try DatagenHarness.records(["quickstart": "orders", "random.seed": "7"], count: 20)
        let otherSeed = try DatagenHarness.records(["quickstart": "orders", "random.seed": "8"], count: 20)
        let otherTask = try DatagenHarness.records(["quickstart": "orders", "random.seed": "7", "task.id": "1"], count: 20)
        #expect(first.map(\.value) == again.map(\.value))
        #expect(first.map(\.value) != otherSeed.map(\.value))
        #expect(first.map(\.value) != otherTask.map(\.value))
        #expect(otherTask.first?.sourcePartition == DatagenTask.partition(taskId: 1))
    }

    @Test("schema.keyfield chooses the key; without one the key is a null optional string")
    func keyField() throws {
        let records = try DatagenHarness.records(["quickstart": "pageviews", "schema.keyfield": "pageid"], count: 5)
        for record in records {
            #expect(record.keySchema == .string)
            #expect(record.key == DatagenHarness.field(record, "pageid"))
        }
        let schema = #"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#
        let unkeyed = try DatagenHarness.records(["schema.string": schema], count: 1)
        #expect(unkeyed.first?.keySchema == .optionalString)
        #expect(unkeyed.first?.key == .null)
    }

    @Test("iterations stops the task with Confluent's message, counting across restarts")
    func iterationsStop() throws {
        var task = try DatagenHarness.task(["quickstart": "users", "iterations": "3"])
        #expect(try task.poll().count == 3)
        #expect(throws: ConnectError.failed("Stopping connector: generated the configured 3 number of messages")) { _ = try task.poll() }

        let offsets = FixedOffsets(offsets: [DatagenTask.partition(taskId: 0): .map([
            ConnectMapEntry(key: .string("task.generation"), value: .int64(1)),
            ConnectMapEntry(key: .string("current.iteration"), value: .int64(2)),
            ConnectMapEntry(key: .string("random.seed"), value: .int64(5)),
        ])])
        var resumed = try DatagenHarness.task(["quickstart": "users", "iterations": "3"], offsets: offsets)
        #expect(try resumed.poll().count == 1)
        #expect(throws: ConnectError.self) { _ = try resumed.poll() }
    }

    @Test("a restarted task resumes from its committed offset: count, generation, random sequence")
    func resume() throws {
        let settings = ["quickstart": "pageviews", "random.seed": "3"]
        let run = try DatagenHarness.records(settings, count: 6)
        let fifth = run[4]
        #expect(fifth.sourcePartition == .map([ConnectMapEntry(key: .string("task.id"), value: .int32(0))]))
        guard case let .map(entries)? = fifth.sourceOffset else {
            Issue.record("no offset")
            return
        }
        #expect(entries.map(\.key) == [.string("task.generation"), .string("current.iteration"), .string("random.seed")])
        #expect(entries[1].value == .int64(5))
        #expect(fifth.headers.map(\.key) == ["task.generation", "task.id", "current.iteration"])
        #expect(fifth.headers.last?.value == .int64(4))

        let offsets = FixedOffsets(offsets: [DatagenTask.partition(taskId: 0): .map(entries)])
        let resumed = try DatagenHarness.records(settings, count: 1, offsets: offsets)
        #expect(resumed.first?.value == run[5].value)
        #expect(resumed.first?.headers.first?.value == .int64(1))
        #expect(DatagenHarness.field(try #require(resumed.first), "viewtime") == .int64(51))
    }

    @Test("poll returns the records due now and does not wait for the next one")
    func pollDoesNotBlock() throws {
        final class ManualClock: @unchecked Sendable {
            var now: UInt64 = 1_000_000_000_000
        }
        let clock = ManualClock()
        var task = DatagenTask()
        task.clock = { clock.now }
        try task.start(DatagenHarness.config(["quickstart": "users", "max.interval": "1000"]), offsets: FixedOffsets())
        var total = 0
        let started = Date()
        for _ in 0..<10 { total += try task.poll().count }
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(total == 0 || total == 1)
        clock.now += 100_000_000_000
        let afterLongPause = try task.poll().count
        // Falling behind by 100 s is not made up at once: at most the records of one interval.
        #expect(afterLongPause >= 1 && afterLongPause < 100)
        for _ in 0..<200 {
            clock.now += 10_000_000
            total += try task.poll().count
        }
        // 2 s of 1..<1000 ms waits: about four records.
        #expect(total >= 1 && total <= 40)
    }

    @Test("the connector gives each task its id and is found by its aliases")
    func connector() throws {
        var connector = DatagenConnector()
        try connector.start(["kafka.topic": "t", "quickstart": "users", "tasks.max": "3"])
        #expect(connector.taskConfigs(maxTasks: 3).map { $0["task.id"] } == ["0", "1", "2"])
        for name in ["io.confluent.kafka.connect.datagen.DatagenConnector", "DatagenConnector", "Datagen"] {
            #expect(try ConnectorPlugins.named(name).className == DatagenConnector.className)
        }
    }

    @Test("bad configurations are refused with plain messages")
    func badConfigurations() throws {
        func message(_ settings: [String: String]) -> String {
            do {
                _ = try DatagenConfig(settings)
                return "accepted"
            } catch {
                return error.description
            }
        }
        let users = ["kafka.topic": "t", "quickstart": "users"]
        let schema = #"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#
        #expect(message(users.merging(["quickstart": "nope"]) { $1 }).contains("quickstart must be one out of clickstream_codes,clickstream"))
        #expect(message(users.merging(["quickstart": "shoes"]) { $1 }).contains("not built into Vltava"))
        #expect(message(users.merging(["schema.string": schema]) { $1 }).contains("Must set exactly one of schema.string, schema.filename, quickstart"))
        #expect(message(["kafka.topic": "t"]).contains("Must set exactly one of"))
        #expect(message(["quickstart": "users"]).contains("Missing required configuration \"kafka.topic\""))
        #expect(message(users.merging(["schema.keyfield": "nope"]) { $1 }).contains("The schema does not contain the field provided in 'schema.keyfield'"))
        #expect(message(["kafka.topic": "t", "schema.string": "{not json"]).contains("Unable to parse the provided schema"))
        #expect(message(["kafka.topic": "t", "schema.string": #"{"type":"record","name":"r"}"#]).contains("Unable to parse the provided schema"))
        #expect(message(["kafka.topic": "t", "schema.string": #"{"type":"string"}"#]).contains("must be an Avro record"))
        #expect(message(["kafka.topic": "t", "schema.filename": "/nonexistent/schema.avsc"]).contains("Unable to find the schema file"))
        #expect(message(users.merging(["random.seed": "x"]) { $1 }).contains("Not a number of type LONG"))
        #expect(message(users.merging(["iterations": "many"]) { $1 }).contains("Not a number of type INT"))
        let regexField = { (pattern: String) in
            #"{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"string","arg.properties":{"regex":"\#(pattern)"}}}]}"#
        }
        #expect(message(["kafka.topic": "t", "schema.string": regexField("(a)\\\\1")]).contains("back-references are not supported"))
        #expect(message(["kafka.topic": "t", "schema.string": regexField("[a-")]).contains("unclosed character class"))
        let both = #"{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"int","arg.properties":{"options":[1],"range":{"min":1,"max":2}}}}]}"#
        #expect(message(["kafka.topic": "t", "schema.string": both]).contains("Cannot specify range prop when options prop is given"))
        let wrongOption = #"{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"int","arg.properties":{"options":["x"]}}}]}"#
        #expect(message(["kafka.topic": "t", "schema.string": wrongOption]).contains("does not fit the type"))
        let badRange = #"{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"int","arg.properties":{"range":{"min":5,"max":5}}}}]}"#
        #expect(message(["kafka.topic": "t", "schema.string": badRange]).contains("'min' field must be strictly less than 'max' field"))
        let recursive = #"{"type":"record","name":"r","fields":[{"name":"next","type":["null","r"]}]}"#
        #expect(message(["kafka.topic": "t", "schema.string": recursive]).contains("Connect schemas cannot be recursive"))
    }
}
