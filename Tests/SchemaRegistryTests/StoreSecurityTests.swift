import Testing
import VltavaSecurity
@testable import SchemaRegistry

@Suite("The registry store's Kafka security")
struct StoreSecurityTests {
    @Test func confluentEnvironmentNamesBecomeProperties() {
        #expect(JavaProperties.propertyName(confluentVariable: "SASL_JAAS_CONFIG") == "sasl.jaas.config")
        #expect(JavaProperties.propertyName(confluentVariable: "SSL_TRUSTSTORE_LOCATION") == "ssl.truststore.location")
        #expect(JavaProperties.propertyName(confluentVariable: "A__B___C_D") == "a_b-c.d")
        #expect(SchemaRegistryService.properties(fromEnvironment: ["SCHEMA_REGISTRY_SSL_KEY_PASSWORD": "k",
                                                                   "SCHEMA_REGISTRY_OPTS": "-Xmx1G", "OTHER": "x"])
            == ["ssl.key.password": "k"])
    }

    @Test func protocolFromTheSettingOrTheBootstrapScheme() throws {
        let sasl = [
            "SCHEMA_REGISTRY_KAFKASTORE_SASL_MECHANISM": "PLAIN",
            "SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG":
                #"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#,
        ]
        let fromScheme = try SchemaRegistryService.storeSecurity(environment: sasl, bootstrapServers: "SASL_PLAINTEXT://b:9093")
        #expect(fromScheme.securityProtocol == .saslPlaintext)
        #expect(fromScheme.credentials == .plain(user: "u", password: "p"))
        let plain = try SchemaRegistryService.storeSecurity(environment: [:], bootstrapServers: "PLAINTEXT://b:9092,b2:9092")
        #expect(plain.securityProtocol == .plaintext)
        var explicit = sasl
        explicit["SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL"] = "SASL_PLAINTEXT"
        #expect(try SchemaRegistryService.storeSecurity(environment: explicit, bootstrapServers: "b:9092").securityProtocol == .saslPlaintext)
        #expect(throws: RegistryError.self) {
            try SchemaRegistryService.storeSecurity(
                environment: ["SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL": "SASL_SSL"], bootstrapServers: "b:9092")
        }
    }
}
