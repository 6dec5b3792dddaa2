"""Apache Kafka's Java consumer (kafka-clients 3.9.1) with classic groups: two members sharing a topic with the
range and cooperative-sticky assignors and the survivor taking over when one leaves, commitSync/commitAsync and a
new consumer resuming after them, assign() mode with seeks, offsetsForTimes and commits
(Tests/interop/java/ConsumerChecks.java)."""

import json
import uuid

import pytest


def names(kind):
    suffix = uuid.uuid4().hex[:8]
    return f"jc-{kind}-{suffix}", f"jg-{kind}-{suffix}"


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
def test_java_two_consumers_share_and_rebalance(java, group_broker, assignor):
    topic, group = names(assignor)
    result = java.ok("ConsumerChecks", "share", group_broker.bootstrap, topic, group, assignor, broker=group_broker)
    first_a, first_b = json.loads(result.facts["first.a"]), json.loads(result.facts["first.b"])
    assert len(first_a) == 2 and len(first_b) == 2 and sorted(first_a + first_b) == [0, 1, 2, 3]
    if assignor == "range":
        # Range gives each member a contiguous range.
        assert sorted([first_a, first_b]) == [[0, 1], [2, 3]]
        assert result.facts["revoked.a"] == "2"
    else:
        assert result.facts["revoked.a"] == "0"
    assert result.facts["final.a"] == "[0, 1, 2, 3]"


def test_java_commits_survive_a_consumer_restart(java, group_broker):
    from kafka import KafkaAdminClient

    topic, group = names("commits")
    result = java.ok("ConsumerChecks", "commits", group_broker.bootstrap, topic, group, broker=group_broker)
    committed = int(result.facts["committed"])
    assert 60 <= committed < 100
    assert committed + int(result.facts["resumed"]) == 100
    # The second consumer committed nothing (auto commit off): the group's offsets are still the first one's,
    # with their metadata, as kafka-python reads them. (Not confluent-kafka: its Python binding returns the
    # metadata string with stray bytes after it, e.g. 'async\x7f', whatever the broker.)
    admin = KafkaAdminClient(bootstrap_servers=group_broker.bootstrap)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    assert sorted(tp.partition for tp in offsets) == [0, 1]
    assert sum(o.offset for o in offsets.values()) == committed
    assert {o.metadata for o in offsets.values()} == {"async"}


def test_java_assign_mode_seek_and_offsets_for_times(java, group_broker):
    topic, group = names("seek")
    result = java.ok("ConsumerChecks", "seek", group_broker.bootstrap, topic, group, broker=group_broker)
    assert result.facts["checked"] == "seek"


def test_java_consumer_protocol_shares_commits_and_resumes(java, vltava_bin, tmp_path):
    """group.protocol=consumer (KIP-848, a preview in kafka-clients 3.9): server-side assignment over two members,
    commits with member epochs (OffsetCommit v9), and a new member resuming after them."""
    from conftest import BrokerProcess, free_port

    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=[
        "--override", "group.consumer.heartbeat.interval.ms=500",
        "--override", "group.consumer.min.heartbeat.interval.ms=100"]).start()
    try:
        topic, group = names("kip848")
        result = java.ok("ConsumerChecks", "consumerProtocol", broker.bootstrap, topic, group, broker=broker)
        assert result.facts["assigned.a"] == "2"
        assert int(result.facts["consumed"]) >= 100
        assert int(result.facts["consumed"]) + int(result.facts["resumed"]) == 200
        # The group is a consumer group, not a classic one.
        import txn_support

        listed = txn_support.ask(broker, "ListGroups", 5, {"StatesFilter": [], "TypesFilter": []})
        assert [(g["GroupId"], g["GroupType"]) for g in listed["Groups"]] == [(group, "consumer")]
    finally:
        broker.kill9()
