#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import SchemaRegistry
import Testing
@testable import vltava

@Suite("vltava connectors")
struct ConnectorsCommandTests {
    @Test("arguments map to Kafka Connect's REST calls")
    func requests() {
        #expect(ConnectRequests.list(expand: []) == ConnectRequest(method: .GET, path: "/connectors"))
        #expect(ConnectRequests.list(expand: ["status", "info"]).path == "/connectors?expand=status&expand=info")
        #expect(ConnectRequests.get("my source") == ConnectRequest(method: .GET, path: "/connectors/my%20source"))
        #expect(ConnectRequests.delete("a/b") == ConnectRequest(method: .DELETE, path: "/connectors/a%2Fb"))
        #expect(ConnectRequests.pause("c") == ConnectRequest(method: .PUT, path: "/connectors/c/pause"))
        #expect(ConnectRequests.resume("c") == ConnectRequest(method: .PUT, path: "/connectors/c/resume"))
        #expect(ConnectRequests.stop("c") == ConnectRequest(method: .PUT, path: "/connectors/c/stop"))
        #expect(ConnectRequests.status("c") == ConnectRequest(method: .GET, path: "/connectors/c/status"))
        #expect(ConnectRequests.restart("c", includeTasks: false, onlyFailed: false).path == "/connectors/c/restart")
        #expect(ConnectRequests.restart("c", includeTasks: true, onlyFailed: true)
            == ConnectRequest(method: .POST, path: "/connectors/c/restart?includeTasks=true&onlyFailed=true"))
        #expect(ConnectRequests.offsets("c", reset: false) == ConnectRequest(method: .GET, path: "/connectors/c/offsets"))
        #expect(ConnectRequests.offsets("c", reset: true) == ConnectRequest(method: .DELETE, path: "/connectors/c/offsets"))
        #expect(ConnectRequests.plugins(all: true).path == "/connector-plugins?connectorsOnly=false")

        let create = ConnectRequests.create("gen", config: [("connector.class", "Datagen"), ("tasks.max", "1")], update: false)
        #expect(create.method == .POST && create.path == "/connectors")
        #expect(create.body == #"{"name":"gen","config":{"connector.class":"Datagen","tasks.max":"1"}}"#)
        let update = ConnectRequests.create("gen", config: [("tasks.max", "2")], update: true)
        #expect(update == ConnectRequest(method: .PUT, path: "/connectors/gen/config", body: #"{"tasks.max":"2"}"#))
    }

    @Test("Java properties files: separators, comments, continuations and escapes")
    func properties() throws {
        let text = """
            # a comment
            ! another
            name=local-file-source
            connector.class : FileStreamSource
            tasks.max 1
              file=/tmp/a\\
                b.txt
            topic=connect-test
            key\\=with\\:separators = v
            unicode=caf\\u00e9\\ttab
            empty=
            topic=overridden
            """
        let config = try ConnectorConfigInput.properties(text, source: "f.properties")
        #expect(config.map(\.0) == ["name", "connector.class", "tasks.max", "file", "topic", "key=with:separators", "unicode", "empty"])
        #expect(config.map(\.1) == ["local-file-source", "FileStreamSource", "1", "/tmp/ab.txt", "overridden", "v", "café\ttab", ""])
    }

    @Test("configuration files: a JSON object, Kafka's create body, or properties")
    func configFiles() throws {
        let flat = try ConnectorConfigInput.configFile(#"{"connector.class":"Datagen","tasks.max":2,"x":true,"n":null}"#, source: "c.json")
        #expect(flat.name == nil)
        #expect(flat.config.map(\.0) == ["connector.class", "tasks.max", "x"])
        #expect(flat.config.map(\.1) == ["Datagen", "2", "true"])
        let body = try ConnectorConfigInput.configFile(#"{"name":"gen","config":{"a":"1"}}"#, source: "c.json")
        #expect(body.name == "gen" && body.config.map(\.1) == ["1"])
        let properties = try ConnectorConfigInput.configFile("a=1\n", source: "c.properties")
        #expect(properties.config.map(\.0) == ["a"])
        #expect(throws: ConnectorConfigInput.Failure.self) { try ConnectorConfigInput.createBody(#"{"name":"x"}"#, source: "b.json") }
        #expect(throws: ConnectorConfigInput.Failure.self) { try ConnectorConfigInput.configFile("{not json", source: "b.json") }
        #expect(throws: ConnectorConfigInput.Failure.self) { try ConnectorConfigInput.assignments(["novalue"]) }
    }

    @Test("create takes the name and configuration from the argument, the files and --config, in that order of precedence")
    func createResolution() throws {
        let files = [
            "body.json": #"{"name":"from-body","config":{"connector.class":"Datagen","tasks.max":"1","name":"from-body"}}"#,
            "extra.properties": "tasks.max=3\nkafka.topic=t\n",
        ]
        let read = { (path: String) throws -> String in files[path] ?? "" }
        let fromBody = try ConnectorsCommand.Create.parse(["--file", "body.json", "--config-file", "extra.properties", "--config", "quickstart=users"])
        let (name, config) = try fromBody.resolve(readFile: read)
        #expect(name == "from-body")
        #expect(config.map(\.0) == ["connector.class", "tasks.max", "kafka.topic", "quickstart"])
        #expect(config.first { $0.0 == "tasks.max" }?.1 == "3")

        let named = try ConnectorsCommand.Create.parse(["mine", "--file", "body.json"])
        #expect(try named.resolve(readFile: read).0 == "mine")

        let nameless = try ConnectorsCommand.Create.parse(["--config", "a=b"])
        #expect(throws: (any Error).self) { try nameless.resolve(readFile: read) }
    }

    @Test("answers print as tables")
    func output() throws {
        #expect(ConnectOutput.connectorList(try JSONParser.parse(#"["b","a"]"#)) == "a\nb")
        let expanded = try JSONParser.parse("""
            {"gen":{"status":{"name":"gen","connector":{"state":"RUNNING","worker_id":"w:8083"},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":"w:8083"},{"id":1,"state":"FAILED","worker_id":"w:8083"}],"type":"source"}}}
            """)
        #expect(ConnectOutput.connectorList(expanded) == "NAME  TYPE    STATE    TASKS\ngen   source  RUNNING  1/2 running")

        let status = try JSONParser.parse("""
            {"name":"gen","connector":{"state":"RUNNING","worker_id":"w:8083"},"type":"source",
            "tasks":[{"id":0,"state":"FAILED","worker_id":"w:8083","trace":"org.apache.kafka.connect.errors.ConnectException: boom\\n\\tat x"}]}
            """)
        #expect(ConnectOutput.status(status) == """
            Connector gen is RUNNING on w:8083 (source)
            TASK  STATE   WORKER  TRACE
            0     FAILED  w:8083  org.apache.kafka.connect.errors.ConnectException: boom
            """)

        let info = try JSONParser.parse(#"{"name":"gen","config":{"b":"2","a":"1"},"tasks":[{"connector":"gen","task":0}],"type":"source"}"#)
        #expect(ConnectOutput.connectorInfo(info) == "Connector: gen\nType:      source\nTasks:     0\nConfig:\n  a = 1\n  b = 2")

        let offsets = try JSONParser.parse(#"{"offsets":[{"partition":{"task.id":0},"offset":{"current.iteration":5}}]}"#)
        #expect(ConnectOutput.offsets(offsets) == "PARTITION      OFFSET\n{\"task.id\":0}  {\"current.iteration\":5}")
        #expect(ConnectOutput.offsets(try JSONParser.parse(#"{"offsets":[]}"#)) == "No offsets.")

        let plugins = try JSONParser.parse(#"[{"class":"io.confluent.kafka.connect.datagen.DatagenConnector","type":"source","version":"0.7.1"}]"#)
        #expect(ConnectOutput.plugins(plugins) == "CLASS                                                TYPE    VERSION\n"
            + "io.confluent.kafka.connect.datagen.DatagenConnector  source  0.7.1")
    }

    @Test("errors in plain words")
    func errors() {
        #expect(ConnectOutput.errorMessage(status: 404, body: #"{"error_code":404,"message":"Connector x not found"}"#)
            == "Connector x not found")
        #expect(ConnectOutput.errorMessage(status: 502, body: "Bad gateway") == "HTTP 502: Bad gateway")
        #expect(ConnectOutput.errorMessage(status: 500, body: "") == "HTTP 500")
        #expect(ConnectorsCommand.describe(IOError(errnoCode: ECONNREFUSED, reason: "connect")) == "connection refused")
    }
}
