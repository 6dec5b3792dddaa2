"""Apache Kafka's Java Admin client (kafka-clients 3.9.1) against a fresh broker: topics, configs, the cluster,
offsets and records, consumer groups (Tests/interop/java/AdminChecks.java does the checks; these tests add what
the broker's disk and another client see)."""

import uuid

import pytest


def prefix():
    return f"j{uuid.uuid4().hex[:8]}"


def test_java_admin_topics(java, broker):
    name = prefix()
    result = java.ok("AdminChecks", "topics", broker.bootstrap, name, broker=broker)
    # The narrow topic was deleted and the one with an unknown config never created: only the wide one is left.
    assert result.facts["topics"] == f"{name}-wide"
    assert result.facts["partitions"] == "5"
    folders = sorted(p.name for p in broker.data_dir.iterdir() if p.name.startswith(name))
    assert folders == [f"{name}-wide-{i}" for i in range(5)]


def test_java_admin_topic_by_id(java, broker):
    result = java.ok("AdminChecks", "topic-by-id", broker.bootstrap, prefix(), broker=broker)
    assert result.facts["topic.id"]


def test_java_admin_configs(java, broker):
    result = java.ok("AdminChecks", "configs", broker.bootstrap, prefix(), broker=broker)
    assert result.facts["broker.num.partitions"] == "1"
    assert result.facts["broker.listeners"] == f"PLAINTEXT://{broker.bootstrap}"
    assert result.facts["broker.listeners.source"] == "STATIC_BROKER_CONFIG"
    assert result.facts["topic.segment.ms"] == "600000"


def test_java_admin_cluster(java, broker):
    from confluent_kafka.admin import AdminClient

    result = java.ok("AdminChecks", "cluster", broker.bootstrap, broker=broker)
    assert result.all("node") == [f"1@127.0.0.1:{broker.port}"]
    assert result.facts["controller"] == "1"
    # The same cluster id as librdkafka is told.
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    cluster = admin.describe_cluster(request_timeout=15).result(15)
    assert result.facts["cluster.id"] == cluster.cluster_id


def test_java_admin_offsets_and_delete_records(java, broker):
    name = prefix()
    result = java.ok("AdminChecks", "offsets", broker.bootstrap, name, broker=broker)
    assert result.facts["latest"] == "10"


def test_java_admin_consumer_groups(java, group_broker):
    from confluent_kafka.admin import AdminClient

    name = prefix()
    result = java.ok("AdminChecks", "groups", group_broker.bootstrap, name, broker=group_broker)
    assert result.facts["assignor"] == "range"
    assert result.facts["committed"] == "{0=3, 1=5}"
    # librdkafka sees the group gone too.
    admin = AdminClient({"bootstrap.servers": group_broker.bootstrap})
    listed = admin.list_consumer_groups(request_timeout=15).result(15)
    assert f"{name}-group" not in {g.group_id for g in listed.valid}
