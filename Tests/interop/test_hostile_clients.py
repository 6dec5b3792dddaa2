"""Clients that misbehave on purpose: requests the broker cannot store, connections that trickle bytes, sit idle,
never read their answers or come too many from one address. Each must get Kafka's answer or be cut off, never
crash, stall or grow the broker, and other clients must not notice. Also the protocol answers real clients
rejected (null records in Fetch, per-record errors, unknown partitions in OffsetCommit)."""

import socket
import struct
import sys
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from conftest import REPO_ROOT, BrokerProcess, free_port, unique_topic

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import fuzz_requests as wire  # noqa: E402  (the spec-driven request encoder of the request fuzzer)

UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_GROUP_ID = 24
INVALID_REQUEST = 42
POLICY_VIOLATION = 44
INVALID_RECORD = 87


def create_topic(broker, topic, partitions, config=None):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, config=config or {})])[topic].result(20)


def rss_kib(broker) -> int:
    for line in open(f"/proc/{broker.process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def lists_topics(broker, timeout=10.0):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    metadata = admin.list_topics(timeout=timeout)
    assert broker.process.poll() is None, broker.log()
    return metadata


COORDINATOR_LOAD_IN_PROGRESS = 14


def ask(broker, api, version, values, timeout=10.0):
    """Sends one request on a new connection and decodes the answer; retried while the group coordinator is still
    loading (right after start), as clients do."""
    deadline = time.monotonic() + 20
    while True:
        body = ask_once(broker, api, version, values, timeout)
        if f"'ErrorCode': {COORDINATOR_LOAD_IN_PROGRESS}" not in repr(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def ask_once(broker, api, version, values, timeout=10.0):
    data = wire.encode_request(api, version, values, correlation_id=77)
    outcome, payload = wire.send_frame(broker.bootstrap, data, timeout=timeout)
    assert outcome == "answered", f"{api} v{version}: {outcome}; {broker.log()}"
    sp = wire.specs()
    correlation, body = wire.decode_response(sp, sp.request(api).api_key, version, payload)
    assert correlation == 77
    return body


def is_closed(sock, timeout=10.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.fixture
def hostile_broker(vltava_bin, tmp_path):
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=[
        "--override", "connections.max.idle.ms=1500",
        "--override", "request.read.timeout.ms=1500",
        "--override", "max.connections.per.ip.overrides=127.0.0.2:3",
        "--override", "group.initial.rebalance.delay.ms=0",
    ]).start()
    yield process
    process.kill9()


# --- requests whose strings cannot be stored -----------------------------------------------------------------

def test_offset_commit_with_a_group_id_too_long_to_store(hostile_broker):
    topic = unique_topic("commit")
    create_topic(hostile_broker, topic, 1)
    for length in (32_767 + 1, 40_000, 1 << 20):
        body = ask(hostile_broker, "OffsetCommit", 8, {
            "GroupId": "g" * length, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
            "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 5}]}],
        })
        assert body["Topics"][0]["Partitions"][0]["ErrorCode"] == INVALID_GROUP_ID
    # A group id that just fits is stored and read back.
    fits = "h" * 32_767
    body = ask(hostile_broker, "OffsetCommit", 8, {
        "GroupId": fits, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
        "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 5}]}],
    })
    assert body["Topics"][0]["Partitions"][0]["ErrorCode"] == 0
    body = ask(hostile_broker, "OffsetFetch", 8, {"Groups": [{"GroupId": fits, "Topics": None}]})
    assert body["Groups"][0]["Topics"][0]["Partitions"][0]["CommittedOffset"] == 5
    lists_topics(hostile_broker)


def test_a_group_asked_for_a_hundred_thousand_times_is_described_once(hostile_broker):
    """The request fuzzer's find: DescribeGroups naming one group 100 000 times, that group's member carrying 64 KiB of
    metadata, made an answer of over 2 GiB (and a trap on its INT32 size). Each group is described once now, as are
    the groups of ConsumerGroupDescribe and OffsetFetch v8+, Metadata's topics and DescribeConfigs' resources."""
    join = ask(hostile_broker, "JoinGroup", 5, {
        "GroupId": "big-member", "SessionTimeoutMs": 30_000, "RebalanceTimeoutMs": 30_000, "MemberId": "",
        "GroupInstanceId": "static-1", "ProtocolType": "consumer",
        "Protocols": [{"Name": "range", "Metadata": b"m" * 65_536}],
    })
    assert join["ErrorCode"] == 0, join
    sync = ask(hostile_broker, "SyncGroup", 3, {
        "GroupId": "big-member", "GenerationId": join["GenerationId"], "MemberId": join["MemberId"],
        "GroupInstanceId": "static-1",
        "Assignments": [{"MemberId": join["MemberId"], "Assignment": b"a" * 65_536}],
    })
    assert sync["ErrorCode"] == 0 and len(sync["Assignment"]) == 65_536, sync["ErrorCode"]
    body = ask(hostile_broker, "DescribeGroups", 0, {"Groups": ["big-member"] * 100_000}, timeout=60)
    assert body["Groups"][0]["GroupState"] == "Stable"
    assert [group["GroupId"] for group in body["Groups"]] == ["big-member"]
    fetched = ask(hostile_broker, "OffsetFetch", 8, {"Groups": [{"GroupId": "big-member", "Topics": None}] * 1000,
                                                     "RequireStable": False})
    assert len(fetched["Groups"]) == 1
    described = ask(hostile_broker, "ConsumerGroupDescribe", 0, {"GroupIds": ["nope"] * 1000,
                                                                 "IncludeAuthorizedOperations": False})
    assert len(described["Groups"]) == 1
    topic = unique_topic("many")
    create_topic(hostile_broker, topic, 8)
    metadata = ask(hostile_broker, "Metadata", 9, {"Topics": [{"Name": topic}] * 100_000, "AllowAutoTopicCreation": False,
                                                   "IncludeTopicAuthorizedOperations": False}, timeout=60)
    assert [t["Name"] for t in metadata["Topics"]] == [topic]
    configs = ask(hostile_broker, "DescribeConfigs", 4, {
        "Resources": [{"ResourceType": 4, "ResourceName": "1", "ConfigurationKeys": None}] * 10_000,
        "IncludeSynonyms": True, "IncludeDocumentation": True}, timeout=60)
    assert len(configs["Results"]) == 1
    lists_topics(hostile_broker)


def test_group_apis_with_ids_too_long_to_store(hostile_broker):
    long = "x" * 40_000
    join = ask(hostile_broker, "JoinGroup", 9, {
        "GroupId": long, "SessionTimeoutMs": 10_000, "RebalanceTimeoutMs": 10_000, "MemberId": "",
        "ProtocolType": "consumer", "Protocols": [{"Name": "range", "Metadata": b""}],
    })
    assert join["ErrorCode"] == INVALID_GROUP_ID
    join = ask(hostile_broker, "JoinGroup", 9, {
        "GroupId": "g", "SessionTimeoutMs": 10_000, "RebalanceTimeoutMs": 10_000, "MemberId": "",
        "GroupInstanceId": long, "ProtocolType": "consumer", "Protocols": [{"Name": "range", "Metadata": b""}],
    })
    assert join["ErrorCode"] == INVALID_REQUEST
    join = ask(hostile_broker, "JoinGroup", 9, {
        "GroupId": "g2", "SessionTimeoutMs": 10_000, "RebalanceTimeoutMs": 10_000, "MemberId": "",
        "ProtocolType": long, "Protocols": [{"Name": long, "Metadata": b""}],
    })
    assert join["ErrorCode"] == INVALID_REQUEST
    fetched = ask(hostile_broker, "OffsetFetch", 8, {"Groups": [{"GroupId": long, "Topics": None}]})
    assert fetched["Groups"][0]["ErrorCode"] == INVALID_GROUP_ID
    described = ask(hostile_broker, "DescribeGroups", 5, {"Groups": [long]})
    assert described["Groups"][0]["ErrorCode"] == INVALID_GROUP_ID
    deleted = ask(hostile_broker, "DeleteGroups", 2, {"GroupsNames": [long]})
    assert deleted["Results"][0]["ErrorCode"] == INVALID_GROUP_ID
    # A client id of 32 767 bytes still gets a member id that fits (the id is built from it).
    data = wire.encode_request("JoinGroup", 9, {
        "GroupId": "long-client", "SessionTimeoutMs": 10_000, "RebalanceTimeoutMs": 10_000, "MemberId": "",
        "ProtocolType": "consumer", "Protocols": [{"Name": "range", "Metadata": b""}],
    }, correlation_id=5, client_id="c" * 32_767)
    outcome, payload = wire.send_frame(hostile_broker.bootstrap, data)
    assert outcome == "answered"
    _, body = wire.decode_response(wire.specs(), 11, 9, payload)
    assert body["ErrorCode"] == 79  # MEMBER_ID_REQUIRED, with a member id to rejoin with
    assert 0 < len(body["MemberId"].encode()) <= 32_767
    lists_topics(hostile_broker)


def test_create_topics_with_too_many_partitions_is_a_policy_violation(hostile_broker):
    body = ask(hostile_broker, "CreateTopics", 7, {
        "Topics": [{"Name": unique_topic("big"), "NumPartitions": 2_147_483_647, "ReplicationFactor": 1}],
        "TimeoutMs": 10_000,
    })
    assert body["Topics"][0]["ErrorCode"] == POLICY_VIOLATION
    body = ask(hostile_broker, "CreateTopics", 7, {
        "Topics": [{"Name": unique_topic("many"), "NumPartitions": -1, "ReplicationFactor": -1,
                    "Assignments": [{"PartitionIndex": 0, "BrokerIds": [1] * 40_000}]}],
        "TimeoutMs": 10_000,
    })
    assert body["Topics"][0]["ErrorCode"] != 0
    topic = unique_topic("grow")
    create_topic(hostile_broker, topic, 1)
    body = ask(hostile_broker, "CreatePartitions", 3, {
        "Topics": [{"Name": topic, "Count": 2_000_000_000, "Assignments": None}], "TimeoutMs": 10_000,
    })
    assert body["Results"][0]["ErrorCode"] == POLICY_VIOLATION
    lists_topics(hostile_broker)


# --- protocol answers real clients rejected -------------------------------------------------------------------

def test_fetch_out_of_range_carries_empty_not_null_records(hostile_broker):
    topic = unique_topic("nullrec")
    create_topic(hostile_broker, topic, 1)
    metadata = ask(hostile_broker, "Metadata", 12, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": False})
    topic_id = metadata["Topics"][0]["TopicId"]
    body = ask(hostile_broker, "Fetch", 16, {
        "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1 << 20, "IsolationLevel": 0, "SessionId": 0, "SessionEpoch": -1,
        "Topics": [{"TopicId": topic_id, "Partitions": [
            {"Partition": 0, "FetchOffset": 1000, "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20},
            {"Partition": 7, "FetchOffset": 0, "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20}]}],
        "ForgottenTopicsData": [], "RackId": "",
    })
    partitions = body["Responses"][0]["Partitions"]
    assert partitions[0]["ErrorCode"] == 1  # OFFSET_OUT_OF_RANGE
    assert [p["Records"] for p in partitions] == [b"", b""], "Kafka sends empty records, never null"


def test_consumer_reset_to_latest_on_an_empty_partition_receives_later_records(hostile_broker):
    topic = unique_topic("latest")
    create_topic(hostile_broker, topic, 1)
    consumer = Consumer({"bootstrap.servers": hostile_broker.bootstrap, "group.id": unique_topic("g"),
                         "auto.offset.reset": "latest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 1000)])  # out of range: reset to latest
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        consumer.poll(0.2)
    producer = Producer({"bootstrap.servers": hostile_broker.bootstrap})
    producer.produce(topic, b"after-reset")
    producer.flush(10)
    received = []
    deadline = time.monotonic() + 20
    while not received and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            received.append(message.value())
    consumer.close()
    assert received == [b"after-reset"]


def test_offset_commit_for_a_topic_that_does_not_exist(hostile_broker):
    topic = unique_topic("exists")
    create_topic(hostile_broker, topic, 1)
    body = ask(hostile_broker, "OffsetCommit", 8, {
        "GroupId": "commits", "GenerationIdOrMemberEpoch": -1, "MemberId": "",
        "Topics": [{"Name": "no-such-topic", "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1}]},
                   {"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1},
                                                  {"PartitionIndex": 9, "CommittedOffset": 1}]}],
    })
    codes = [[p["ErrorCode"] for p in t["Partitions"]] for t in body["Topics"]]
    assert codes == [[UNKNOWN_TOPIC_OR_PARTITION], [0, UNKNOWN_TOPIC_OR_PARTITION]]
    consumer = Consumer({"bootstrap.servers": hostile_broker.bootstrap, "group.id": "commits2"})
    with pytest.raises(KafkaException) as raised:
        consumer.commit(offsets=[TopicPartition("no-such-topic", 0, 5)], asynchronous=False)
    consumer.close()
    assert "UNKNOWN_TOPIC_OR_PART" in str(raised.value) or raised.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_keyless_records_on_a_compacted_topic_fail_alone(hostile_broker):
    topic = unique_topic("compacted")
    create_topic(hostile_broker, topic, 1, config={"cleanup.policy": "compact"})
    # On the wire: one batch of three records, the middle one keyless. The batch is refused with INVALID_RECORD and
    # the record error names index 1 alone, as Kafka's answer does; nothing is appended.
    batch = wire.record_batch([(b"k1", b"a"), (None, b"b"), (b"k2", b"c")])
    body = ask(hostile_broker, "Produce", 9, {
        "TransactionalId": None, "Acks": -1, "TimeoutMs": 10_000,
        "TopicData": [{"Name": topic, "PartitionData": [{"Index": 0, "Records": batch}]}]})
    answer = body["Responses"][0]["PartitionResponses"][0]
    assert answer["ErrorCode"] == INVALID_RECORD, answer
    assert [error["BatchIndex"] for error in answer["RecordErrors"]] == [1], answer
    listed = ask(hostile_broker, "ListOffsets", 7, {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [
        {"Name": topic, "Partitions": [{"PartitionIndex": 0, "Timestamp": -1, "CurrentLeaderEpoch": -1}]}]})
    assert listed["Topics"][0]["Partitions"][0]["Offset"] == 0, "a refused batch left records behind"

    # Through librdkafka, which turns the record errors into one error per record. Its metadata is warmed first and
    # the linger is long, so the three records leave as one batch (flush sends at once).
    producer = Producer({"bootstrap.servers": hostile_broker.bootstrap, "linger.ms": 5_000, "retries": 0})
    producer.list_topics(topic, timeout=10)
    results = {}

    def report(name):
        return lambda error, message: results.__setitem__(name, error)

    producer.produce(topic, key=b"k1", value=b"a", on_delivery=report("keyed-1"))
    producer.produce(topic, value=b"b", on_delivery=report("keyless"))
    producer.produce(topic, key=b"k2", value=b"c", on_delivery=report("keyed-2"))
    producer.flush(20)
    assert results["keyless"] is not None and results["keyless"].code() == KafkaError.INVALID_RECORD, results
    for name in ("keyed-1", "keyed-2"):
        assert results[name] is not None, f"{name} was written although its batch was refused: {results}"
        assert results[name].code() in (KafkaError._INVALID_DIFFERENT_RECORD, KafkaError.INVALID_RECORD), results


def test_message_format_version_is_accepted_as_a_no_op(hostile_broker):
    topic = unique_topic("mfv")
    admin = AdminClient({"bootstrap.servers": hostile_broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
    resource = ConfigResource("topic", topic, set_config={"message.format.version": "2.8"})
    admin.alter_configs([resource])[resource].result(20)
    bad = ConfigResource("topic", topic, set_config={"message.format.version": "not-a-version"})
    with pytest.raises(KafkaException):
        admin.alter_configs([bad])[bad].result(20)


# --- connections -----------------------------------------------------------------------------------------

def test_idle_connections_are_reaped(hostile_broker):
    sock = socket.create_connection(("127.0.0.1", hostile_broker.port))
    started = time.monotonic()
    assert is_closed(sock, timeout=10)
    assert 1.0 <= time.monotonic() - started < 8
    lists_topics(hostile_broker)


def test_trickling_clients_are_cut_off_and_others_unaffected(hostile_broker):
    sockets = [socket.create_connection(("127.0.0.1", hostile_broker.port)) for _ in range(200)]
    frame = wire.encode_request("Metadata", 12, {"Topics": None})
    stop = threading.Event()

    def trickle():
        position = 0
        while not stop.is_set() and position < len(frame):
            for s in sockets:
                try:
                    s.send(frame[position:position + 1])
                except OSError:
                    pass
            position += 1
            time.sleep(0.4)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        # Meanwhile a real client is served without delay.
        for _ in range(5):
            t0 = time.monotonic()
            lists_topics(hostile_broker)
            assert time.monotonic() - t0 < 3
        for s in sockets:
            assert is_closed(s, timeout=10), "a connection trickling one byte every 400 ms must be cut off"
        assert time.monotonic() - started < 15
    finally:
        stop.set()
        for s in sockets:
            s.close()
    lists_topics(hostile_broker)


def test_connections_over_the_per_ip_limit_are_refused(hostile_broker):
    # max.connections.per.ip.overrides=127.0.0.2:3 — a fourth connection from 127.0.0.2 is closed at once.
    held = []
    for _ in range(3):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", hostile_broker.port))
        held.append(s)
    extra = socket.socket()
    extra.bind(("127.0.0.2", 0))
    extra.connect(("127.0.0.1", hostile_broker.port))
    assert is_closed(extra, timeout=5)
    # 127.0.0.1 is not limited by the override.
    lists_topics(hostile_broker)
    held[0].close()
    time.sleep(0.3)
    again = socket.socket()
    again.bind(("127.0.0.2", 0))
    again.connect(("127.0.0.1", hostile_broker.port))
    again.sendall(wire.encode_request("ApiVersions", 0, {}))
    assert wire.read_frame(again) is not None, "a slot freed by a closed connection is usable again"
    for s in held[1:] + [extra, again]:
        s.close()


def filled_topic_fetch(broker, prefix, partitions, records, batch_size, partition_max_bytes) -> bytes:
    """Creates a topic with `records` values of 1000 bytes spread over its partitions and returns a Fetch v16
    request frame reading every partition from offset 0."""
    topic = unique_topic(prefix)
    create_topic(broker, topic, partitions)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20, "batch.size": batch_size})
    for index in range(records):
        producer.produce(topic, b"v" * 1000, partition=index % partitions)
    producer.flush(60)
    metadata = ask(broker, "Metadata", 12, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": False})
    topic_id = metadata["Topics"][0]["TopicId"]
    return wire.encode_request("Fetch", 16, {
        "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 50 << 20, "IsolationLevel": 0, "SessionId": 0, "SessionEpoch": -1,
        "Topics": [{"TopicId": topic_id, "Partitions": [
            {"Partition": p, "FetchOffset": 0, "LogStartOffset": -1, "PartitionMaxBytes": partition_max_bytes}
            for p in range(partitions)]}],
        "ForgottenTopicsData": [], "RackId": "",
    })


def test_a_client_that_never_reads_its_fetch_answers_is_bounded(hostile_broker):
    # Partition slices of 60 000 bytes stay under the sendfile threshold: each answer is ~480 KB in memory.
    request = filled_topic_fetch(hostile_broker, "unread", partitions=8, records=16_000, batch_size=60_000,
                                 partition_max_bytes=60_000)
    before = rss_kib(hostile_broker)
    sock = socket.create_connection(("127.0.0.1", hostile_broker.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(0.5)
    sent = 0
    deadline = time.monotonic() + 20
    try:
        while sent < 1000 and time.monotonic() < deadline:
            try:
                sock.sendall(request)
                sent += 1
            except socket.timeout:
                break  # the broker stopped reading from us: that is the point
        # The answers are made after the sends: watch RSS for a while, its peak is what counts.
        peak = rss_kib(hostile_broker)
        watch_until = time.monotonic() + 3
        while time.monotonic() < watch_until:
            peak = max(peak, rss_kib(hostile_broker))
            time.sleep(0.05)
        grown = peak - before
        # 1000 answers of ~480 KB would be ~480 MB; the queued-answer bound keeps it to a few answers.
        assert grown < 100_000, f"RSS grew by {grown} KiB after {sent} unread fetches"
        t0 = time.monotonic()
        lists_topics(hostile_broker)
        assert time.monotonic() - t0 < 3, "other clients are unaffected"
    finally:
        sock.close()
    lists_topics(hostile_broker)


def open_descriptors(broker) -> int:
    import os
    return len(os.listdir(f"/proc/{broker.process.pid}/fd"))


def test_fetch_descriptors_are_released_when_the_client_goes_away(hostile_broker):
    # Slices over 64 KiB go out with sendfile: each pending answer holds one descriptor per partition.
    request = filled_topic_fetch(hostile_broker, "fds", partitions=4, records=8_000, batch_size=200_000,
                                 partition_max_bytes=1 << 20)
    lists_topics(hostile_broker)
    time.sleep(0.5)
    baseline = open_descriptors(hostile_broker)
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", hostile_broker.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(0.5)
        try:
            for _ in range(30):
                sock.sendall(request)
        except socket.timeout:
            pass
        time.sleep(0.5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # reset with answers pending
    deadline = time.monotonic() + 10
    while open_descriptors(hostile_broker) > baseline + 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_descriptors(hostile_broker) <= baseline + 5, "descriptors of unsent fetch answers must be closed"
    lists_topics(hostile_broker)


def test_pipelined_produce_requests_are_appended_in_order(hostile_broker):
    # Requests run on the request-handler pool; a connection's requests must still be appended in the order they
    # came, or a producer with several requests in flight sees its records reordered.
    topic = unique_topic("order")
    create_topic(hostile_broker, topic, 1)
    producer = Producer({"bootstrap.servers": hostile_broker.bootstrap, "linger.ms": 0, "batch.num.messages": 1,
                         "max.in.flight.requests.per.connection": 50, "enable.idempotence": False, "acks": 1})
    for index in range(3000):
        producer.produce(topic, str(index).encode(), partition=0)
        producer.poll(0)
    producer.flush(60)
    consumer = Consumer({"bootstrap.servers": hostile_broker.bootstrap, "group.id": unique_topic("g"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.monotonic() + 60
    while len(values) < 3000 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(int(message.value()))
    consumer.close()
    assert values == list(range(3000))


def test_thousands_of_pipelined_requests_answered_at_once_are_answered_in_order(broker):
    # ApiVersions is answered on the event loop as soon as it starts; each answer frees a slot for the next parked
    # request. Thousands of them in one read once recursed (answer -> start next -> answer ...) until the broker's
    # stack overflowed (SIGSEGV, found by the request fuzzer under seed 13); one 64 KiB read holds ~2 000 of them.
    count = 8_000
    frames = b"".join(wire.encode_request("ApiVersions", 3, {"ClientSoftwareName": "p", "ClientSoftwareVersion": "1"},
                                          correlation_id=index) for index in range(count))
    host, port = broker.bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sender = threading.Thread(target=sock.sendall, args=(frames,))
        sender.start()
        sp = wire.specs()
        for index in range(count):
            payload = wire.read_frame(sock)
            assert payload is not None, f"closed after {index} answers; {broker.log()}"
            correlation, body = wire.decode_response(sp, 18, 3, payload)
            assert (correlation, body["ErrorCode"]) == (index, 0)
        sender.join()
    assert broker.process.poll() is None, broker.log()
    lists_topics(broker)
