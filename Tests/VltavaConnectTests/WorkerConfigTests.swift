import Testing
import VltavaSecurity
@testable import VltavaConnect

@Suite("Worker configuration")
struct WorkerConfigTests {
    @Test func javaPropertiesFollowJavasRules() {
        let text = """
        # a comment
        ! another comment
        bootstrap.servers=localhost:9092
        key.converter : org.apache.kafka.connect.json.JsonConverter
        group.id connect-cluster
          spaced.key   =   value with spaces  
        continued=first, \\
                  second
        escaped\\ key=tab\\there\\u0041
        colon\\:key=a=b
        empty=
        last.wins=1
        last.wins=2
        """
        let pairs = JavaProperties.parse(text)
        let map = JavaProperties.dictionary(text)
        #expect(map["bootstrap.servers"] == "localhost:9092")
        #expect(map["key.converter"] == "org.apache.kafka.connect.json.JsonConverter")
        #expect(map["group.id"] == "connect-cluster")
        #expect(map["spaced.key"] == "value with spaces  ")
        #expect(map["continued"] == "first, second")
        #expect(map["escaped key"] == "tab\there" + "A")
        #expect(map["colon:key"] == "a=b")
        #expect(map["empty"] == "")
        #expect(map["last.wins"] == "2")
        #expect(pairs.filter { $0.0 == "last.wins" }.count == 2)
        #expect(!map.keys.contains { $0.hasPrefix("#") || $0.hasPrefix("!") })
    }

    @Test func crlfLinesAndATrailingContinuation() {
        let map = JavaProperties.dictionary("a=1\r\nb=2\\\r\n  3\rc=4\\")
        #expect(map == ["a": "1", "b": "23", "c": "4"])
    }

    @Test func defaultsAreKafkas() throws {
        let config = try WorkerConfig(properties: [:])
        #expect(config.bootstrapServers == "localhost:9092")
        #expect(config.groupId == "connect-cluster")
        #expect(config.configStorageTopic == "connect-configs")
        #expect(config.offsetStorageTopic == "connect-offsets")
        #expect(config.statusStorageTopic == "connect-status")
        #expect(config.offsetStoragePartitions == 25)
        #expect(config.statusStoragePartitions == 5)
        #expect(config.configStorageReplicationFactor == 3)
        #expect(config.offsetFlushIntervalMs == 60_000)
        #expect(config.restHost == "0.0.0.0" && config.restPort == 8083)
        #expect(config.converterClass("value.converter") == "org.apache.kafka.connect.json.JsonConverter")
        #expect(config.converterClass("header.converter") == "org.apache.kafka.connect.storage.SimpleHeaderConverter")
    }

    @Test func listenersWinOverRestPortAndTheAdvertisedAddressNamesTheWorker() throws {
        let config = try WorkerConfig(properties: [
            "listeners": "http://127.0.0.1:18083", "rest.port": "9999",
            "rest.advertised.host.name": "connect", "rest.advertised.port": "8083", "plugin.path": "/usr/share/java",
        ])
        #expect(config.restHost == "127.0.0.1" && config.restPort == 18083)
        #expect(config.workerId == "connect:8083")
        #expect(config.restUrl == "http://connect:8083/" && !config.restUsesTLS)
        let https = try WorkerConfig(properties: [
            "listeners": "https://127.0.0.1:8443", "listeners.https.ssl.keystore.location": "/k.pem", "ssl.keystore.location": "/other.pem",
        ])
        #expect(https.restUsesTLS && https.restUrl == "https://127.0.0.1:8443/")
        #expect(https.restSslProperties == ["ssl.keystore.location": "/k.pem"], "the prefixed settings win, all or nothing")
        let unprefixed = try WorkerConfig(properties: ["listeners": "https://127.0.0.1:8443", "ssl.keystore.location": "/other.pem",
                                                       "rest.advertised.listener": "http"])
        #expect(unprefixed.restSslProperties == ["ssl.keystore.location": "/other.pem"] && unprefixed.restUrl == "http://127.0.0.1:8443/")
        let legacy = try WorkerConfig(properties: ["rest.host.name": "10.0.0.1", "rest.port": "8084"])
        #expect(legacy.restHost == "10.0.0.1" && legacy.restPort == 8084)
        #expect(legacy.workerId == "10.0.0.1:8084")
    }

    @Test func badValuesNameTheirProperty() {
        #expect(throws: ConnectError.self) { try WorkerConfig(properties: ["offset.flush.interval.ms": "soon"]) }
        #expect(throws: ConnectError.self) { try WorkerConfig(properties: ["listeners": "ftp://0.0.0.0:8083"]) }
        #expect(throws: ConnectError.self) { try WorkerConfig(properties: ["listeners": "http://:8083,https://:8443"]) }
        #expect(throws: ConnectError.self) { try WorkerConfig(properties: ["rest.advertised.listener": "gopher"]) }
        #expect(throws: ConnectError.self) { try WorkerConfig(properties: ["value.converter": "com.example.Nope"]) }
        #expect(throws: ConnectError.self) { try WorkerConfig(properties: ["config.storage.replication.factor": "0"]) }
    }

    @Test func cpKafkaConnectEnvironment() throws {
        let properties = Dictionary(uniqueKeysWithValues: WorkerConfig.properties(fromEnvironment: [
            "CONNECT_BOOTSTRAP_SERVERS": "kafka:29092",
            "CONNECT_REST_PORT": "8083",
            "CONNECT_GROUP_ID": "compose-connect-group",
            "CONNECT_CONFIG_STORAGE_TOPIC": "docker-connect-configs",
            "CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR": "1",
            "CONNECT_VALUE_CONVERTER_SCHEMA_REGISTRY_URL": "http://schema-registry:8081",
            "CONNECT_LOG4J_ROOT_LOGLEVEL": "INFO",
            "CONNECT_SOME__UNDERSCORED": "x",
            "PATH": "/usr/bin",
        ]))
        #expect(properties == [
            "bootstrap.servers": "kafka:29092", "rest.port": "8083", "group.id": "compose-connect-group",
            "config.storage.topic": "docker-connect-configs", "config.storage.replication.factor": "1",
            "value.converter.schema.registry.url": "http://schema-registry:8081", "some_underscored": "x",
        ])
        let config = try WorkerConfig(properties: properties)
        #expect(config.configStorageReplicationFactor == 1)
        #expect(config.withPrefix("value.converter.") == ["schema.registry.url": "http://schema-registry:8081"])
    }
}
