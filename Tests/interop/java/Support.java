import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What the Java test programs share: client settings, checks and the output the pytest side reads.
 *
 * A program prints "name=value" lines (facts the Python test asserts on) on stdout; a failed check throws
 * {@link CheckFailed}, which {@link #main} turns into "FAILED: message" on stderr and exit status 1. Any other
 * exception exits with status 2 and its stack trace. Exit status 0 means every check held.
 */
final class Support {
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static final long TIMEOUT_S = 30;

    private Support() {}

    /** A check that did not hold. */
    static final class CheckFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CheckFailed(String message) {
            super(message);
        }
    }

    interface Mode {
        void run(String[] args) throws Exception;
    }

    /** Runs `modes.get(args[0])` with the remaining arguments and exits with 0, 1 (a check failed) or 2. */
    static void main(String program, Map<String, Mode> modes, String[] args) {
        int status;
        try {
            if (args.length == 0 || !modes.containsKey(args[0])) {
                throw new IllegalArgumentException(program + ": mode expected, one of " + modes.keySet());
            }
            String[] rest = new String[args.length - 1];
            System.arraycopy(args, 1, rest, 0, rest.length);
            modes.get(args[0]).run(rest);
            System.out.println("result=ok");
            status = 0;
        } catch (CheckFailed failed) {
            System.err.println("FAILED: " + failed.getMessage());
            failed.printStackTrace();
            status = 1;
        } catch (Throwable error) {
            System.err.println("ERROR: " + error);
            error.printStackTrace();
            status = 2;
        }
        System.out.flush();
        System.err.flush();
        // halt: no client thread left behind can keep the JVM alive.
        Runtime.getRuntime().halt(status);
    }

    static void fact(String name, Object value) {
        System.out.println(name + "=" + value);
    }

    static void check(boolean condition, String message) {
        if (!condition) {
            throw new CheckFailed(message);
        }
    }

    static void checkEqual(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new CheckFailed(what + ": expected <" + expected + "> but was <" + actual + ">");
        }
    }

    /** The cause of the failed future, which must be an instance of `type`; returns it. */
    static <T extends Throwable> T expectFailure(Class<T> type, org.apache.kafka.common.KafkaFuture<?> future,
                                                 String what) throws InterruptedException {
        try {
            Object value = future.get(TIMEOUT_S, TimeUnit.SECONDS);
            throw new CheckFailed(what + ": expected " + type.getSimpleName() + " but succeeded with " + value);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (!type.isInstance(cause)) {
                throw new CheckFailed(what + ": expected " + type.getSimpleName() + " but got " + cause);
            }
            return type.cast(cause);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new CheckFailed(what + ": no answer within " + TIMEOUT_S + " s");
        }
    }

    static void waitUntil(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new CheckFailed("timed out after " + timeout.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    static Properties common(String bootstrap, String clientId) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
        return p;
    }

    static Admin admin(String bootstrap) {
        Properties p = common(bootstrap, "java-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        return Admin.create(p);
    }

    static Properties producerProps(String bootstrap, String clientId) {
        Properties p = common(bootstrap, clientId);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return p;
    }

    static KafkaProducer<String, String> producer(String bootstrap, Properties extra) {
        Properties p = producerProps(bootstrap, "java-producer");
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static Properties consumerProps(String bootstrap, String group) {
        Properties p = common(bootstrap, "java-consumer");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        }
        return p;
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group, Properties extra) {
        Properties p = consumerProps(bootstrap, group);
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    static Properties props(String... keyValues) {
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put(keyValues[i], keyValues[i + 1]);
        }
        return p;
    }

    static void createTopic(Admin admin, String topic, int partitions, Map<String, String> configs)
        throws Exception {
        NewTopic newTopic = new NewTopic(topic, partitions, (short) 1).configs(configs);
        admin.createTopics(List.of(newTopic)).all().get(TIMEOUT_S, TimeUnit.SECONDS);
    }

    static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            createTopic(admin, topic, partitions, Collections.emptyMap());
        }
    }

    static List<TopicPartition> partitions(String topic, int count) {
        List<TopicPartition> list = new ArrayList<>();
        for (int p = 0; p < count; p++) {
            list.add(new TopicPartition(topic, p));
        }
        return list;
    }

    /** Polls until `count` records came (or fails after the timeout); more than `count` is a failure too. */
    static List<ConsumerRecord<String, String>> pollExactly(KafkaConsumer<String, String> consumer, int count,
                                                            Duration timeout) throws InterruptedException {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (records.size() < count) {
            if (System.nanoTime() > deadline) {
                throw new CheckFailed("received " + records.size() + " of " + count + " records within "
                    + timeout.toSeconds() + " s");
            }
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                records.add(record);
            }
        }
        // Nothing more should come.
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(300))) {
            records.add(record);
        }
        checkEqual(count, records.size(), "records received");
        return records;
    }

    /** Drains what arrives until nothing came for `quiet`. */
    static List<ConsumerRecord<String, String>> pollUntilQuiet(KafkaConsumer<String, String> consumer,
                                                               Duration quiet, Duration max) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long end = System.nanoTime() + max.toNanos();
        long lastData = System.nanoTime();
        while (System.nanoTime() < end && System.nanoTime() - lastData < quiet.toNanos()) {
            ConsumerRecords<String, String> batch = consumer.poll(Duration.ofMillis(100));
            if (!batch.isEmpty()) {
                lastData = System.nanoTime();
                for (ConsumerRecord<String, String> record : batch) {
                    records.add(record);
                }
            }
        }
        return records;
    }

    static Map<String, String> map(String... keyValues) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String utf8(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static <T extends Comparable<T>> List<T> sorted(Collection<T> items) {
        List<T> list = new ArrayList<>(items);
        Collections.sort(list);
        return list;
    }
}
