"""Consumer groups with the classic protocol: confluent-kafka (librdkafka 2.16), kafka-python 3 and aiokafka
consumers sharing partitions, failing over on session timeout and clean leave, static membership, committed
offsets surviving a broker restart, and the `vltava groups` commands."""

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid

import pytest
from conftest import unique_topic
from test_produce_consume import create_topic

PARTITIONS = 6
SESSION_MS = 6000


def produce(bootstrap, topic, count, start=0, partitions=PARTITIONS):
    """`count` records "value-i", spread round-robin over the partitions; returns their values."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    values = []
    for i in range(start, start + count):
        value = f"value-{i}"
        producer.produce(topic, value=value.encode(), partition=i % partitions)
        values.append(value)
    assert producer.flush(30) == 0
    return values


def group_id(prefix="g"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class PollingConsumer:
    """A confluent-kafka consumer polled on its own thread, recording its assignment and what it consumed."""

    def __init__(self, bootstrap, group, topic, **config):
        from confluent_kafka import Consumer

        settings = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                    "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500}
        settings.update(config)
        self.consumer = Consumer(settings)
        self.records = []
        self.revocations = 0
        self.assignment = set()
        self.lock = threading.Lock()
        self.running = True
        self.consumer.subscribe([topic], on_assign=self._assigned, on_revoke=self._revoked)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _assigned(self, consumer, partitions):
        with self.lock:
            self.assignment |= {p.partition for p in partitions}

    def _revoked(self, consumer, partitions):
        with self.lock:
            self.revocations += 1
            self.assignment -= {p.partition for p in partitions}

    def _run(self):
        while self.running:
            message = self.consumer.poll(0.2)
            if message is not None and message.error() is None:
                with self.lock:
                    self.records.append((message.partition(), message.offset(), message.value().decode()))

    def partitions(self):
        with self.lock:
            return set(self.assignment)

    def stop(self, close=True):
        self.running = False
        self.thread.join(10)
        if close:
            self.consumer.close()


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s: {message}")


def assert_partitioned(consumers, partitions=PARTITIONS):
    """Every partition assigned to exactly one consumer."""
    sets = [c.partitions() for c in consumers]
    assert sorted(p for s in sets for p in s) == list(range(partitions)), sets


def fully_assigned(consumers, partitions=PARTITIONS):
    sets = [c.partitions() for c in consumers]
    return all(sets) and sorted(p for s in sets for p in s) == list(range(partitions))


@pytest.mark.parametrize("assignor", ["range", "roundrobin", "cooperative-sticky"])
def test_three_confluent_consumers_share_partitions(shared_group_broker, assignor):
    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, PARTITIONS)
    group = group_id(assignor)
    consumers = [PollingConsumer(bootstrap, group, topic, **{"partition.assignment.strategy": assignor})
                 for _ in range(3)]
    try:
        wait_for(lambda: fully_assigned(consumers), 30, f"3 members sharing {PARTITIONS} partitions")
        assert_partitioned(consumers)
        assert all(len(c.partitions()) == 2 for c in consumers)
        values = produce(bootstrap, topic, 300)
        wait_for(lambda: sum(len(c.records) for c in consumers) >= len(values), 30, "every record consumed")
        time.sleep(0.5)
        consumed = [value for c in consumers for _, _, value in c.records]
        assert sorted(consumed) == sorted(values), "every record exactly once"
        for consumer in consumers:
            assert {partition for partition, _, _ in consumer.records} <= consumer.partitions()
    finally:
        for consumer in consumers:
            consumer.stop()


CHILD_CONSUMER = """
import sys, time
from confluent_kafka import Consumer
consumer = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": int(sys.argv[4]),
                     "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest"})
consumer.subscribe([sys.argv[3]], on_assign=lambda c, ps: print("assigned", len(ps), flush=True))
while True:
    consumer.poll(0.2)
"""


def test_killed_consumer_partitions_move_after_session_timeout(shared_group_broker):
    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, PARTITIONS)
    group = group_id("kill")
    survivor = PollingConsumer(bootstrap, group, topic)
    child = subprocess.Popen([sys.executable, "-c", CHILD_CONSUMER, bootstrap, group, topic, str(SESSION_MS)],
                             stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(survivor.partitions()) == PARTITIONS // 2, 30, "the two members share the partitions")
        child.kill()
        child.wait(10)
        killed_at = time.monotonic()
        moved_at = wait_for(lambda: len(survivor.partitions()) == PARTITIONS, 30, "partitions moved to the survivor")
        elapsed = moved_at - killed_at
        assert SESSION_MS / 1000 - 1.5 <= elapsed <= SESSION_MS / 1000 + 6, f"moved after {elapsed:.1f}s"
    finally:
        child.kill()
        survivor.stop()


def test_clean_leave_rebalances_at_once(shared_group_broker):
    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, PARTITIONS)
    group = group_id("leave")
    # A long session timeout: only the LeaveGroup can explain a quick move.
    first = PollingConsumer(bootstrap, group, topic, **{"session.timeout.ms": 45000})
    second = PollingConsumer(bootstrap, group, topic, **{"session.timeout.ms": 45000})
    try:
        wait_for(lambda: fully_assigned([first, second]), 30, "two members")
        second.stop()
        left_at = time.monotonic()
        moved_at = wait_for(lambda: len(first.partitions()) == PARTITIONS, 20, "partitions moved after the leave")
        assert moved_at - left_at < 5
    finally:
        first.stop()


def test_kafka_python_group_consumers(shared_group_broker):
    from kafka import KafkaConsumer

    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, PARTITIONS)
    group = group_id("kp")
    consumers = [KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                               session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500, consumer_timeout_ms=200)
                 for _ in range(2)]
    consumed = []
    lock = threading.Lock()
    stop = threading.Event()

    def run(consumer):
        while not stop.is_set():
            for message in consumer.poll(timeout_ms=200).values():
                with lock:
                    consumed.extend(m.value.decode() for m in message)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in consumers]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(c.assignment() for c in consumers)
                 and sorted(tp.partition for c in consumers for tp in c.assignment()) == list(range(PARTITIONS)),
                 30, "both kafka-python consumers assigned")
        values = produce(bootstrap, topic, 120)
        wait_for(lambda: len(consumed) >= len(values), 30, "kafka-python consumed every record")
        time.sleep(0.5)
        assert sorted(consumed) == sorted(values)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        for consumer in consumers:
            consumer.close()


def test_aiokafka_group_consumers(shared_group_broker):
    from aiokafka import AIOKafkaConsumer

    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, PARTITIONS)
    group = group_id("aio")

    async def scenario():
        consumers = [AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                      session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500) for _ in range(2)]
        for consumer in consumers:
            await consumer.start()
        consumed = []
        try:
            deadline = time.monotonic() + 30
            values = None
            while time.monotonic() < deadline:
                for consumer in consumers:
                    batches = await consumer.getmany(timeout_ms=100)
                    consumed.extend(m.value.decode() for messages in batches.values() for m in messages)
                assignments = [consumer.assignment() for consumer in consumers]
                if values is None and all(assignments) and \
                        sorted(tp.partition for a in assignments for tp in a) == list(range(PARTITIONS)):
                    values = await asyncio.to_thread(produce, bootstrap, topic, 120)
                if values is not None and len(consumed) >= len(values):
                    break
            assert values is not None, "both aiokafka consumers assigned"
            assert sorted(consumed) == sorted(values)
        finally:
            for consumer in consumers:
                await consumer.stop()

    asyncio.run(scenario())


def seed_consumer(bootstrap, topic, group):
    """The seed's getting-started consumer (auto_offset_reset='latest', auto-commit, JSON values) with only
    `group_id` added (and a timeout so that a failing test ends)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=[bootstrap],
        auto_offset_reset='latest',
        enable_auto_commit=True,
        group_id=group,
        consumer_timeout_ms=20000,
        value_deserializer=lambda x: json.loads(x.decode('utf-8')))
    return consumer


def test_seed_consumer_with_group_id(shared_group_broker):
    from kafka import KafkaProducer

    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("sensors")
    create_topic(bootstrap, topic, 1)
    group = group_id("seed")
    producer = KafkaProducer(bootstrap_servers=[bootstrap], value_serializer=lambda v: json.dumps(v).encode("utf-8"))

    consumer = seed_consumer(bootstrap, topic, group)
    wait_for(lambda: consumer.poll(timeout_ms=100) == {} and bool(consumer.assignment()), 30, "seed consumer assigned")
    # 'latest' starts at the end: produce only once the consumer has its position.
    consumer.position(next(iter(consumer.assignment())))
    for i in range(5):
        producer.send(topic, {"sensor": i, "reading": i * 1.5})
    producer.flush()
    received = []
    for message in consumer:
        received.append(message.value["sensor"])
        if len(received) == 5:
            break
    consumer.close()  # commits the position
    assert received == list(range(5))

    for i in range(5, 8):
        producer.send(topic, {"sensor": i, "reading": i * 1.5})
    producer.flush()
    producer.close()
    # Same group again: resumes from the committed offset, so the records sent while it was away arrive
    # even though auto_offset_reset is 'latest'.
    consumer = seed_consumer(bootstrap, topic, group)
    received = []
    for message in consumer:
        received.append(message.value["sensor"])
        if len(received) == 3:
            break
    consumer.close()
    assert received == [5, 6, 7]


def test_static_member_rejoins_without_rebalance(shared_group_broker):
    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, PARTITIONS)
    group = group_id("static")
    config = {"session.timeout.ms": 10000}
    steady = PollingConsumer(bootstrap, group, topic, **{"group.instance.id": "steady", **config})
    restarting = PollingConsumer(bootstrap, group, topic, **{"group.instance.id": "restarting", **config})
    try:
        wait_for(lambda: fully_assigned([steady, restarting]), 30, "two static members")
        before = restarting.partitions()
        steady_assignment = steady.partitions()
        revocations = steady.revocations
        restarting.stop()  # a static member sends no LeaveGroup on close
        restarting = PollingConsumer(bootstrap, group, topic, **{"group.instance.id": "restarting", **config})
        wait_for(lambda: restarting.partitions(), 8, "the restarted static member got its partitions back")
        assert restarting.partitions() == before
        time.sleep(1.5)
        assert steady.revocations == revocations, "the other member saw no rebalance"
        assert steady.partitions() == steady_assignment
    finally:
        restarting.stop()
        steady.stop()


def consume_until(consumer, count, timeout=30):
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            records.append((message.partition(), message.offset(), message.value().decode()))
    return records


def test_commit_restart_resume(group_broker):
    from confluent_kafka import Consumer

    bootstrap = group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, 3)
    values = produce(bootstrap, topic, 90, partitions=3)
    group = group_id("restart")
    settings = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                "enable.auto.commit": False, "session.timeout.ms": SESSION_MS}
    consumer = Consumer(settings)
    consumer.subscribe([topic])
    first = consume_until(consumer, 45)
    assert len(first) == 45
    consumer.commit(asynchronous=False)
    consumer.close()

    group_broker.restart()
    values += produce(bootstrap, topic, 30, start=90, partitions=3)

    consumer = Consumer(settings)
    consumer.subscribe([topic])
    second = consume_until(consumer, len(values) - len(first))
    time.sleep(1)
    extra = consume_until(consumer, 1, timeout=1)
    consumer.close()
    seen_first = [value for _, _, value in first]
    seen_second = [value for _, _, value in second + extra]
    assert not set(seen_first) & set(seen_second), "nothing repeated beyond the last commit"
    assert sorted(seen_first + seen_second) == sorted(values), "nothing skipped"


def vltava(vltava_bin, *args, check=True):
    result = subprocess.run([str(vltava_bin), *args], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def describe_rows(vltava_bin, bootstrap, group, topic):
    output = vltava(vltava_bin, "groups", "describe", "--group", group, "-b", bootstrap).stdout
    rows = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[0] == group and fields[1] == topic:
            rows[int(fields[2])] = fields
    return output, rows


def test_groups_describe_lag_and_reset_to_earliest(shared_group_broker, vltava_bin):
    from confluent_kafka import Consumer

    bootstrap = shared_group_broker.bootstrap
    topic = unique_topic("grp")
    create_topic(bootstrap, topic, 3)
    group = group_id("cli")
    produce(bootstrap, topic, 30, partitions=3)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": SESSION_MS, "client.id": "lag-checker"})
    consumer.subscribe([topic])
    assert len(consume_until(consumer, 30)) == 30
    consumer.commit(asynchronous=False)
    produce(bootstrap, topic, 12, start=30, partitions=3)

    output, rows = describe_rows(vltava_bin, bootstrap, group, topic)
    assert "Stable" in output
    assert sorted(rows) == [0, 1, 2], output
    for fields in rows.values():
        assert fields[3:6] == ["10", "14", "4"], output
        assert fields[8] == "lag-checker", output
    refused = vltava(vltava_bin, "groups", "reset-offsets", "--group", group, "--topic", topic, "--to-earliest",
                     "--execute", "-b", bootstrap, check=False)
    assert refused.returncode != 0 and "inactive" in refused.stderr
    consumer.close()

    listed = vltava(vltava_bin, "groups", "list", "-b", bootstrap).stdout
    assert any(line.split()[:2] == [group, "Empty"] for line in listed.splitlines()), listed

    dry = vltava(vltava_bin, "groups", "reset-offsets", "--group", group, "--topic", topic, "--to-earliest",
                 "-b", bootstrap).stdout
    assert "Dry run" in dry
    _, rows = describe_rows(vltava_bin, bootstrap, group, topic)
    assert all(fields[3] == "10" for fields in rows.values())

    vltava(vltava_bin, "groups", "reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute",
           "-b", bootstrap)
    _, rows = describe_rows(vltava_bin, bootstrap, group, topic)
    assert all(fields[3:6] == ["0", "14", "14"] for fields in rows.values()), rows

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "latest",
                         "session.timeout.ms": SESSION_MS})
    consumer.subscribe([topic])
    again = consume_until(consumer, 42)
    consumer.close()
    assert sorted(int(value.split("-")[1]) for _, _, value in again) == list(range(42)), "the group re-read everything"

    vltava(vltava_bin, "groups", "delete", "--group", group, "-b", bootstrap)
    listed = vltava(vltava_bin, "groups", "list", "-b", bootstrap).stdout
    assert group not in listed
