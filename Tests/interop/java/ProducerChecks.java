import static java.util.concurrent.TimeUnit.SECONDS;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;

/**
 * Apache Kafka's producer against the broker. Modes:
 *   codec BOOTSTRAP TOPIC CODEC   idempotent acks=all producer with the codec; keys, null keys and values,
 *                                 headers and timestamps read back by a consumer exactly as sent
 *   inflight BOOTSTRAP TOPIC N    N small records with 5 requests in flight per connection, read back in order
 */
public final class ProducerChecks {
    static final int PARTITIONS = 3;
    static final long BASE_TIMESTAMP = 1_700_000_000_000L;

    private ProducerChecks() {}

    public static void main(String[] args) {
        Support.main("ProducerChecks", Map.of("codec", ProducerChecks::codec, "inflight", ProducerChecks::inflight),
            args);
    }

    record Sent(String key, String value, List<Header> headers, long timestamp) {}

    static void codec(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String codec = args[2];
        int count = 3000;
        Support.createTopic(bootstrap, topic, PARTITIONS);
        Map<TopicPartition, Map<Long, Sent>> sent = new HashMap<>();
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        List<Sent> order = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Support.producer(bootstrap, Support.props(
            ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
            ProducerConfig.LINGER_MS_CONFIG, "10"))) {
            for (int i = 0; i < count; i++) {
                String key = i % 7 == 0 ? null : "key-" + (i % 97);
                String value = i % 13 == 0 ? null : "value-" + i + "-" + "x".repeat(i % 50) + "\u010d\u0159";
                List<Header> headers = new ArrayList<>();
                headers.add(new RecordHeader("seq", Support.utf8(Integer.toString(i))));
                headers.add(new RecordHeader("source", Support.utf8("java")));
                if (i % 5 == 0) {
                    headers.add(new RecordHeader("empty", null));
                }
                long timestamp = BASE_TIMESTAMP + i * 10L;
                // Records without a key go to an explicit partition; keyed ones to the default partitioner's.
                Integer partition = key == null ? i % PARTITIONS : null;
                futures.add(producer.send(new ProducerRecord<>(topic, partition, timestamp, key, value, headers)));
                order.add(new Sent(key, value, headers, timestamp));
            }
            producer.flush();
            for (int i = 0; i < count; i++) {
                RecordMetadata metadata = futures.get(i).get(Support.TIMEOUT_S, SECONDS);
                Support.checkEqual(order.get(i).timestamp, metadata.timestamp(), "timestamp in the produce answer");
                sent.computeIfAbsent(new TopicPartition(topic, metadata.partition()), k -> new HashMap<>())
                    .put(metadata.offset(), order.get(i));
            }
        }
        for (var entry : sent.entrySet()) {
            // Offsets of each partition are 0..n-1: nothing lost or doubled by the idempotent producer.
            Support.checkEqual(entry.getValue().size() - 1L, java.util.Collections.max(entry.getValue().keySet()),
                "highest offset of " + entry.getKey());
        }
        try (KafkaConsumer<String, String> consumer = Support.consumer(bootstrap, null, Support.props())) {
            consumer.assign(Support.partitions(topic, PARTITIONS));
            consumer.seekToBeginning(consumer.assignment());
            List<ConsumerRecord<String, String>> records = Support.pollExactly(consumer, count, Duration.ofSeconds(60));
            for (ConsumerRecord<String, String> record : records) {
                Sent expected = sent.get(new TopicPartition(topic, record.partition())).get(record.offset());
                String where = record.partition() + "@" + record.offset();
                Support.check(expected != null, "unexpected record at " + where);
                Support.checkEqual(expected.key, record.key(), "key at " + where);
                Support.checkEqual(expected.value, record.value(), "value at " + where);
                Support.checkEqual(expected.timestamp, record.timestamp(), "timestamp at " + where);
                Support.checkEqual(TimestampType.CREATE_TIME, record.timestampType(), "timestamp type at " + where);
                List<String> want = new ArrayList<>();
                for (Header h : expected.headers) {
                    want.add(h.key() + "=" + Support.utf8(h.value()));
                }
                List<String> got = new ArrayList<>();
                for (Header h : record.headers()) {
                    got.add(h.key() + "=" + Support.utf8(h.value()));
                }
                Support.checkEqual(want, got, "headers at " + where);
            }
            Support.fact("consumed", records.size());
            for (var entry : sent.entrySet()) {
                Support.fact("partition." + entry.getKey().partition(), entry.getValue().size());
            }
        }
    }

    static void inflight(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int count = Integer.parseInt(args[2]);
        Support.createTopic(bootstrap, topic, 2);
        List<Future<RecordMetadata>> futures = new ArrayList<>(count);
        AtomicReference<Exception> failure = new AtomicReference<>();
        double maxInFlight = 0;
        try (KafkaProducer<String, String> producer = Support.producer(bootstrap, Support.props(
            ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5",
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
            ProducerConfig.LINGER_MS_CONFIG, "0",
            ProducerConfig.BATCH_SIZE_CONFIG, "512"))) {
            Metric inFlight = null;
            for (Map.Entry<MetricName, ? extends Metric> metric : producer.metrics().entrySet()) {
                if (metric.getKey().name().equals("requests-in-flight")) {
                    inFlight = metric.getValue();
                }
            }
            Support.check(inFlight != null, "the producer has no requests-in-flight metric");
            for (int i = 0; i < count; i++) {
                futures.add(producer.send(new ProducerRecord<>(topic, i % 2, "k", "seq-" + i), (metadata, error) -> {
                    if (error != null) {
                        failure.compareAndSet(null, error);
                    }
                }));
                if (i % 100 == 0) {
                    maxInFlight = Math.max(maxInFlight, ((Number) inFlight.metricValue()).doubleValue());
                }
            }
            while (!futures.get(count - 1).isDone()) {
                maxInFlight = Math.max(maxInFlight, ((Number) inFlight.metricValue()).doubleValue());
                Thread.sleep(1);
            }
            producer.flush();
        }
        Support.check(failure.get() == null, "a send failed: " + failure.get());
        long[] next = new long[2];
        for (int i = 0; i < count; i++) {
            RecordMetadata metadata = futures.get(i).get();
            // Each partition's offsets follow the send order with no gap: batches were appended in order.
            Support.checkEqual(next[i % 2], metadata.offset(), "offset of record " + i);
            next[i % 2]++;
        }
        try (KafkaConsumer<String, String> consumer = Support.consumer(bootstrap, null,
            Support.props("max.poll.records", "5000"))) {
            consumer.assign(Support.partitions(topic, 2));
            consumer.seekToBeginning(consumer.assignment());
            List<ConsumerRecord<String, String>> records = Support.pollExactly(consumer, count, Duration.ofSeconds(60));
            int[] expected = {0, 1};
            for (ConsumerRecord<String, String> record : records) {
                int p = record.partition();
                Support.checkEqual("seq-" + expected[p], record.value(), "value at " + p + "@" + record.offset());
                expected[p] += 2;
            }
        }
        Support.fact("max_in_flight", (long) maxInFlight);
        Support.fact("consumed", count);
    }
}
