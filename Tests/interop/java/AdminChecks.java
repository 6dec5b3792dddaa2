import static java.util.concurrent.TimeUnit.SECONDS;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreatePartitionsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Apache Kafka's Admin client against the broker. Modes (each takes the bootstrap address and a name prefix):
 * topics, topic-by-id, configs, cluster, offsets, groups.
 */
public final class AdminChecks {
    private AdminChecks() {}

    public static void main(String[] args) {
        Support.main("AdminChecks", Map.of(
            "topics", AdminChecks::topics,
            "topic-by-id", AdminChecks::topicById,
            "configs", AdminChecks::configs,
            "cluster", AdminChecks::cluster,
            "offsets", AdminChecks::offsets,
            "groups", AdminChecks::groups), args);
    }

    /** createTopics with configs, listTopics, describeTopics, createPartitions, deleteTopics and their errors. */
    static void topics(String[] args) throws Exception {
        String bootstrap = args[0];
        String prefix = args[1];
        String wide = prefix + "-wide";
        String narrow = prefix + "-narrow";
        try (Admin admin = Support.admin(bootstrap)) {
            NewTopic wideTopic = new NewTopic(wide, 3, (short) 1)
                .configs(Support.map("retention.ms", "12345", "cleanup.policy", "compact"));
            NewTopic narrowTopic = new NewTopic(narrow, 1, (short) 1);
            var created = admin.createTopics(List.of(wideTopic, narrowTopic));
            created.all().get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(3, created.numPartitions(wide).get(), "numPartitions of the created topic");
            Support.checkEqual(1, (int) created.replicationFactor(wide).get(), "replicationFactor of the created topic");
            Config createdConfig = created.config(wide).get();
            Support.checkEqual("12345", createdConfig.get("retention.ms").value(), "retention.ms in CreateTopics' answer");
            Support.checkEqual("compact", createdConfig.get("cleanup.policy").value(), "cleanup.policy in CreateTopics' answer");

            Support.expectFailure(TopicExistsException.class,
                admin.createTopics(List.of(new NewTopic(wide, 1, (short) 1))).all(), "creating an existing topic");
            String badConfig = prefix + "-bad-config";
            Support.expectFailure(InvalidConfigurationException.class,
                admin.createTopics(List.of(new NewTopic(badConfig, 1, (short) 1)
                    .configs(Support.map("no.such.config", "1")))).all(), "creating a topic with an unknown config");

            Set<String> names = admin.listTopics().names().get(Support.TIMEOUT_S, SECONDS);
            Support.check(names.contains(wide) && names.contains(narrow), "listTopics lacks the new topics: " + names);
            Support.check(!names.contains(badConfig), "the topic refused for its config was created anyway");
            Support.check(!names.contains("__consumer_offsets"), "listTopics lists the internal topic: " + names);

            TopicDescription description = admin.describeTopics(List.of(wide)).allTopicNames().get().get(wide);
            Support.checkEqual(3, description.partitions().size(), "described partitions");
            Support.check(!description.isInternal(), "the topic is described as internal");
            Support.check(description.topicId() != null
                && !description.topicId().equals(org.apache.kafka.common.Uuid.ZERO_UUID), "topic id missing");
            for (TopicPartitionInfo info : description.partitions()) {
                Node leader = info.leader();
                Support.check(leader != null && leader.id() == 1, "leader of partition " + info.partition() + ": " + leader);
                Support.checkEqual(List.of(1), info.replicas().stream().map(Node::id).toList(), "replicas");
                Support.checkEqual(List.of(1), info.isr().stream().map(Node::id).toList(), "isr");
            }
            String missing = prefix + "-missing";
            Support.expectFailure(UnknownTopicOrPartitionException.class,
                admin.describeTopics(List.of(missing)).allTopicNames(), "describing a missing topic");

            admin.createPartitions(Map.of(wide, NewPartitions.increaseTo(5)),
                new CreatePartitionsOptions().validateOnly(true)).all().get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(3, admin.describeTopics(List.of(wide)).allTopicNames().get().get(wide).partitions().size(),
                "partitions after a validate-only createPartitions");
            admin.createPartitions(Map.of(wide, NewPartitions.increaseTo(5))).all().get(Support.TIMEOUT_S, SECONDS);
            TopicDescription grown = admin.describeTopics(List.of(wide)).allTopicNames().get().get(wide);
            Support.checkEqual(List.of(0, 1, 2, 3, 4), grown.partitions().stream().map(TopicPartitionInfo::partition).toList(),
                "partitions after createPartitions");
            Support.expectFailure(InvalidPartitionsException.class,
                admin.createPartitions(Map.of(wide, NewPartitions.increaseTo(2))).all(), "shrinking a topic");
            Support.expectFailure(UnknownTopicOrPartitionException.class,
                admin.createPartitions(Map.of(missing, NewPartitions.increaseTo(2))).all(), "growing a missing topic");

            admin.deleteTopics(List.of(narrow)).all().get(Support.TIMEOUT_S, SECONDS);
            Support.waitUntil(() -> {
                try {
                    return !admin.listTopics().names().get().contains(narrow);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, Duration.ofSeconds(10), "deleted topic still listed");
            Support.expectFailure(UnknownTopicOrPartitionException.class,
                admin.deleteTopics(List.of(missing)).all(), "deleting a missing topic");

            // deleteTopics by topic id.
            String byId = prefix + "-by-id";
            Support.createTopic(admin, byId, 1, Map.of());
            org.apache.kafka.common.Uuid id = admin.describeTopics(List.of(byId)).allTopicNames()
                .get(Support.TIMEOUT_S, SECONDS).get(byId).topicId();
            admin.deleteTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id))).all()
                .get(Support.TIMEOUT_S, SECONDS);
            Support.check(!admin.listTopics().names().get().contains(byId), "topic deleted by id still listed");
            Support.expectFailure(org.apache.kafka.common.errors.UnknownTopicIdException.class,
                admin.deleteTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id))).all(),
                "deleting a deleted topic id");

            Set<String> all = admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get();
            Support.fact("topics", String.join(",", Support.sorted(filter(all, prefix))));
            Support.fact("partitions", grown.partitions().size());
        }
    }

    /** describeTopics by topic id (Metadata v12 with topic ids and empty names). */
    static void topicById(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1] + "-by-id";
        try (Admin admin = Support.admin(bootstrap)) {
            Support.createTopic(admin, topic, 2, Map.of());
            org.apache.kafka.common.Uuid id = admin.describeTopics(List.of(topic)).allTopicNames()
                .get(Support.TIMEOUT_S, SECONDS).get(topic).topicId();
            var byId = admin.describeTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id)))
                .allTopicIds().get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(topic, byId.get(id).name(), "name of the topic described by its id");
            Support.checkEqual(2, byId.get(id).partitions().size(), "partitions of the topic described by its id");
            Support.expectFailure(org.apache.kafka.common.errors.UnknownTopicIdException.class,
                admin.describeTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(
                    List.of(org.apache.kafka.common.Uuid.randomUuid()))).allTopicIds(), "describing an unknown topic id");
            Support.fact("topic.id", id);
        }
    }

    private static Set<String> filter(Collection<String> names, String prefix) {
        Set<String> result = new HashSet<>();
        for (String name : names) {
            if (name.startsWith(prefix)) {
                result.add(name);
            }
        }
        return result;
    }

    /** describeConfigs of a topic and of the broker, incrementalAlterConfigs with the four operations. */
    static void configs(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1] + "-configs";
        try (Admin admin = Support.admin(bootstrap)) {
            Support.createTopic(admin, topic, 1, Support.map("retention.ms", "12345"));
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = describe(admin, resource);
            ConfigEntry retention = config.get("retention.ms");
            Support.checkEqual("12345", retention.value(), "retention.ms");
            Support.checkEqual(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source(), "retention.ms source");
            ConfigEntry cleanup = config.get("cleanup.policy");
            Support.checkEqual("delete", cleanup.value(), "cleanup.policy");
            Support.checkEqual(ConfigEntry.ConfigSource.DEFAULT_CONFIG, cleanup.source(), "cleanup.policy source");
            Support.check(cleanup.isDefault(), "cleanup.policy should be a default");

            Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(resource, List.of(
                new AlterConfigOp(new ConfigEntry("segment.ms", "600000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE),
                new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND)));
            admin.incrementalAlterConfigs(ops).all().get(Support.TIMEOUT_S, SECONDS);
            config = describe(admin, resource);
            Support.checkEqual("600000", config.get("segment.ms").value(), "segment.ms after SET");
            Support.checkEqual(ConfigEntry.ConfigSource.DEFAULT_CONFIG, config.get("retention.ms").source(),
                "retention.ms source after DELETE");
            Support.checkEqual("delete,compact", config.get("cleanup.policy").value(), "cleanup.policy after APPEND");

            Map<ConfigResource, Collection<AlterConfigOp>> subtract = Map.of(resource, List.of(
                new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.SUBTRACT)));
            admin.incrementalAlterConfigs(subtract, new AlterConfigsOptions().validateOnly(true)).all()
                .get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual("delete,compact", describe(admin, resource).get("cleanup.policy").value(),
                "cleanup.policy after a validate-only SUBTRACT");
            admin.incrementalAlterConfigs(subtract).all().get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual("compact", describe(admin, resource).get("cleanup.policy").value(),
                "cleanup.policy after SUBTRACT");

            Support.expectFailure(InvalidConfigurationException.class, admin.incrementalAlterConfigs(Map.of(resource,
                List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all(),
                "setting an unknown config");
            Support.expectFailure(UnknownTopicOrPartitionException.class,
                admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, topic + "-missing"))).all(),
                "describing the configs of a missing topic");

            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "1");
            Config brokerConfig = describe(admin, broker);
            Support.fact("broker.num.partitions", brokerConfig.get("num.partitions").value());
            Support.fact("broker.listeners", brokerConfig.get("listeners").value());
            Support.fact("broker.listeners.source", brokerConfig.get("listeners").source());
            Support.fact("topic.segment.ms", describe(admin, resource).get("segment.ms").value());
        }
    }

    private static Config describe(Admin admin, ConfigResource resource) throws Exception {
        return admin.describeConfigs(List.of(resource)).all().get(Support.TIMEOUT_S, SECONDS).get(resource);
    }

    /** describeCluster: the cluster id, this one node and the controller. */
    static void cluster(String[] args) throws Exception {
        try (Admin admin = Support.admin(args[0])) {
            DescribeClusterResult cluster = admin.describeCluster();
            String id = cluster.clusterId().get(Support.TIMEOUT_S, SECONDS);
            Collection<Node> nodes = cluster.nodes().get();
            Node controller = cluster.controller().get();
            Support.check(id != null && !id.isEmpty(), "no cluster id");
            Support.fact("cluster.id", id);
            for (Node node : nodes) {
                Support.fact("node", node.id() + "@" + node.host() + ":" + node.port());
            }
            Support.fact("controller", controller.id());
        }
    }

    /** listOffsets (earliest, latest, by timestamp, max timestamp) and deleteRecords. */
    static void offsets(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1] + "-offsets";
        long base = 1_700_000_000_000L;
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        try (Admin admin = Support.admin(bootstrap)) {
            Support.createTopic(admin, topic, 2, Map.of());
            try (KafkaProducer<String, String> producer = Support.producer(bootstrap, Support.props())) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>(topic, 0, base + i * 1000L, "k" + i, "v" + i))
                        .get(Support.TIMEOUT_S, SECONDS);
                }
            }
            Support.checkEqual(0L, offset(admin, p0, OffsetSpec.earliest()).offset(), "earliest of partition 0");
            Support.checkEqual(10L, offset(admin, p0, OffsetSpec.latest()).offset(), "latest of partition 0");
            Support.checkEqual(0L, offset(admin, p1, OffsetSpec.earliest()).offset(), "earliest of empty partition 1");
            Support.checkEqual(0L, offset(admin, p1, OffsetSpec.latest()).offset(), "latest of empty partition 1");
            ListOffsetsResultInfo at = offset(admin, p0, OffsetSpec.forTimestamp(base + 3500));
            Support.checkEqual(4L, at.offset(), "offset for timestamp base+3500");
            Support.checkEqual(base + 4000, at.timestamp(), "timestamp of that offset");
            Support.checkEqual(0L, offset(admin, p0, OffsetSpec.forTimestamp(base - 1)).offset(),
                "offset for a timestamp before all");
            Support.checkEqual(-1L, offset(admin, p0, OffsetSpec.forTimestamp(base + 100_000)).offset(),
                "offset for a timestamp after all");
            ListOffsetsResultInfo max = offset(admin, p0, OffsetSpec.maxTimestamp());
            Support.checkEqual(9L, max.offset(), "offset of the max timestamp");
            Support.checkEqual(base + 9000, max.timestamp(), "max timestamp");

            var deleted = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(p0)
                .get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(4L, deleted.lowWatermark(), "low watermark after deleteRecords");
            Support.checkEqual(4L, offset(admin, p0, OffsetSpec.earliest()).offset(), "earliest after deleteRecords");
            Support.checkEqual(4L, offset(admin, p0, OffsetSpec.forTimestamp(base)).offset(),
                "offset for a deleted timestamp");
            Support.expectFailure(OffsetOutOfRangeException.class,
                admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(11))).lowWatermarks().get(p0),
                "deleteRecords beyond the end");
            var all = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(-1))).lowWatermarks().get(p0)
                .get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(10L, all.lowWatermark(), "low watermark after deleting to the end");
            Support.checkEqual(10L, offset(admin, p0, OffsetSpec.earliest()).offset(), "earliest after deleting all");
            Support.fact("latest", offset(admin, p0, OffsetSpec.latest()).offset());
        }
    }

    private static ListOffsetsResultInfo offset(Admin admin, TopicPartition partition, OffsetSpec spec)
        throws Exception {
        return admin.listOffsets(Map.of(partition, spec)).partitionResult(partition).get(Support.TIMEOUT_S, SECONDS);
    }

    /** listConsumerGroups, describeConsumerGroups, listConsumerGroupOffsets and deleteConsumerGroups. */
    static void groups(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1] + "-groups";
        String group = args[1] + "-group";
        try (Admin admin = Support.admin(bootstrap)) {
            Support.createTopic(admin, topic, 2, Map.of());
            try (KafkaProducer<String, String> producer = Support.producer(bootstrap, Support.props())) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i));
                }
                producer.flush();
            }
            KafkaConsumer<String, String> consumer = Support.consumer(bootstrap, group, Support.props());
            consumer.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> records = Support.pollExactly(consumer, 10, Duration.ofSeconds(30));
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            commit.put(new TopicPartition(topic, 0), new OffsetAndMetadata(3, "meta-0"));
            commit.put(new TopicPartition(topic, 1), new OffsetAndMetadata(5, "meta-1"));
            consumer.commitSync(commit);
            Support.checkEqual(10, records.size(), "records consumed");

            Map<String, ConsumerGroupListing> listed = listGroups(admin);
            Support.check(listed.containsKey(group), "listConsumerGroups lacks " + group + ": " + listed.keySet());
            Support.checkEqual(java.util.Optional.of(ConsumerGroupState.STABLE), listed.get(group).state(), "listed state");

            ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).describedGroups()
                .get(group).get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(ConsumerGroupState.STABLE, description.state(), "described state");
            Support.check(!description.isSimpleConsumerGroup(), "described as a simple group");
            Support.checkEqual(1, description.members().size(), "members");
            MemberDescription member = description.members().iterator().next();
            Support.checkEqual(Set.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1)),
                member.assignment().topicPartitions(), "member assignment");
            Support.checkEqual("java-consumer", member.clientId(), "member client id");
            Support.checkEqual(1, description.coordinator().id(), "coordinator");
            Support.fact("assignor", description.partitionAssignor());

            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(commit, new HashMap<>(offsets), "listConsumerGroupOffsets");

            Support.expectFailure(GroupNotEmptyException.class,
                admin.deleteConsumerGroups(List.of(group)).all(), "deleting a group with a member");
            consumer.close(Duration.ofSeconds(10));

            ConsumerGroupDescription empty = admin.describeConsumerGroups(List.of(group)).describedGroups()
                .get(group).get(Support.TIMEOUT_S, SECONDS);
            Support.checkEqual(ConsumerGroupState.EMPTY, empty.state(), "state after the member left");
            Support.checkEqual(0, empty.members().size(), "members after the member left");

            admin.deleteConsumerGroups(List.of(group)).all().get(Support.TIMEOUT_S, SECONDS);
            Support.check(!listGroups(admin).containsKey(group), "deleted group still listed");
            Support.checkEqual(Map.of(), admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                .get(Support.TIMEOUT_S, SECONDS), "offsets of the deleted group");
            Support.expectFailure(GroupIdNotFoundException.class,
                admin.deleteConsumerGroups(List.of(group)).all(), "deleting a deleted group");
            Support.fact("committed", new TreeMap<>(Map.of("0", offsets.get(new TopicPartition(topic, 0)).offset(),
                "1", offsets.get(new TopicPartition(topic, 1)).offset())));
        }
    }

    private static Map<String, ConsumerGroupListing> listGroups(Admin admin) throws Exception {
        Map<String, ConsumerGroupListing> result = new HashMap<>();
        for (ConsumerGroupListing listing : admin.listConsumerGroups().all().get(Support.TIMEOUT_S, SECONDS)) {
            result.put(listing.groupId(), listing);
        }
        return result;
    }
}
