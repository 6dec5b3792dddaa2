import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The rebalance benchmark of scripts/bench_consumer_groups.py with Apache Kafka's Java consumer: `members`
 * consumers (threads of this JVM) on a topic that the script keeps writing to, until each owns its share of the
 * partitions; then one more joins. Prints, as facts: cold_start_s, new_member_first_record_s, rebalanced_s, the
 * records per second before, during and after the change, and the longest time any of the first members went
 * without a record from 1 s before the join to 3 s after the group is balanced again (with when it began,
 * relative to the join).
 *
 *   GroupRebalanceBench run BOOTSTRAP TOPIC GROUP consumer|classic MEMBERS PARTITIONS HEARTBEAT_MS
 */
final class GroupRebalanceBench {
    private GroupRebalanceBench() {}

    public static void main(String[] args) {
        Support.main("GroupRebalanceBench", Map.of("run", GroupRebalanceBench::run), args);
    }

    /** One consumer polled by its own thread, recording when records arrived and what it owns. */
    static final class Member implements ConsumerRebalanceListener {
        final KafkaConsumer<byte[], byte[]> consumer;
        final String topic;
        final List<long[]> arrivals = new ArrayList<>();
        final Set<Integer> owned = new HashSet<>();
        volatile boolean stopping;
        final Thread thread;

        Member(Properties config, String topic) {
            this.consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            this.topic = topic;
            this.thread = new Thread(this::loop);
            this.thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        private void loop() {
            consumer.subscribe(List.of(topic), this);
            while (!stopping) {
                int count = consumer.poll(Duration.ofMillis(50)).count();
                if (count > 0) {
                    synchronized (this) {
                        arrivals.add(new long[] {System.nanoTime(), count});
                    }
                }
            }
            consumer.close(Duration.ofSeconds(5));
        }

        @Override
        public synchronized void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            for (TopicPartition partition : partitions) owned.add(partition.partition());
        }

        @Override
        public synchronized void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            for (TopicPartition partition : partitions) owned.remove(partition.partition());
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            onPartitionsRevoked(partitions);
        }

        synchronized Set<Integer> ownedNow() {
            return new HashSet<>(owned);
        }

        synchronized List<long[]> arrivalsNow() {
            return new ArrayList<>(arrivals);
        }

        void stop() throws InterruptedException {
            stopping = true;
            thread.join(10_000);
        }
    }

    static boolean exclusiveCover(List<Member> members, int partitions) {
        Set<Integer> union = new HashSet<>();
        int total = 0;
        for (Member member : members) {
            Set<Integer> owned = member.ownedNow();
            union.addAll(owned);
            total += owned.size();
        }
        return union.size() == partitions && total == partitions;
    }

    static boolean balanced(List<Member> members, int partitions) {
        if (!exclusiveCover(members, partitions)) return false;
        int low = partitions / members.size();
        int high = (partitions + members.size() - 1) / members.size();
        for (Member member : members) {
            int size = member.ownedNow().size();
            if (size < low || size > high) return false;
        }
        return true;
    }

    /** Nanoseconds when `condition` first held, or -1 after `timeoutMs`. */
    static long waitUntil(BooleanSupplier condition, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return System.nanoTime();
            Thread.sleep(10);
        }
        return -1;
    }

    static String seconds(long nanos) {
        return nanos < 0 ? "-" : String.format("%.2f", nanos / 1e9);
    }

    static double rate(List<Member> members, long from, long to) {
        long total = 0;
        for (Member member : members) {
            for (long[] arrival : member.arrivalsNow()) {
                if (arrival[0] >= from && arrival[0] < to) total += arrival[1];
            }
        }
        return total / ((to - from) / 1e9);
    }

    static void run(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        String protocol = args[3];
        int count = Integer.parseInt(args[4]);
        int partitions = Integer.parseInt(args[5]);
        int heartbeatMs = Integer.parseInt(args[6]);
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
        config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {
            config.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                       "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
            config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, String.valueOf(heartbeatMs));
            config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "45000");
        }
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < count; i++) members.add(new Member(config, topic));
        Member newcomer = new Member(config, topic);
        try {
            long started = System.nanoTime();
            for (Member member : members) member.start();
            long stable = waitUntil(() -> balanced(members, partitions), 120_000);
            System.out.println("cold_start_s=" + seconds(stable < 0 ? -1 : stable - started));
            Support.check(stable >= 0, "the first members never shared the partitions out");
            Thread.sleep(3000);
            long joined = System.nanoTime();
            newcomer.start();
            long firstRecord = waitUntil(() -> !newcomer.arrivalsNow().isEmpty(), 60_000);
            List<Member> everyone = new ArrayList<>(members);
            everyone.add(newcomer);
            long rebalanced = waitUntil(() -> balanced(everyone, partitions), 60_000);
            Thread.sleep(3000);
            long end = System.nanoTime();
            long windowStart = joined - 1_000_000_000L;
            long longest = 0;
            long longestFrom = 0;
            for (Member member : members) {
                List<Long> points = new ArrayList<>();
                points.add(windowStart);
                for (long[] arrival : member.arrivalsNow()) {
                    if (arrival[0] >= windowStart && arrival[0] <= end) points.add(arrival[0]);
                }
                points.add(end);
                for (int i = 1; i < points.size(); i++) {
                    long gap = points.get(i) - points.get(i - 1);
                    if (gap > longest) {
                        longest = gap;
                        longestFrom = points.get(i - 1) - joined;
                    }
                }
            }
            long changeEnd = rebalanced < 0 ? end : rebalanced;
            System.out.println("new_member_first_record_s=" + seconds(firstRecord < 0 ? -1 : firstRecord - joined));
            System.out.println("rebalanced_s=" + seconds(rebalanced < 0 ? -1 : rebalanced - joined));
            System.out.printf("rate_before=%.0f%n", rate(everyone, joined - 3_000_000_000L, joined));
            System.out.printf("rate_during=%.0f%n", changeEnd > joined ? rate(everyone, joined, changeEnd) : 0.0);
            System.out.printf("rate_after=%.0f%n", rate(everyone, changeEnd, end));
            System.out.println("longest_gap_old_members_s=" + seconds(longest));
            System.out.println("longest_gap_from_s=" + String.format("%.2f", longestFrom / 1e9));
        } finally {
            for (Member member : members) member.stop();
            newcomer.stop();
        }
    }
}
