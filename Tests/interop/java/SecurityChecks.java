import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.quota.ClientQuotaFilterComponent;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * The Java client against SASL listeners: a producer and a consumer authenticated with PLAIN or SCRAM, logins
 * that must be refused, and SCRAM users made and removed through the Admin API.
 */
public final class SecurityChecks {
    private SecurityChecks() {}

    public static void main(String[] args) {
        Support.main("SecurityChecks", Map.of(
            "roundtrip", SecurityChecks::roundtrip,
            "refused", SecurityChecks::refused,
            "scram-upsert", SecurityChecks::scramUpsert,
            "scram-delete", SecurityChecks::scramDelete,
            "quotas", SecurityChecks::quotas), args);
    }

    /** SASL_PLAINTEXT settings for `mechanism` with the JAAS configuration of Kafka's own login modules. */
    static Properties sasl(String mechanism, String user, String password) {
        if (mechanism.equals("OAUTHBEARER")) {
            // Kafka's default login callback handler makes an unsecured JWT naming the user (no password).
            return Support.props(
                CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
                SaslConfigs.SASL_MECHANISM, mechanism,
                SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
                    + "unsecuredLoginStringClaim_sub=\"" + user + "\";");
        }
        String module = mechanism.equals("PLAIN")
            ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
        return Support.props(
            CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
            SaslConfigs.SASL_MECHANISM, mechanism,
            SaslConfigs.SASL_JAAS_CONFIG, module + " required username=\"" + user + "\" password=\"" + password + "\";");
    }

    /** SASL_SSL instead when `args[index]` names a PEM file of trusted certificates (the test CA). */
    static Properties sasl(String mechanism, String user, String password, String[] args, int index) {
        Properties props = sasl(mechanism, user, password);
        if (args.length > index) {
            props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
            props.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            props.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, args[index]);
        }
        return props;
    }

    static Admin admin(String bootstrap, Properties security) {
        Properties props = Support.common(bootstrap, "security-admin");
        props.putAll(security);
        return Admin.create(props);
    }

    /**
     * args: bootstrap topic mechanism user password [ca.pem]: 200 records produced (acks=all, idempotent) and consumed,
     * over SASL_SSL when a CA file is given.
     */
    static void roundtrip(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        Properties security = sasl(args[2], args[3], args[4], args, 5);
        try (Admin admin = admin(bootstrap, security)) {
            Support.createTopic(admin, topic, 2, Map.of());
        }
        int count = 200;
        Properties producerExtra = Support.props(ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        producerExtra.putAll(security);
        try (KafkaProducer<String, String> producer = Support.producer(bootstrap, producerExtra)) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + (i % 10), "v" + i));
            }
            producer.flush();
        }
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = Support.consumer(bootstrap, "security-group-" + topic, security)) {
            consumer.subscribe(Collections.singletonList(topic));
            long deadline = System.currentTimeMillis() + Support.TIMEOUT.toMillis();
            while (values.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
            consumer.commitSync();
        }
        Support.checkEqual(count, values.size(), "records consumed");
        Support.fact("consumed", values.size());
    }

    /** args: bootstrap mechanism user password: listing topics fails with SaslAuthenticationException. */
    static void refused(String[] args) throws Exception {
        Properties security = sasl(args[1], args[2], args[3]);
        security.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        security.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        try (Admin admin = admin(args[0], security)) {
            SaslAuthenticationException error = Support.expectFailure(
                SaslAuthenticationException.class, admin.listTopics().names(), "listing topics with wrong credentials");
            Support.fact("error", error.getMessage());
        }
    }

    /** args: bootstrap user password [security...]: SCRAM-SHA-256 and -512 credentials made and described. */
    static void scramUpsert(String[] args) throws Exception {
        Properties security = args.length > 3 ? sasl(args[3], args[4], args[5]) : new Properties();
        try (Admin admin = admin(args[0], security)) {
            admin.alterUserScramCredentials(List.of(
                new UserScramCredentialUpsertion(args[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), args[2]),
                new UserScramCredentialUpsertion(args[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), args[2])))
                .all().get();
            UserScramCredentialsDescription description = admin.describeUserScramCredentials(List.of(args[1])).description(args[1]).get();
            for (ScramCredentialInfo info : description.credentialInfos()) {
                Support.fact(info.mechanism().mechanismName(), info.iterations());
            }
            ExecutionException tooFew = null;
            try {
                admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                    "weak", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), "x"))).all().get();
            } catch (ExecutionException error) {
                tooFew = error;
            }
            Support.check(tooFew != null, "1000 iterations accepted");
            Support.fact("too_few", tooFew.getCause().getClass().getSimpleName());
        }
    }

    /** args: bootstrap user: both SCRAM credentials removed; describing the user then fails. */
    static void scramDelete(String[] args) throws Exception {
        try (Admin admin = admin(args[0], new Properties())) {
            admin.alterUserScramCredentials(List.of(
                new UserScramCredentialDeletion(args[1], ScramMechanism.SCRAM_SHA_256),
                new UserScramCredentialDeletion(args[1], ScramMechanism.SCRAM_SHA_512))).all().get();
            Support.expectFailure(ResourceNotFoundException.class,
                admin.describeUserScramCredentials(List.of(args[1])).description(args[1]), "describing a deleted user");
        }
    }

    /**
     * args: bootstrap: client quotas set, described with filters, refused when invalid, and removed through the
     * Admin API (alterClientQuotas, describeClientQuotas).
     */
    static void quotas(String[] args) throws Exception {
        try (Admin admin = admin(args[0], new Properties())) {
            ClientQuotaEntity limited = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, "java-limited"));
            Map<String, String> defaultUser = new java.util.HashMap<>();
            defaultUser.put(ClientQuotaEntity.USER, null);
            ClientQuotaEntity anyUser = new ClientQuotaEntity(defaultUser);
            admin.alterClientQuotas(List.of(
                new ClientQuotaAlteration(limited, List.of(
                    new ClientQuotaAlteration.Op("producer_byte_rate", 2_000_000.0),
                    new ClientQuotaAlteration.Op("consumer_byte_rate", 3_000_000.0))),
                new ClientQuotaAlteration(anyUser, List.of(new ClientQuotaAlteration.Op("request_percentage", 150.0)))))
                .all().get();
            Map<ClientQuotaEntity, Map<String, Double>> byClient = admin.describeClientQuotas(ClientQuotaFilter.containsOnly(
                List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, "java-limited")))).entities().get();
            Support.fact("limited", byClient.get(limited));
            Map<ClientQuotaEntity, Map<String, Double>> defaults = admin.describeClientQuotas(ClientQuotaFilter.contains(
                List.of(ClientQuotaFilterComponent.ofDefaultEntity(ClientQuotaEntity.USER)))).entities().get();
            Support.fact("default-user", defaults.get(anyUser));
            Support.fact("all", admin.describeClientQuotas(ClientQuotaFilter.all()).entities().get().size());
            InvalidRequestException invalid = Support.expectFailure(InvalidRequestException.class,
                admin.alterClientQuotas(List.of(new ClientQuotaAlteration(limited, List.of(
                    new ClientQuotaAlteration.Op("producer_byte_rate", 1.5))))).all(), "a fractional byte rate");
            Support.fact("invalid", invalid.getMessage());
            admin.alterClientQuotas(List.of(
                new ClientQuotaAlteration(limited, List.of(
                    new ClientQuotaAlteration.Op("producer_byte_rate", null), new ClientQuotaAlteration.Op("consumer_byte_rate", null))),
                new ClientQuotaAlteration(anyUser, List.of(new ClientQuotaAlteration.Op("request_percentage", null)))))
                .all().get();
            Support.fact("after-removal", admin.describeClientQuotas(ClientQuotaFilter.all()).entities().get().size());
        }
    }
}
