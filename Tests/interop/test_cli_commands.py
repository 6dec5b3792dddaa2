"""The client commands of `vltava` (topics, produce, consume, ready) against a Kafka-compatible broker.

The broker is `vltava serve` (the shared_broker fixture) unless VLTAVA_TEST_BOOTSTRAP names another one,
such as Tansu, to check that the commands speak Kafka and not just our own broker's dialect.
"""

import os
import subprocess
import time

import pytest

from conftest import free_port, unique_topic


@pytest.fixture(scope="module")
def kafka_bootstrap(request) -> str:
    """host:port of the broker under test."""
    external = os.environ.get("VLTAVA_TEST_BOOTSTRAP")
    if external:
        return external
    return request.getfixturevalue("shared_broker").bootstrap


@pytest.fixture
def vltava(vltava_bin, kafka_bootstrap):
    """Runs `vltava SUBCOMMAND ... --bootstrap-server B ...` and returns the CompletedProcess."""

    def run(*args, input=None, timeout=60, bootstrap=True):
        command = [str(vltava_bin), *args]
        if bootstrap:
            command += ["--bootstrap-server", kafka_bootstrap]
        return subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout)

    return run


def create_topic(vltava, topic, partitions=1):
    result = vltava("topics", "create", "--topic", topic, "--partitions", str(partitions), "--replication-factor", "1")
    assert result.returncode == 0, result.stderr
    return result


def test_create_twice_fails_with_topic_already_exists_unless_if_not_exists(vltava):
    topic = unique_topic("create")
    first = create_topic(vltava, topic, partitions=3)
    assert f"Created topic {topic}." in first.stdout

    again = vltava("topics", "create", "--topic", topic, "--partitions", "3", "--replication-factor", "1")
    assert again.returncode != 0
    assert "TOPIC_ALREADY_EXISTS" in again.stderr

    tolerated = vltava("topics", "create", "--topic", topic, "--partitions", "3", "--replication-factor", "1",
                       "--if-not-exists")
    assert tolerated.returncode == 0, tolerated.stderr


def test_list_shows_created_topics(vltava):
    topics = [unique_topic("list") for _ in range(2)]
    for topic in topics:
        create_topic(vltava, topic)
    result = vltava("topics", "list")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.splitlines()
    for topic in topics:
        assert topic in listed


def test_describe_prints_kafka_topics_layout(vltava):
    topic = unique_topic("describe")
    create_topic(vltava, topic, partitions=2)
    result = vltava("topics", "describe", "--topic", topic)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    summary = lines[0].split("\t")
    assert summary[0] == f"Topic: {topic}"
    assert summary[1].startswith("TopicId: ") and len(summary[1]) > len("TopicId: ")
    assert summary[2:4] == ["PartitionCount: 2", "ReplicationFactor: 1"]
    assert summary[4].startswith("Configs:")
    for index, line in enumerate(lines[1:]):
        fields = line.strip().split("\t")
        assert fields[0] == f"Topic: {topic}"
        assert fields[1] == f"Partition: {index}"
        leader = fields[2].removeprefix("Leader: ")
        assert leader.isdigit()
        assert fields[3] == f"Replicas: {leader}"
        assert fields[4] == f"Isr: {leader}"


def test_describe_unknown_topic_names_the_error(vltava):
    result = vltava("topics", "describe", "--topic", unique_topic("missing"))
    assert result.returncode != 0
    assert "UNKNOWN_TOPIC_OR_PARTITION" in result.stderr


def test_alter_adds_partitions(vltava):
    topic = unique_topic("alter")
    create_topic(vltava, topic, partitions=1)
    result = vltava("topics", "alter", "--topic", topic, "--partitions", "4")
    if result.returncode != 0 and "supports no version of CreatePartitions" in result.stderr:
        pytest.skip("this broker has no CreatePartitions API")
    assert result.returncode == 0, result.stderr
    described = vltava("topics", "describe", "--topic", topic)
    assert "PartitionCount: 4" in described.stdout, described.stdout


def test_delete_removes_the_topic(vltava):
    topic = unique_topic("delete")
    create_topic(vltava, topic)
    result = vltava("topics", "delete", "--topic", topic)
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 10
    while topic in vltava("topics", "list").stdout.splitlines():
        assert time.monotonic() < deadline, "deleted topic still listed"
        time.sleep(0.2)
    again = vltava("topics", "delete", "--topic", topic)
    assert again.returncode != 0
    assert "UNKNOWN_TOPIC_OR_PARTITION" in again.stderr


def test_produce_then_consume_100_records_with_keys_and_headers(vltava):
    topic = unique_topic("records")
    create_topic(vltava, topic, partitions=1)
    lines = "".join(f"key-{i}:value {i} ünïcode\n" for i in range(100))
    produced = vltava("produce", "-t", topic, "--key-separator", ":", "-H", "source=cli", "-H", "run=7",
                      input=lines)
    assert produced.returncode == 0, produced.stderr

    consumed = vltava("consume", "-t", topic, "-o", "beginning", "-e", "-c", "100",
                      "-f", "%t|%p|%o|%k|%s|%h|%K|%S\\n")
    assert consumed.returncode == 0, consumed.stderr
    out = consumed.stdout.splitlines()
    assert len(out) == 100, consumed.stdout
    for i, line in enumerate(out):
        value = f"value {i} ünïcode"
        assert line == (f"{topic}|0|{i}|key-{i}|{value}|source=cli,run=7|{len(f'key-{i}')}"
                        f"|{len(value.encode())}")


def test_keyed_records_spread_over_partitions_and_keep_keys_together(vltava):
    topic = unique_topic("keyed")
    create_topic(vltava, topic, partitions=3)
    lines = "".join(f"k{i % 10}={i}\n" for i in range(60))
    produced = vltava("produce", "-t", topic, "--key-separator", "=", "-z", "gzip", input=lines)
    assert produced.returncode == 0, produced.stderr

    consumed = vltava("consume", "-t", topic, "-e", "-f", "%p %k %s\\n")
    assert consumed.returncode == 0, consumed.stderr
    records = [line.split(" ") for line in consumed.stdout.splitlines()]
    assert sorted(int(value) for _, _, value in records) == list(range(60))
    partitions_of_key = {}
    for partition, key, _ in records:
        partitions_of_key.setdefault(key, set()).add(partition)
    assert all(len(partitions) == 1 for partitions in partitions_of_key.values())
    # Kafka's murmur2 partitioner puts these ten keys on more than one of three partitions.
    assert len({partition for partition, _, _ in records}) > 1


def test_consume_from_an_offset_and_stop_after_a_count(vltava):
    topic = unique_topic("offset")
    create_topic(vltava, topic)
    produced = vltava("produce", "-t", topic, "-k", "same", input="".join(f"{i}\n" for i in range(10)))
    assert produced.returncode == 0, produced.stderr
    consumed = vltava("consume", "-t", topic, "-p", "0", "-o", "4", "-c", "3", "-f", "%o=%s %k\\n")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == ["4=4 same", "5=5 same", "6=6 same"]


def test_produce_to_a_missing_topic_names_the_error(vltava):
    result = vltava("produce", "-t", unique_topic("nothere"), input="x\n")
    # A broker that auto-creates topics accepts the record; one that does not must name the error.
    assert result.returncode == 0 or "UNKNOWN_TOPIC_OR_PARTITION" in result.stderr, result.stderr


def test_ready_succeeds_when_the_broker_is_up(vltava, kafka_bootstrap):
    started = time.monotonic()
    result = vltava("ready", "-b", kafka_bootstrap, "1", "20", bootstrap=False)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10


def test_ready_fails_after_the_timeout_when_nothing_listens(vltava):
    closed = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = vltava("ready", "--bootstrap-server", closed, "1", "3", bootstrap=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert 2.5 <= elapsed < 8, elapsed


def test_ready_fails_when_fewer_brokers_than_asked(vltava, kafka_bootstrap):
    result = vltava("ready", "-b", kafka_bootstrap, "99", "2", bootstrap=False)
    assert result.returncode == 1
    assert "expected 99 brokers" in result.stderr
