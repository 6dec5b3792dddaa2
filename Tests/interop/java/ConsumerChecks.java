import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Apache Kafka's consumer with classic groups against the broker. Modes:
 *   share BOOTSTRAP TOPIC GROUP ASSIGNOR   two members share a topic (range or cooperative-sticky), one leaves and
 *                                          the other takes over its partitions from its committed offsets
 *   commits BOOTSTRAP TOPIC GROUP          commitSync and commitAsync (with metadata); a new consumer of the group
 *                                          resumes exactly after them
 *   seek BOOTSTRAP TOPIC GROUP             assign() mode: seek, seekToBeginning/End, offsetsForTimes,
 *                                          beginning/endOffsets, commits in assign mode, reset none errors
 *   consumerProtocol BOOTSTRAP TOPIC GROUP group.protocol=consumer (KIP-848): two members share the topic with
 *                                          server-side assignment, commit, leave; a new member resumes exactly
 *                                          after the commits
 */
public final class ConsumerChecks {
    static final long BASE_TIMESTAMP = 1_700_000_000_000L;

    private ConsumerChecks() {}

    public static void main(String[] args) {
        Support.main("ConsumerChecks", Map.of(
            "share", ConsumerChecks::share,
            "commits", ConsumerChecks::commits,
            "seek", ConsumerChecks::seek,
            "consumerProtocol", ConsumerChecks::consumerProtocol), args);
    }

    /** Produces `count` records "v-i" (from `start`) round-robin over `partitions`; returns the values. */
    static List<String> produce(String bootstrap, String topic, int partitions, int start, int count) throws Exception {
        List<String> values = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Support.producer(bootstrap, Support.props())) {
            for (int i = start; i < start + count; i++) {
                String value = "v-" + i;
                producer.send(new ProducerRecord<>(topic, i % partitions, BASE_TIMESTAMP + i * 1000L, "k-" + i, value));
                values.add(value);
            }
            producer.flush();
        }
        return values;
    }

    /** A group member polled from the main thread, with what its rebalance listener saw. */
    static final class Member implements ConsumerRebalanceListener {
        final String name;
        final KafkaConsumer<String, String> consumer;
        final Set<TopicPartition> owned = new HashSet<>();
        final Set<TopicPartition> everRevoked = new HashSet<>();
        final List<ConsumerRecord<String, String>> records = new ArrayList<>();
        int assignments;

        Member(String name, String bootstrap, String group, String topic, String assignor) {
            this.name = name;
            this.consumer = Support.consumer(bootstrap, group, Support.props(
                ConsumerConfig.CLIENT_ID_CONFIG, name,
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignorClass(assignor)));
            consumer.subscribe(List.of(topic), this);
        }

        static String assignorClass(String assignor) {
            return switch (assignor) {
                case "range" -> org.apache.kafka.clients.consumer.RangeAssignor.class.getName();
                case "cooperative-sticky" -> org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName();
                default -> throw new IllegalArgumentException("unknown assignor " + assignor);
            };
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            assignments++;
            owned.addAll(partitions);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // Commit what was consumed before giving partitions away.
            consumer.commitSync();
            everRevoked.addAll(partitions);
            owned.removeAll(partitions);
        }

        void poll() {
            var batch = consumer.poll(Duration.ofMillis(100));
            for (ConsumerRecord<String, String> record : batch) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                Support.check(owned.contains(partition), name + " got a record of " + partition
                    + " which it does not own: " + owned);
                records.add(record);
            }
            if (!batch.isEmpty()) {
                consumer.commitSync();
            }
        }

        Set<Integer> partitions() {
            Set<Integer> set = new TreeSet<>();
            for (TopicPartition p : owned) {
                set.add(p.partition());
            }
            return set;
        }
    }

    static List<String> values(Collection<ConsumerRecord<String, String>> records) {
        List<String> values = new ArrayList<>();
        for (ConsumerRecord<String, String> record : records) {
            values.add(record.value());
        }
        return values;
    }

    static void share(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        String assignor = args[3];
        int partitions = 4;
        Support.createTopic(bootstrap, topic, partitions);
        Member a = new Member("member-a", bootstrap, group, topic, assignor);
        Member b = new Member("member-b", bootstrap, group, topic, assignor);
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!(a.owned.size() == 2 && b.owned.size() == 2)) {
            Support.check(System.nanoTime() < deadline, "the two members did not get 2 partitions each: a="
                + a.partitions() + " b=" + b.partitions());
            a.poll();
            b.poll();
        }
        Set<Integer> union = new TreeSet<>(a.partitions());
        union.addAll(b.partitions());
        Support.checkEqual(Set.of(0, 1, 2, 3), union, "partitions shared by the two members");
        Support.fact("first.a", a.partitions());
        Support.fact("first.b", b.partitions());
        Set<TopicPartition> firstA = new HashSet<>(a.owned);

        List<String> sent = produce(bootstrap, topic, partitions, 0, 200);
        deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (a.records.size() + b.records.size() < sent.size()) {
            Support.check(System.nanoTime() < deadline, "consumed " + (a.records.size() + b.records.size())
                + " of " + sent.size());
            a.poll();
            b.poll();
        }
        a.poll();
        b.poll();
        List<String> got = values(a.records);
        got.addAll(values(b.records));
        Collections.sort(got);
        List<String> want = new ArrayList<>(sent);
        Collections.sort(want);
        Support.checkEqual(want, got, "records consumed by the two members");
        Support.check(!a.records.isEmpty() && !b.records.isEmpty(), "one member consumed nothing");

        // b leaves the group (LeaveGroup on close): a takes over all four partitions.
        b.consumer.close(Duration.ofSeconds(10));
        int aBefore = a.records.size();
        deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (a.owned.size() < partitions) {
            Support.check(System.nanoTime() < deadline, "a did not take over b's partitions: " + a.partitions());
            a.poll();
        }
        Support.checkEqual(aBefore, a.records.size(), "records a received during the rebalance");
        if (assignor.equals("cooperative-sticky")) {
            // Incremental rebalancing: a never gave up the partitions it kept.
            Support.check(Collections.disjoint(a.everRevoked, firstA), "cooperative a revoked " + a.everRevoked);
        } else {
            // Eager rebalancing: a revoked everything it had before being assigned again.
            Support.checkEqual(firstA, a.everRevoked, "partitions eager a revoked");
        }
        List<String> more = produce(bootstrap, topic, partitions, 200, 100);
        deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (a.records.size() < aBefore + more.size()) {
            Support.check(System.nanoTime() < deadline, "a consumed " + (a.records.size() - aBefore) + " of "
                + more.size() + " new records");
            a.poll();
        }
        a.poll();
        List<String> after = values(a.records.subList(aBefore, a.records.size()));
        Collections.sort(after);
        Collections.sort(more);
        // b committed before leaving: a starts its new partitions where b stopped, no record again.
        Support.checkEqual(more, after, "records a consumed after b left");
        Support.fact("final.a", a.partitions());
        Support.fact("revoked.a", a.everRevoked.size());
        Support.fact("assignments.a", a.assignments);
        a.consumer.close(Duration.ofSeconds(10));
    }

    static Map<TopicPartition, OffsetAndMetadata> nextOffsets(List<ConsumerRecord<String, String>> records,
                                                              String metadata) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> record : records) {
            offsets.put(new TopicPartition(record.topic(), record.partition()),
                new OffsetAndMetadata(record.offset() + 1, metadata));
        }
        return offsets;
    }

    static void commits(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        List<String> sent = produceOnNewTopic(bootstrap, topic, 2, 100);
        Set<TopicPartition> both = new HashSet<>(Support.partitions(topic, 2));
        List<ConsumerRecord<String, String>> consumed = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> asyncOffsets;
        try (KafkaConsumer<String, String> first = Support.consumer(bootstrap, group, Support.props(
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "7"))) {
            first.subscribe(List.of(topic));
            while (consumed.size() < 30) {
                first.poll(Duration.ofMillis(100)).forEach(consumed::add);
            }
            first.commitSync();
            Map<TopicPartition, OffsetAndMetadata> syncCommitted = first.committed(both);
            long sum = 0;
            for (OffsetAndMetadata offset : syncCommitted.values()) {
                sum += offset == null ? 0 : offset.offset();
            }
            Support.checkEqual((long) consumed.size(), sum, "sum of the offsets commitSync() committed");

            while (consumed.size() < 60) {
                first.poll(Duration.ofMillis(100)).forEach(consumed::add);
            }
            asyncOffsets = nextOffsets(consumed, "async");
            AtomicReference<Object> callback = new AtomicReference<>();
            first.commitAsync(asyncOffsets, (offsets, error) -> callback.set(error != null ? error : offsets));
            List<ConsumerRecord<String, String>> extra = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (callback.get() == null) {
                Support.check(System.nanoTime() < deadline, "commitAsync's callback never ran");
                first.poll(Duration.ofMillis(50)).forEach(extra::add);
            }
            Support.checkEqual(asyncOffsets, callback.get(), "offsets in commitAsync's callback");
            Support.checkEqual(asyncOffsets, first.committed(both), "committed offsets after commitAsync");
            Support.fact("polled_not_committed", extra.size());
        }
        // A new consumer of the group resumes exactly after the committed offsets.
        try (KafkaConsumer<String, String> second = Support.consumer(bootstrap, group, Support.props())) {
            Support.checkEqual(asyncOffsets, second.committed(both), "committed offsets seen by a new consumer");
            second.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> rest = Support.pollExactly(second, sent.size() - consumed.size(),
                Duration.ofSeconds(30));
            Map<Integer, Long> firstOffsets = new HashMap<>();
            for (ConsumerRecord<String, String> record : rest) {
                firstOffsets.putIfAbsent(record.partition(), record.offset());
            }
            for (TopicPartition partition : both) {
                OffsetAndMetadata committed = asyncOffsets.get(partition);
                Long firstOffset = firstOffsets.get(partition.partition());
                if (firstOffset != null) {
                    Support.checkEqual(committed == null ? 0L : committed.offset(), firstOffset,
                        "first offset the new consumer read of " + partition);
                }
            }
            List<String> all = values(consumed);
            all.addAll(values(rest));
            Collections.sort(all);
            List<String> want = new ArrayList<>(sent);
            Collections.sort(want);
            Support.checkEqual(want, all, "records before the commit and after the restart");
            Support.fact("resumed", rest.size());
        }
        Support.fact("committed", consumed.size());
    }

    static void consumerProtocol(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        List<String> sent = produceOnNewTopic(bootstrap, topic, 4, 200);
        Properties modern = Support.props(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10");
        List<ConsumerRecord<String, String>> consumed = new ArrayList<>();
        try (KafkaConsumer<String, String> a = Support.consumer(bootstrap, group, modern);
             KafkaConsumer<String, String> b = Support.consumer(bootstrap, group, modern)) {
            a.subscribe(List.of(topic));
            b.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            // Both members get two partitions from the coordinator; each commits what it reads.
            while (a.assignment().size() != 2 || b.assignment().size() != 2 || consumed.size() < 100) {
                Support.check(System.nanoTime() < deadline, "no 2/2 assignment with 100 records read: "
                    + a.assignment() + " " + b.assignment() + " " + consumed.size());
                for (KafkaConsumer<String, String> member : List.of(a, b)) {
                    var batch = member.poll(Duration.ofMillis(50));
                    batch.forEach(consumed::add);
                    if (!batch.isEmpty()) {
                        member.commitSync();
                    }
                }
            }
            Set<TopicPartition> union = new HashSet<>(a.assignment());
            union.addAll(b.assignment());
            Support.checkEqual(new HashSet<>(Support.partitions(topic, 4)), union, "partitions of the two members");
            Support.fact("assigned.a", a.assignment().size());
        }
        Set<String> distinct = new HashSet<>(values(consumed));
        // A new member resumes exactly after the commits: together every record once.
        try (KafkaConsumer<String, String> c = Support.consumer(bootstrap, group, Support.props(
            ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer"))) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> rest = Support.pollExactly(c, sent.size() - distinct.size(),
                Duration.ofSeconds(40));
            List<String> all = new ArrayList<>(distinct);
            all.addAll(values(rest));
            Collections.sort(all);
            List<String> want = new ArrayList<>(sent);
            Collections.sort(want);
            Support.checkEqual(want, all, "records before and after the new member");
            c.commitSync();
            Support.fact("resumed", rest.size());
        }
        Support.fact("consumed", distinct.size());
    }

    static List<String> produceOnNewTopic(String bootstrap, String topic, int partitions, int count) throws Exception {
        Support.createTopic(bootstrap, topic, partitions);
        return produce(bootstrap, topic, partitions, 0, count);
    }

    static void seek(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        // 20 records per partition: partition p holds v-(2i+p) at offset i with timestamp base + (2i+p) s.
        produceOnNewTopic(bootstrap, topic, 2, 40);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        try (KafkaConsumer<String, String> consumer = Support.consumer(bootstrap, group, Support.props())) {
            consumer.assign(List.of(p0, p1));
            Support.checkEqual(Set.of(p0, p1), consumer.assignment(), "assignment");
            Support.checkEqual(0L, consumer.position(p0), "position without a committed offset (earliest)");
            List<ConsumerRecord<String, String>> all = Support.pollExactly(consumer, 40, Duration.ofSeconds(30));
            for (ConsumerRecord<String, String> record : all) {
                Support.checkEqual("v-" + (record.offset() * 2 + record.partition()), record.value(),
                    "value at " + record.partition() + "@" + record.offset());
            }
            Support.checkEqual(20L, consumer.position(p0), "position after reading everything");

            consumer.seek(p0, 5);
            Support.checkEqual(5L, consumer.position(p0), "position after seek");
            List<ConsumerRecord<String, String>> again = Support.pollExactly(consumer, 15, Duration.ofSeconds(30));
            Support.checkEqual(5L, again.get(0).offset(), "first offset after seek");
            Support.checkEqual("v-10", again.get(0).value(), "first value after seek");
            for (ConsumerRecord<String, String> record : again) {
                Support.checkEqual(0, record.partition(), "partition of the records after seek");
            }

            consumer.seekToBeginning(List.of(p1));
            Support.checkEqual(0L, consumer.position(p1), "position after seekToBeginning");
            consumer.seekToEnd(List.of(p0, p1));
            Support.checkEqual(20L, consumer.position(p0), "position of 0 after seekToEnd");
            Support.checkEqual(20L, consumer.position(p1), "position of 1 after seekToEnd");

            Map<TopicPartition, Long> query = new HashMap<>();
            query.put(p0, BASE_TIMESTAMP + 15_500);
            query.put(p1, BASE_TIMESTAMP + 1_000_000);
            Map<TopicPartition, OffsetAndTimestamp> times = consumer.offsetsForTimes(query);
            // The first record of partition 0 at or after base+15.5 s is v-16 at offset 8.
            Support.check(times.get(p0) != null, "offsetsForTimes of 0 found nothing");
            Support.checkEqual(8L, times.get(p0).offset(), "offsetsForTimes of 0: offset");
            Support.checkEqual(BASE_TIMESTAMP + 16_000, times.get(p0).timestamp(), "offsetsForTimes of 0: timestamp");
            Support.checkEqual(null, times.get(p1), "offsetsForTimes after the last record");
            consumer.seek(p0, times.get(p0).offset());
            Support.checkEqual("v-16", Support.pollExactly(consumer, 12, Duration.ofSeconds(30)).get(0).value(),
                "record after seeking to the offset for a time");

            Support.checkEqual(Map.of(p0, 0L, p1, 0L), consumer.beginningOffsets(List.of(p0, p1)), "beginningOffsets");
            Support.checkEqual(Map.of(p0, 20L, p1, 20L), consumer.endOffsets(List.of(p0, p1)), "endOffsets");

            // Commits in assign() mode (no subscription, no group membership).
            consumer.commitSync(Map.of(p0, new OffsetAndMetadata(12, "assigned")));
            Support.checkEqual(new OffsetAndMetadata(12, "assigned"), consumer.committed(Set.of(p0)).get(p0),
                "offset committed in assign mode");
        }
        try (KafkaConsumer<String, String> strict = Support.consumer(bootstrap, group, Support.props(
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"))) {
            strict.assign(List.of(p0));
            Support.checkEqual(12L, strict.position(p0), "position from the committed offset");
            strict.assign(List.of(p1));
            try {
                long position = strict.position(p1);
                throw new Support.CheckFailed("position without a committed offset and reset none: " + position);
            } catch (NoOffsetForPartitionException expected) {
                Support.checkEqual(Set.of(p1), expected.partitions(), "partitions without offset");
            }
            strict.assign(List.of(p0));
            strict.seek(p0, 25);
            OffsetOutOfRangeException outOfRange = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (outOfRange == null && System.nanoTime() < deadline) {
                try {
                    var records = strict.poll(Duration.ofMillis(200));
                    Support.check(records.isEmpty(), "records returned beyond the end: " + records.count());
                } catch (OffsetOutOfRangeException e) {
                    outOfRange = e;
                }
            }
            Support.check(outOfRange != null, "no OffsetOutOfRangeException fetching at 25 of 20 with reset none");
            Support.checkEqual(Map.of(p0, 25L), outOfRange.offsetOutOfRangePartitions(), "out-of-range partitions");
        }
        Support.fact("checked", "seek");
    }
}
