import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;

/**
 * Apache Kafka's transactional producer and read_committed consumers against the broker. Modes:
 *   commit BOOTSTRAP TOPIC TXID            two committed transactions over two partitions, read back exactly
 *   abort BOOTSTRAP TOPIC TXID             committed, aborted, committed: read_committed sees the committed ones
 *                                          only, read_uncommitted all of them
 *   open BOOTSTRAP TOPIC TXID              an open transaction: read_uncommitted sees it, read_committed not
 *                                          (its end offset is the last stable offset) until it commits
 *   ctp BOOTSTRAP INPUT OUTPUT GROUP TXID  consume-transform-produce: read_committed input (with an aborted
 *                                          transaction in it), output and group offsets committed together by
 *                                          sendOffsetsToTransaction, one round aborted and redone
 *   fence BOOTSTRAP TOPIC TXID             a second producer with the same transactional.id fences the first:
 *                                          ProducerFencedException, and the first's open transaction is aborted
 *   admin BOOTSTRAP TOPIC TXID             the Admin client's transaction APIs on an open transaction:
 *                                          listTransactions, describeTransactions, describeProducers, and
 *                                          abortTransaction (WriteTxnMarkers) of the hanging partition
 */
public final class Transactions {
    private Transactions() {}

    public static void main(String[] args) {
        Support.main("Transactions", Map.of(
            "commit", Transactions::commit,
            "abort", Transactions::abort,
            "open", Transactions::open,
            "ctp", Transactions::consumeTransformProduce,
            "fence", Transactions::fence,
            "admin", Transactions::admin), args);
    }

    static KafkaProducer<String, String> transactional(String bootstrap, String transactionalId) {
        return Support.producer(bootstrap, Support.props(
            ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
            ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000",
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true"));
    }

    static KafkaConsumer<String, String> reader(String bootstrap, String isolation) {
        return Support.consumer(bootstrap, null, Support.props(
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation,
            ConsumerConfig.CLIENT_ID_CONFIG, "java-" + isolation));
    }

    /** Everything `isolation` lets a consumer read of the topic's partitions, until 1 s passes without data. */
    static List<ConsumerRecord<String, String>> readAll(String bootstrap, String topic, int partitions,
                                                        String isolation) {
        try (KafkaConsumer<String, String> consumer = reader(bootstrap, isolation)) {
            consumer.assign(Support.partitions(topic, partitions));
            consumer.seekToBeginning(consumer.assignment());
            return Support.pollUntilQuiet(consumer, Duration.ofSeconds(1), Duration.ofSeconds(30));
        }
    }

    static List<String> sortedValues(List<ConsumerRecord<String, String>> records) {
        List<String> values = new ArrayList<>();
        for (ConsumerRecord<String, String> record : records) {
            values.add(record.value());
        }
        Collections.sort(values);
        return values;
    }

    static List<String> sendAll(KafkaProducer<String, String> producer, String topic, int partitions, String prefix,
                                int count) {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String value = prefix + "-" + i;
            producer.send(new ProducerRecord<>(topic, i % partitions, "k" + i, value));
            values.add(value);
        }
        return values;
    }

    /** Records of each partition come in offset order, and values of one prefix in the order they were sent. */
    static void checkOrder(List<ConsumerRecord<String, String>> records) {
        Map<Integer, Long> lastOffset = new HashMap<>();
        for (ConsumerRecord<String, String> record : records) {
            Long previous = lastOffset.put(record.partition(), record.offset());
            Support.check(previous == null || previous < record.offset(), "offsets out of order in partition "
                + record.partition() + ": " + previous + " then " + record.offset());
        }
    }

    static void commit(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String transactionalId = args[2];
        Support.createTopic(bootstrap, topic, 2);
        List<String> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = transactional(bootstrap, transactionalId)) {
            producer.initTransactions();
            producer.beginTransaction();
            sent.addAll(sendAll(producer, topic, 2, "first", 10));
            producer.commitTransaction();
            producer.beginTransaction();
            sent.addAll(sendAll(producer, topic, 2, "second", 5));
            producer.commitTransaction();
        }
        Collections.sort(sent);
        List<ConsumerRecord<String, String>> committed = readAll(bootstrap, topic, 2, "read_committed");
        checkOrder(committed);
        Support.checkEqual(sent, sortedValues(committed), "read_committed records");
        Support.checkEqual(sent, sortedValues(readAll(bootstrap, topic, 2, "read_uncommitted")),
            "read_uncommitted records");
        try (KafkaConsumer<String, String> consumer = reader(bootstrap, "read_committed")) {
            Map<TopicPartition, Long> ends = consumer.endOffsets(Support.partitions(topic, 2));
            // 5+3 records in partition 0 and 5+2 in 1, each transaction followed by its commit marker.
            Support.checkEqual(Map.of(new TopicPartition(topic, 0), 10L, new TopicPartition(topic, 1), 9L), ends,
                "end offsets (records and one commit marker per transaction and partition)");
        }
        Support.fact("committed", committed.size());
    }

    static void abort(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String transactionalId = args[2];
        Support.createTopic(bootstrap, topic, 2);
        List<String> kept = new ArrayList<>();
        List<String> aborted;
        try (KafkaProducer<String, String> producer = transactional(bootstrap, transactionalId)) {
            producer.initTransactions();
            producer.beginTransaction();
            kept.addAll(sendAll(producer, topic, 2, "kept", 10));
            producer.commitTransaction();
            producer.beginTransaction();
            aborted = sendAll(producer, topic, 2, "aborted", 10);
            producer.flush(); // the aborted records reach the log before the abort marker
            producer.abortTransaction();
            producer.beginTransaction();
            kept.addAll(sendAll(producer, topic, 2, "after", 6));
            producer.commitTransaction();
        }
        Collections.sort(kept);
        List<ConsumerRecord<String, String>> committed = readAll(bootstrap, topic, 2, "read_committed");
        checkOrder(committed);
        Support.checkEqual(kept, sortedValues(committed), "read_committed records");
        List<String> everything = new ArrayList<>(kept);
        everything.addAll(aborted);
        Collections.sort(everything);
        List<ConsumerRecord<String, String>> uncommitted = readAll(bootstrap, topic, 2, "read_uncommitted");
        checkOrder(uncommitted);
        Support.checkEqual(everything, sortedValues(uncommitted), "read_uncommitted records");
        Support.fact("read_committed", committed.size());
        Support.fact("read_uncommitted", uncommitted.size());
    }

    static void open(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String transactionalId = args[2];
        Support.createTopic(bootstrap, topic, 1);
        TopicPartition partition = new TopicPartition(topic, 0);
        try (KafkaProducer<String, String> producer = transactional(bootstrap, transactionalId)) {
            producer.initTransactions();
            producer.beginTransaction();
            List<String> sent = sendAll(producer, topic, 1, "open", 8);
            producer.flush();
            Collections.sort(sent);
            Support.checkEqual(sent, sortedValues(readAll(bootstrap, topic, 1, "read_uncommitted")),
                "read_uncommitted records of the open transaction");
            try (KafkaConsumer<String, String> consumer = reader(bootstrap, "read_committed")) {
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                Support.checkEqual(0, Support.pollUntilQuiet(consumer, Duration.ofSeconds(1), Duration.ofSeconds(5))
                    .size(), "read_committed records of the open transaction");
                // The last stable offset is the first offset of the open transaction.
                Support.checkEqual(0L, consumer.endOffsets(List.of(partition)).get(partition),
                    "read_committed end offset (last stable offset) while the transaction is open");
                producer.commitTransaction();
                List<ConsumerRecord<String, String>> after = Support.pollExactly(consumer, 8, Duration.ofSeconds(30));
                Support.checkEqual(sent, sortedValues(after), "read_committed records after the commit");
                Support.checkEqual(9L, consumer.endOffsets(List.of(partition)).get(partition),
                    "read_committed end offset after the commit (8 records and the marker)");
            }
        }
        Support.fact("committed", 8);
    }

    static void consumeTransformProduce(String[] args) throws Exception {
        String bootstrap = args[0];
        String input = args[1];
        String output = args[2];
        String group = args[3];
        String transactionalId = args[4];
        int partitions = 3;
        Support.createTopic(bootstrap, input, partitions);
        Support.createTopic(bootstrap, output, partitions);

        // The input: 30 committed records around an aborted transaction of 9 that must never be transformed.
        List<String> inputValues = new ArrayList<>();
        try (KafkaProducer<String, String> producer = transactional(bootstrap, transactionalId + "-input")) {
            producer.initTransactions();
            producer.beginTransaction();
            inputValues.addAll(sendAll(producer, input, partitions, "in-a", 15));
            producer.commitTransaction();
            producer.beginTransaction();
            sendAll(producer, input, partitions, "in-aborted", 9);
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            inputValues.addAll(sendAll(producer, input, partitions, "in-b", 15));
            producer.commitTransaction();
        }

        int rounds = 0;
        int abortedRounds = 0;
        Set<String> transformed = new HashSet<>();
        Map<TopicPartition, OffsetAndMetadata> committedByRounds = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = Support.consumer(bootstrap, group, Support.props(
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "4"));
             KafkaProducer<String, String> producer = transactional(bootstrap, transactionalId)) {
            producer.initTransactions();
            consumer.subscribe(List.of(input));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (transformed.size() < inputValues.size()) {
                Support.check(System.nanoTime() < deadline, "transformed " + transformed.size() + " of "
                    + inputValues.size() + " input records");
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                List<String> batch = new ArrayList<>();
                for (ConsumerRecord<String, String> record : records) {
                    Support.check(!record.value().startsWith("in-aborted"), "read_committed returned " + record.value());
                    String out = record.value().toUpperCase();
                    producer.send(new ProducerRecord<>(output, record.partition(), record.key(), out));
                    batch.add(out);
                    offsets.put(new TopicPartition(record.topic(), record.partition()),
                        new OffsetAndMetadata(record.offset() + 1));
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                rounds++;
                if (rounds == 2) {
                    // Abort this round: its output disappears, its offsets are not committed, and the consumer
                    // goes back to the committed offsets to transform the same records again. Flushed first, so
                    // that the aborted records are in the log (an abort drops records not sent yet).
                    producer.flush();
                    producer.abortTransaction();
                    abortedRounds++;
                    for (TopicPartition partition : consumer.assignment()) {
                        OffsetAndMetadata committed = consumer.committed(Set.of(partition)).get(partition);
                        consumer.seek(partition, committed == null ? 0 : committed.offset());
                    }
                    continue;
                }
                producer.commitTransaction();
                committedByRounds.putAll(offsets);
                for (String out : batch) {
                    Support.check(transformed.add(out), "transformed twice in committed transactions: " + out);
                }
            }
            // The group's offsets are those the committed rounds sent (after the last record transformed).
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(
                Support.partitions(input, partitions)));
            Support.checkEqual(partitions, committedByRounds.size(), "partitions with offsets sent in transactions");
            Support.checkEqual(offsetsOnly(committedByRounds), offsetsOnly(committed),
                "group offsets after the transactions");
        }
        List<String> expected = new ArrayList<>();
        for (String value : inputValues) {
            expected.add(value.toUpperCase());
        }
        Collections.sort(expected);
        List<ConsumerRecord<String, String>> outputRecords = readAll(bootstrap, output, partitions, "read_committed");
        Support.checkEqual(expected, sortedValues(outputRecords), "read_committed output (each input once)");
        List<ConsumerRecord<String, String>> rawOutput = readAll(bootstrap, output, partitions, "read_uncommitted");
        Support.check(rawOutput.size() > outputRecords.size(), "the aborted round left no records in the log");

        // A new member of the group starts after everything: nothing left to transform.
        try (KafkaConsumer<String, String> again = Support.consumer(bootstrap, group, Support.props(
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            again.subscribe(List.of(input));
            List<ConsumerRecord<String, String>> left = Support.pollUntilQuiet(again, Duration.ofSeconds(3),
                Duration.ofSeconds(20));
            Support.checkEqual(0, left.size(), "input records a restarted member of the group reads again");
        }
        Support.fact("rounds", rounds);
        Support.fact("aborted_rounds", abortedRounds);
        Support.fact("output", outputRecords.size());
        Support.fact("output_uncommitted", rawOutput.size());
    }

    static Map<TopicPartition, Long> offsetsOnly(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<TopicPartition, Long> result = new HashMap<>();
        offsets.forEach((partition, offset) -> result.put(partition, offset == null ? null : offset.offset()));
        return result;
    }

    static boolean fencedCause(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException) {
                return true;
            }
        }
        return false;
    }

    static void fence(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String transactionalId = args[2];
        Support.createTopic(bootstrap, topic, 2);
        KafkaProducer<String, String> first = transactional(bootstrap, transactionalId);
        first.initTransactions();
        first.beginTransaction();
        List<String> zombie = sendAll(first, topic, 2, "zombie", 6);
        first.flush();

        List<String> winner;
        try (KafkaProducer<String, String> second = transactional(bootstrap, transactionalId)) {
            // Fences the first producer (a newer epoch) and aborts its open transaction.
            second.initTransactions();
            second.beginTransaction();
            winner = sendAll(second, topic, 2, "winner", 6);
            second.commitTransaction();
        }

        // The first producer's commit is refused: EndTxn with its old epoch answers PRODUCER_FENCED.
        String outcome;
        try {
            first.commitTransaction();
            outcome = "committed";
        } catch (KafkaException e) {
            outcome = fencedCause(e) ? "ProducerFencedException" : e.toString();
        }
        Support.checkEqual("ProducerFencedException", outcome, "what the fenced producer's commit got");
        // And it cannot write any more.
        boolean lateSendFailed;
        try {
            first.send(new ProducerRecord<>(topic, 0, "k", "zombie-late")).get(Support.TIMEOUT_S,
                java.util.concurrent.TimeUnit.SECONDS);
            lateSendFailed = false;
        } catch (KafkaException | java.util.concurrent.ExecutionException e) {
            lateSendFailed = true;
        }
        Support.check(lateSendFailed, "the fenced producer could still send");
        first.close(Duration.ZERO);

        Collections.sort(winner);
        List<ConsumerRecord<String, String>> committed = readAll(bootstrap, topic, 2, "read_committed");
        Support.checkEqual(winner, sortedValues(committed), "read_committed records (none of the fenced producer)");
        List<String> uncommitted = sortedValues(readAll(bootstrap, topic, 2, "read_uncommitted"));
        Support.check(uncommitted.containsAll(zombie), "the fenced producer's flushed records are not in the log");
        Support.check(!uncommitted.contains("zombie-late"), "a record sent after the fencing was written");
        Support.fact("fenced", outcome);
        Support.fact("read_committed", committed.size());
        Support.fact("read_uncommitted", uncommitted.size());
    }

    static void admin(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String transactionalId = args[2];
        Support.createTopic(bootstrap, topic, 1);
        TopicPartition partition = new TopicPartition(topic, 0);
        try (Admin admin = Support.admin(bootstrap);
             KafkaProducer<String, String> hanging = transactional(bootstrap, transactionalId)) {
            hanging.initTransactions();
            hanging.beginTransaction();
            sendAll(hanging, topic, 1, "hanging", 3);
            hanging.flush();

            TransactionListing listed = null;
            for (TransactionListing listing : admin.listTransactions().all().get()) {
                if (listing.transactionalId().equals(transactionalId)) listed = listing;
            }
            Support.check(listed != null, "listTransactions lists " + transactionalId);
            Support.checkEqual(TransactionState.ONGOING, listed.state(), "listed state");

            TransactionDescription described = admin.describeTransactions(List.of(transactionalId))
                .description(transactionalId).get();
            Support.checkEqual(TransactionState.ONGOING, described.state(), "described state");
            Support.checkEqual(Set.of(partition), described.topicPartitions(), "described partitions");
            Support.checkEqual(listed.producerId(), described.producerId(), "producer id in both answers");
            Support.check(described.transactionStartTimeMs().isPresent(), "an ongoing transaction has a start time");

            List<ProducerState> producers = admin.describeProducers(List.of(partition)).partitionResult(partition).get()
                .activeProducers();
            ProducerState open = null;
            for (ProducerState producer : producers) {
                if (producer.currentTransactionStartOffset().isPresent()) open = producer;
            }
            Support.check(open != null, "describeProducers shows the open transaction: " + producers);
            Support.checkEqual(0L, open.currentTransactionStartOffset().getAsLong(), "open transaction start offset");
            Support.checkEqual(described.producerId(), open.producerId(), "the open transaction's producer");

            // The partition's hanging transaction is aborted from outside, as kafka-transactions.sh abort does.
            admin.abortTransaction(new AbortTransactionSpec(partition, open.producerId(), (short) open.producerEpoch(),
                open.coordinatorEpoch().orElse(0))).all().get();
            for (ProducerState producer : admin.describeProducers(List.of(partition)).partitionResult(partition).get()
                     .activeProducers()) {
                Support.check(producer.currentTransactionStartOffset().isEmpty(),
                    "no open transaction after the abort: " + producer);
            }
            try (KafkaConsumer<String, String> consumer = reader(bootstrap, "read_committed")) {
                Support.checkEqual(4L, consumer.endOffsets(List.of(partition)).get(partition),
                    "read_committed end offset after the abort (3 records and the marker)");
            }
            // The coordinator still holds the transaction as ongoing (as in Kafka, the tool is for transactions the
            // coordinator lost); the producer's own abort ends it there and writes a second, harmless marker.
            hanging.abortTransaction();
            Support.checkEqual(TransactionState.COMPLETE_ABORT, admin.describeTransactions(List.of(transactionalId))
                .description(transactionalId).get().state(), "state after the producer's abort");
        }
        Support.fact("aborted", 3);
    }
}
