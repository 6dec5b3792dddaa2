"""Cluster mode on etcd (issue 16): three `vltava serve` processes on 127.0.0.1 with distinct ports, node ids and data
folders, joined through one real etcd. Every broker answers Metadata for the whole cluster, partitions are spread
over the brokers (one replica each), clients produce and consume across them, a broker that does not lead a
partition refuses it with NOT_LEADER_OR_FOLLOWER, and a killed controller is replaced within the lease TTL + 5 s."""

import socket
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from conftest import BrokerProcess, free_port, unique_topic
from etcd_support import EtcdServer

TTL_SECONDS = 3
NOT_LEADER_OR_FOLLOWER = 6


@pytest.fixture(scope="module")
def etcd():
    server = EtcdServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(vltava_bin, tmp_path_factory, etcd):
    name = unique_topic("c")
    brokers = []
    for node_id in (1, 2, 3):
        folder = tmp_path_factory.mktemp(f"broker{node_id}")
        brokers.append(BrokerProcess(vltava_bin, folder / "data", free_port(), extra_args=[
            "--node-id", str(node_id), "--etcd-endpoints", etcd.endpoint, "--cluster-name", name,
            "--override", f"broker.session.timeout.ms={TTL_SECONDS * 1000}",
            "--override", "group.initial.rebalance.delay.ms=0"]))
    for broker in brokers:
        broker.start()
    wait_for(lambda: all(len(metadata(b)["brokers"]) == 3 for b in brokers), 15, "every broker to see the three brokers")
    yield brokers, name
    for broker in brokers:
        broker.stop()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# Raw requests, so that a chosen broker is asked (a client library would go to the leader on its own).

def request(broker, api_key: int, version: int, body: bytes) -> bytes:
    client = b"cluster-test"
    header = struct.pack(">hhih", api_key, version, 7, len(client)) + client
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        (size,) = struct.unpack(">i", read_exactly(s, 4))
        answer = read_exactly(s, size)
    assert struct.unpack(">i", answer[:4])[0] == 7
    return answer[4:]


def read_exactly(s, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = s.recv(count - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


class Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        size = self.take(">h")
        if size < 0:
            return None
        text = self.data[self.at:self.at + size].decode()
        self.at += size
        return text

    def array(self, read_one):
        return [read_one() for _ in range(self.take(">i"))]


def metadata(broker) -> dict:
    """Metadata v1 for every topic, from this broker."""
    r = Reader(request(broker, 3, 1, struct.pack(">i", -1)))
    brokers = r.array(lambda: (r.take(">i"), r.string(), r.take(">i"), r.string()))
    controller = r.take(">i")

    def partition():
        error, index, leader = r.take(">hii")
        replicas = r.array(lambda: r.take(">i"))
        isr = r.array(lambda: r.take(">i"))
        return index, {"error": error, "leader": leader, "replicas": replicas, "isr": isr}

    def topic():
        error, name, internal = r.take(">h"), r.string(), r.take(">?")
        return name, dict(r.array(partition))

    topics = dict(r.array(topic))
    return {"brokers": sorted(b[0] for b in brokers), "addresses": {b[0]: b[2] for b in brokers},
            "controller": controller, "topics": topics}


def produce_error(broker, topic: str, partition: int) -> int:
    """Produce v3 of one record (a batch built by hand) to this broker; the partition's error code."""
    batch = record_batch(b"straight-to-a-broker")
    string = lambda text: struct.pack(">h", len(text)) + text.encode()
    body = (struct.pack(">hhi", -1, 1, 5000) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
            + struct.pack(">ii", partition, len(batch)) + batch)
    r = Reader(request(broker, 0, 3, body))
    assert r.take(">i") == 1
    r.string()
    assert r.take(">i") == 1
    assert r.take(">i") == partition
    return r.take(">h")


def record_batch(value: bytes) -> bytes:
    """A RecordBatch v2 of one record, with its CRC32C."""
    def varint(n):
        n = (n << 1) ^ (n >> 63)
        out = b""
        while True:
            byte = n & 0x7F
            n >>= 7
            if n:
                out += bytes([byte | 0x80])
            else:
                return out + bytes([byte])
    record_body = b"\x00" + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    record = varint(len(record_body)) + record_body
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, 0, now, now, -1, -1, -1, 1) + record
    return struct.pack(">qii", 0, 4 + 1 + 4 + len(after_crc), 0) + b"\x02" + struct.pack(">I", crc32c(after_crc)) + after_crc


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def create_topic(broker, topic: str, partitions: int):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def test_every_broker_describes_the_whole_cluster(cluster):
    brokers, _ = cluster
    answers = [metadata(b) for b in brokers]
    for answer in answers:
        assert answer["brokers"] == [1, 2, 3]
        assert answer["addresses"] == {1: brokers[0].port, 2: brokers[1].port, 3: brokers[2].port}
        assert answer["controller"] == answers[0]["controller"] != -1


def test_partitions_are_spread_and_every_broker_agrees(cluster):
    brokers, _ = cluster
    topic = unique_topic("spread")
    create_topic(brokers[1], topic, 6)
    wait_for(lambda: all(topic in metadata(b)["topics"] and len(metadata(b)["topics"][topic]) == 6 for b in brokers), 10,
             "every broker to know the topic")
    views = [metadata(b)["topics"][topic] for b in brokers]
    assert views[0] == views[1] == views[2]
    leaders = [views[0][p]["leader"] for p in range(6)]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3]
    for p in range(6):
        assert views[0][p]["replicas"] == [leaders[p]] and views[0][p]["isr"] == [leaders[p]]
    # Each broker keeps only the partitions it leads.
    wait_for(lambda: all((b.data_dir / f"{topic}-{p}").is_dir() for p in range(6) for b in [brokers[leaders[p] - 1]]),
             10, "the leaders to open their partitions")
    for p in range(6):
        assert [b.data_dir.joinpath(f"{topic}-{p}").is_dir() for b in brokers] == [n == leaders[p] for n in (1, 2, 3)]

    admin = AdminClient({"bootstrap.servers": brokers[2].bootstrap})
    admin.create_partitions([NewPartitions(topic, 9)])[topic].result(30)
    wait_for(lambda: all(len(metadata(b)["topics"][topic]) == 9 for b in brokers), 10, "every broker to see 9 partitions")
    grown = metadata(brokers[0])["topics"][topic]
    assert sorted(grown[p]["leader"] for p in range(9)) == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    wait_for(lambda: all(brokers[grown[p]["leader"] - 1].data_dir.joinpath(f"{topic}-{p}").is_dir() for p in range(9)),
             10, "the new partitions to be opened by their leaders")

    deleter = AdminClient({"bootstrap.servers": brokers[1].bootstrap})
    deleter.delete_topics([topic])[topic].result(30)
    wait_for(lambda: all(topic not in metadata(b)["topics"] for b in brokers), 10, "every broker to forget the topic")
    wait_for(lambda: not any(b.data_dir.joinpath(f"{topic}-{p}").exists() for b in brokers for p in range(9)), 10,
             "every broker to delete the topic's folders")


def test_a_broker_refuses_a_partition_it_does_not_lead(cluster):
    brokers, _ = cluster
    topic = unique_topic("notleader")
    create_topic(brokers[0], topic, 3)
    wait_for(lambda: all(len(metadata(b)["topics"].get(topic, {})) == 3 for b in brokers), 10, "the topic everywhere")
    leaders = {p: v["leader"] for p, v in metadata(brokers[0])["topics"][topic].items()}
    for p, leader in leaders.items():
        leader_broker = brokers[leader - 1]
        other = next(b for b in brokers if b is not leader_broker)
        wait_for(lambda: produce_error(leader_broker, topic, p) == 0, 10, f"{leader_broker.port} to open partition {p}")
        assert produce_error(other, topic, p) == NOT_LEADER_OR_FOLLOWER


def test_clients_produce_and_a_group_consumes_across_the_brokers(cluster):
    brokers, _ = cluster
    topic = unique_topic("traffic")
    create_topic(brokers[2], topic, 6)
    bootstrap = brokers[0].bootstrap
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    failures = []
    for index in range(3000):
        producer.produce(topic, str(index).encode(), key=str(index).encode(),
                         on_delivery=lambda err, msg: failures.append(err) if err else None)
        if index % 500 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    assert failures == []
    consumer = Consumer({"bootstrap.servers": brokers[1].bootstrap, "group.id": unique_topic("g"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": True})
    consumer.subscribe([topic])
    seen, partitions = set(), set()
    deadline = time.monotonic() + 90
    while len(seen) < 3000 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.add(int(message.value()))
            partitions.add(message.partition())
    committed = consumer.commit(asynchronous=False)
    consumer.close()
    assert len(seen) == 3000
    assert partitions == set(range(6))
    assert sum(tp.offset for tp in committed) == 3000


def find_coordinator(broker, group: str) -> int:
    """FindCoordinator v0 for a group, from this broker; the coordinator's node id."""
    r = Reader(request(broker, 10, 0, struct.pack(">h", len(group)) + group.encode()))
    assert r.take(">h") == 0
    return r.take(">i")


def heartbeat_error(broker, group: str) -> int:
    """Heartbeat v0 of an unknown member; the error code."""
    member = "nobody"
    body = struct.pack(">h", len(group)) + group.encode() + struct.pack(">ih", 1, len(member)) + member.encode()
    return Reader(request(broker, 12, 0, body)).take(">h")


def test_group_requests_go_to_the_leader_of_the_groups_offsets_partition(cluster):
    brokers, _ = cluster
    group = unique_topic("coordinated")
    coordinator = find_coordinator(brokers[0], group)
    assert coordinator in (1, 2, 3)
    # Every broker names the same coordinator: the leader of the group's __consumer_offsets partition.
    assert {find_coordinator(b, group) for b in brokers} == {coordinator}
    offsets = metadata(brokers[0])["topics"]["__consumer_offsets"]
    java_hash = 0
    for char in group:
        java_hash = (31 * java_hash + ord(char)) & 0xFFFFFFFF
    assert offsets[(java_hash & 0x7FFFFFFF) % len(offsets)]["leader"] == coordinator
    NOT_COORDINATOR, UNKNOWN_MEMBER_ID = 16, 25
    for broker in brokers:
        expected = UNKNOWN_MEMBER_ID if broker is brokers[coordinator - 1] else NOT_COORDINATOR
        assert heartbeat_error(broker, group) == expected


def test_a_second_broker_with_a_taken_node_id_is_refused(cluster, vltava_bin, tmp_path, etcd):
    _, name = cluster
    twin = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=[
        "--node-id", "2", "--etcd-endpoints", etcd.endpoint, "--cluster-name", name,
        "--override", f"broker.session.timeout.ms={TTL_SECONDS * 1000}"])
    with pytest.raises(RuntimeError) as refusal:
        twin.start(timeout=TTL_SECONDS + 15)
    assert "another broker is already registered with node id 2" in str(refusal.value)
    assert twin.process.returncode != 0


def test_a_killed_controller_is_replaced_within_the_ttl(cluster, etcd, vltava_bin):
    brokers, name = cluster
    topic = unique_topic("survivors")
    create_topic(brokers[0], topic, 3)
    wait_for(lambda: all(len(metadata(b)["topics"].get(topic, {})) == 3 for b in brokers), 10, "the topic everywhere")
    controller = metadata(brokers[0])["controller"]
    assert controller in (1, 2, 3)
    victim = brokers[controller - 1]
    survivors = [b for b in brokers if b is not victim]
    killed = time.monotonic()
    victim.kill9()
    wait_for(lambda: all(metadata(b)["controller"] not in (-1, controller) for b in survivors), TTL_SECONDS + 5,
             "another broker to become controller")
    elapsed = time.monotonic() - killed
    assert elapsed <= TTL_SECONDS + 5
    # The dead broker is gone from the registrations and from every survivor's Metadata.
    assert f"/vltava/{name}/brokers/{controller}" not in etcd.range_prefix(f"/vltava/{name}/brokers/")
    for broker in survivors:
        assert controller not in metadata(broker)["brokers"]
    views = [metadata(b)["controller"] for b in survivors]
    assert views[0] == views[1]
    # Its partitions are offline meanwhile; restarted, it registers again and serves them.
    LEADER_NOT_AVAILABLE = 5
    view = metadata(survivors[0])["topics"][topic]
    offline = [p for p, v in view.items() if v["error"] == LEADER_NOT_AVAILABLE and v["leader"] == -1]
    assert len(offline) == 1 and view[offline[0]]["replicas"] == [controller]
    status = subprocess.run([str(vltava_bin), "cluster", "status", "-b", survivors[0].bootstrap],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert f"Controller: {views[0]}\n" in status.stdout and "Brokers: 2\n" in status.stdout
    all_offline = sum(1 for partitions in metadata(survivors[0])["topics"].values()
                      for v in partitions.values() if v["leader"] == -1)
    assert f", offline {all_offline}\n" in status.stdout
    assert f"  {topic}-{offline[0]}  replicas [{controller}]  isr []\n" in status.stdout
    victim.start(timeout=TTL_SECONDS + 20)
    wait_for(lambda: all(metadata(b)["brokers"] == [1, 2, 3] for b in brokers), 15, "the restarted broker to be back")
    wait_for(lambda: produce_error(victim, topic, offline[0]) == 0, 10, "the restarted broker to serve its partition")
