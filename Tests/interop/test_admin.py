"""The admin APIs through confluent-kafka's AdminClient (librdkafka): partitions, configs, records, cluster."""

import pytest

from conftest import unique_topic

kafka = pytest.importorskip("confluent_kafka")
admin_module = pytest.importorskip("confluent_kafka.admin")

from confluent_kafka import KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (  # noqa: E402
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

TIMEOUT = 15


@pytest.fixture
def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": 10000})


def create_topic(admin, name, partitions=1, config=None):
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})])
    futures[name].result(TIMEOUT)


def produce(broker, topic, count, partition=0):
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for index in range(count):
        producer.produce(topic, value=f"value-{index}".encode(), partition=partition)
    assert producer.flush(TIMEOUT) == 0


def topic_configs(admin, topic):
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(TIMEOUT)


def error_code(future):
    with pytest.raises(KafkaException) as raised:
        future.result(TIMEOUT)
    return raised.value.args[0].code()


def test_create_partitions(broker, admin):
    topic = unique_topic("partitions")
    create_topic(admin, topic)
    admin.create_partitions([NewPartitions(topic, 3)])[topic].result(TIMEOUT)
    assert len(admin.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions) == 3

    admin.create_partitions([NewPartitions(topic, 5)], validate_only=True)[topic].result(TIMEOUT)
    assert len(admin.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions) == 3

    assert error_code(admin.create_partitions([NewPartitions(topic, 2)])[topic]) == kafka.KafkaError.INVALID_PARTITIONS
    missing = unique_topic("missing")
    assert error_code(admin.create_partitions([NewPartitions(missing, 2)])[missing]) == \
        kafka.KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_topic_configs(broker, admin):
    topic = unique_topic("configs")
    create_topic(admin, topic, config={"retention.ms": "12345"})
    configs = topic_configs(admin, topic)
    assert configs["retention.ms"].value == "12345"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["cleanup.policy"].is_default

    missing = ConfigResource(ResourceType.TOPIC, unique_topic("missing"))
    assert error_code(admin.describe_configs([missing])[missing]) == kafka.KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_broker_configs(broker, admin):
    resource = ConfigResource(ResourceType.BROKER, "1")
    configs = admin.describe_configs([resource])[resource].result(TIMEOUT)
    assert configs["num.partitions"].value == "1"
    assert configs["listeners"].value == f"PLAINTEXT://{broker.bootstrap}"
    assert configs["listeners"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert configs["log.dirs"].value == str(broker.data_dir)


def test_alter_configs_replaces_the_overrides(broker, admin):
    topic = unique_topic("alter")
    create_topic(admin, topic, config={"retention.ms": "12345"})
    resource = ConfigResource(ResourceType.TOPIC, topic, set_config={"max.message.bytes": "2000"})
    admin.alter_configs([resource])[resource].result(TIMEOUT)
    configs = topic_configs(admin, topic)
    assert configs["max.message.bytes"].value == "2000"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value

    bad = ConfigResource(ResourceType.TOPIC, topic, set_config={"no.such.config": "1"})
    assert error_code(admin.alter_configs([bad])[bad]) == kafka.KafkaError.INVALID_CONFIG
    assert topic_configs(admin, topic)["max.message.bytes"].value == "2000"


def test_incremental_alter_configs(broker, admin):
    topic = unique_topic("incremental")
    create_topic(admin, topic, config={"retention.ms": "12345"})
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("segment.ms", "600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
    ])
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)
    configs = topic_configs(admin, topic)
    assert configs["segment.ms"].value == "600000"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["cleanup.policy"].value == "delete,compact"

    subtract = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT),
    ])
    admin.incremental_alter_configs([subtract], validate_only=True)[subtract].result(TIMEOUT)
    assert topic_configs(admin, topic)["cleanup.policy"].value == "delete,compact"
    admin.incremental_alter_configs([subtract])[subtract].result(TIMEOUT)
    assert topic_configs(admin, topic)["cleanup.policy"].value == "compact"


def test_delete_records(broker, admin):
    topic = unique_topic("records")
    create_topic(admin, topic)
    produce(broker, topic, 10)
    partition = TopicPartition(topic, 0, 4)
    deleted = admin.delete_records([partition])[partition].result(TIMEOUT)
    assert deleted.low_watermark == 4

    beyond = TopicPartition(topic, 0, 11)
    assert error_code(admin.delete_records([beyond])[beyond]) == kafka.KafkaError.OFFSET_OUT_OF_RANGE

    to_end = TopicPartition(topic, 0, kafka.OFFSET_END)
    assert admin.delete_records([to_end])[to_end].result(TIMEOUT).low_watermark == 10


def test_describe_cluster(broker, admin):
    cluster = admin.describe_cluster(request_timeout=TIMEOUT).result(TIMEOUT)
    assert cluster.cluster_id
    assert [(node.id, node.host, node.port) for node in cluster.nodes] == [(1, "127.0.0.1", broker.port)]
    assert cluster.controller.id == 1


def test_list_topics(broker, admin):
    topic = unique_topic("listed")
    create_topic(admin, topic, partitions=2)
    metadata = admin.list_topics(timeout=TIMEOUT)
    assert topic in metadata.topics
    assert sorted(metadata.topics[topic].partitions) == [0, 1]
    assert list(metadata.brokers) == [1]
