"""Request-level fuzzing of the real broker (scripts/fuzz_requests.py): a bounded run with a fixed seed, and one
focused test per distinct crash, hang or memory blow-up the fuzzer found, each sending the request(s) that cause
it. A broker must answer hostile input with an error or a closed connection, and keep serving. The comments name
the builds the findings were made on: f59dec9 (the broker when the fuzzer was written) and the debug build of
8843450 (with the first round of fixes)."""

import os
import socket
import sys
import time

import pytest

from conftest import REPO_ROOT, BrokerProcess, free_port

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import fuzz_requests as fuzz  # noqa: E402

FUZZ_SEED = 13      # kills the broker of f59dec9 within a minute (a group record with a string over 32767 bytes)
FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "60"))
RSS_LIMIT_MB = 1024


def start_broker(vltava_bin, tmp_path) -> BrokerProcess:
    return BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=fuzz.BROKER_ARGS).start()


# Seed 13 once killed the broker with SIGSEGV after ~450 requests: thousands of pipelined ApiVersions answered at
# once recursed (answer, start the next parked request, answer, ...) until the event loop's stack overflowed. A core
# dump showed it; fixed in the connection handler, with its own test in test_hostile_clients.py.
def test_broker_survives_a_minute_of_request_fuzzing(vltava_bin, tmp_path):
    broker = start_broker(vltava_bin, tmp_path)
    triage_dir = tmp_path / "triage"

    def fresh_broker(name):
        return fuzz.ManagedBroker(vltava_bin, triage_dir, name=name).start()

    try:
        target = fuzz.BrokerTarget(broker.bootstrap, log_path=broker.log_path, popen=broker.process)
        report = fuzz.run_fuzz(target, seed=FUZZ_SEED, duration=FUZZ_SECONDS, rss_limit_mb=RSS_LIMIT_MB,
                               out_dir=tmp_path / "fuzz", fresh_broker=fresh_broker, triage_seconds=120,
                               log=lambda line: None)
    finally:
        broker.kill9()
    if report.failures:
        failure = report.failures[0]
        raise AssertionError(
            "the broker failed under request fuzzing (seed %d):\n%s\n\nbroker log:\n%s\n\n%s" % (
                FUZZ_SEED, failure.summary(), fuzz.log_excerpt(failure.log_tail), report.text()))
    assert report.requests > 0, report.text()


# ---- focused reproducers ---------------------------------------------------------------------------------------


def send(broker, data: bytes, timeout: float = 10.0):
    """Sends one frame, returns the outcome: answered, closed or timeout."""
    status, _ = fuzz.send_frame(broker.bootstrap, data, timeout=timeout)
    return status


def crash_report(broker) -> str:
    """The broker's crash message and the crashed thread's first frames in Sources/, from its log."""
    message, location = fuzz.crash_summary(broker.log_path.read_text(errors="replace"))
    return f"{message}\n  at {location}" if message else broker.log()[-1500:]


def assert_still_serves(broker, what: str):
    time.sleep(0.3)
    target = fuzz.BrokerTarget(broker.bootstrap, log_path=broker.log_path, popen=broker.process)
    fuzz.wait_for_crash_report(target)      # a crashing broker is alive while its backtrace is written
    assert broker.process.poll() is None, f"{what} killed the broker: {crash_report(broker)}"
    error = fuzz.client_lists_topics(fuzz.make_admin(broker.bootstrap), timeout=10)
    assert error is None, f"after {what} a real client cannot list topics: {error}\n{crash_report(broker)}"
    rss = fuzz.rss_kib(broker.process.pid)
    assert rss is not None and rss < RSS_LIMIT_MB * 1024, f"after {what} the broker uses {rss} KiB"


def exchange(sock, api: str, version: int, values: dict, client_id="fuzz-test"):
    """Sends one request on an open connection; returns the decoded answer, or None if the broker closed the
    connection (an acceptable way to refuse)."""
    sp = fuzz.specs()
    sock.sendall(fuzz.encode_request(api, version, values, client_id=client_id, correlation_id=7))
    try:
        payload = fuzz.read_frame(sock)
    except OSError:
        return None
    if payload is None:
        return None
    return fuzz.decode_response(sp, sp.request(api).api_key, version, payload)[1]


def offset_commit(group="fuzz-group", topic="fuzz-topic", metadata="", retention=-1):
    return {"GroupId": group, "GenerationIdOrMemberEpoch": -1, "MemberId": "", "RetentionTimeMs": retention,
            "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1,
                                                       "CommittedMetadata": metadata}]}]}


# Finding: OffsetCommit v2-v4 adds RetentionTimeMs to the commit time without overflow check
# (Swift runtime failure: arithmetic overflow in Broker.handleOffsetCommit, GroupHandlers.swift:124 at f59dec9).
def test_offset_commit_retention_time_overflow_does_not_kill_the_broker(broker):
    for version in (2, 3, 4):
        send(broker, fuzz.encode_request("OffsetCommit", version, offset_commit(retention=2 ** 63 - 1)))
        assert_still_serves(broker, f"OffsetCommit v{version} with RetentionTimeMs 2^63-1")


# Finding: a string longer than 32767 bytes (possible in the compact strings of flexible versions) cannot be
# written into the int16-length strings of the __consumer_offsets record (OffsetCommitKey/Value); the write is a
# `try!` (OffsetsTopic.encode, OffsetsTopic.swift:78, called from offsetCommitRecord at f59dec9).
def test_offset_commit_long_group_id_does_not_kill_the_broker(broker):
    send(broker, fuzz.encode_request("OffsetCommit", 8, offset_commit(group="g" * 32768)))
    assert_still_serves(broker, "OffsetCommit v8 with a 32768-byte group id")


def test_offset_commit_long_topic_name_does_not_kill_the_broker(broker):
    send(broker, fuzz.encode_request("OffsetCommit", 9, offset_commit(topic="t" * 65536)))
    assert_still_serves(broker, "OffsetCommit v9 with a 65536-byte topic name")


def join_group(broker, group="fuzz-group", client_id="fuzz-test", instance=None, protocol_type="consumer",
               protocol_name="range", sync=True):
    """A member joins (again with its member id when the broker requires one) and, as leader, syncs, which
    stores the group in __consumer_offsets. Returns the open connection."""
    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    join = {"GroupId": group, "SessionTimeoutMs": 6000, "RebalanceTimeoutMs": 1000, "MemberId": "",
            "GroupInstanceId": instance, "ProtocolType": protocol_type,
            "Protocols": [{"Name": protocol_name, "Metadata": b""}]}
    answer = exchange(sock, "JoinGroup", 6, join, client_id)
    if answer is not None and answer["ErrorCode"] == 79:        # MEMBER_ID_REQUIRED
        join["MemberId"] = answer["MemberId"]
        answer = exchange(sock, "JoinGroup", 6, join, client_id)
    if sync and answer is not None and answer["ErrorCode"] == 0:
        exchange(sock, "SyncGroup", 4, {
            "GroupId": group, "GenerationId": answer["GenerationId"], "MemberId": answer["MemberId"],
            "GroupInstanceId": instance, "Assignments": [{"MemberId": answer["MemberId"], "Assignment": b""}]},
            client_id)
    return sock


# Finding: the same `try!` for the group metadata record (GroupMetadataKey/Value, OffsetsTopic.swift:78 called
# from groupMetadataRecord): any of its strings can exceed 32767 bytes — group id, group instance id, protocol
# type and name from JoinGroup v6+, and the member id, which is the client id (up to 32767 bytes) plus "-" and a
# UUID. The leader's SyncGroup stores the group and kills the broker.
@pytest.mark.parametrize("field", ["group id", "client id", "group instance id", "protocol type", "protocol name"])
def test_group_member_with_long_field_does_not_kill_the_broker(group_broker, field):
    long = "x" * 32768
    options = {"group id": {"group": long}, "client id": {"client_id": "c" * 32767},
               "group instance id": {"instance": long}, "protocol type": {"protocol_type": long},
               "protocol name": {"protocol_name": long}}[field]
    with join_group(group_broker, **options):
        assert_still_serves(group_broker, f"JoinGroup v6 and SyncGroup v4 with a long {field}")


# Finding: the same record is written from the coordinator's timer when the member's session expires, with no
# request in flight: a JoinGroup v6 with a 32768-byte group id that never syncs kills the broker seconds later.
def test_expiring_member_of_group_with_long_id_does_not_kill_the_broker(group_broker):
    with join_group(group_broker, group="g" * 32768, sync=False):
        time.sleep(9)       # session timeout 6 s, then the coordinator's 100 ms timer
        assert_still_serves(group_broker, "the session expiry of a member of a group with a 32768-byte id")


def create_topic_request(name: str, partitions: int, version: int = 7) -> bytes:
    return fuzz.encode_request("CreateTopics", version, {
        "Topics": [{"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1}], "timeoutMs": 30000})


def create_topics_answer(broker, name: str, partitions: int) -> dict:
    status, payload = fuzz.send_frame(broker.bootstrap, create_topic_request(name, partitions), timeout=120)
    assert status == "answered", f"CreateTopics of {partitions} partitions: {status}\n{crash_report(broker)}"
    return fuzz.decode_response(fuzz.specs(), 19, 7, payload)[1]["Topics"][0]


ALL_TOPICS_METADATA = fuzz.encode_request("Metadata", 12, {"Topics": None, "AllowAutoTopicCreation": False})


# Finding: CreateTopics with NumPartitions 2147483647 was not refused; the broker stored the topic with that
# count, opened partition folders until it ran out of file descriptors (errno 24 after ~6660), and the next
# Metadata request aborted it: "Fatal error: failed to allocate 103079215088 bytes of memory" — an array of 2^31-1
# partition entries (MetadataHandler.swift:52, `(0..<topic.partitionCount).map`, at f59dec9).
def test_create_topics_with_int32_max_partitions_is_refused_cleanly(broker):
    send(broker, create_topic_request("huge", 2 ** 31 - 1), timeout=120)
    send(broker, ALL_TOPICS_METADATA, timeout=60)
    assert_still_serves(broker, "CreateTopics v7 with NumPartitions 2147483647, then Metadata")


# Finding: the same through CreatePartitions with Count 2147483647 on an existing topic (LogManager.addPartitions).
def test_create_partitions_to_int32_max_is_refused_cleanly(broker):
    create_topics_answer(broker, "grown", 1)
    send(broker, fuzz.encode_request("CreatePartitions", 3, {
        "Topics": [{"Name": "grown", "Count": 2 ** 31 - 1, "Assignments": None}], "TimeoutMs": 30000,
        "ValidateOnly": False}), timeout=120)
    send(broker, ALL_TOPICS_METADATA, timeout=60)
    assert_still_serves(broker, "CreatePartitions v3 to 2147483647 partitions, then Metadata")


# Finding (still in the build of 8843450): a CreateTopics within the 10 000-partition cap exhausts the file
# descriptors (3 open files per partition, `ulimit -n` 20000 here): the answer is KAFKA_STORAGE_ERROR "open(...
# big-6661/00000000000000000000.index) failed: errno 24", yet the topic stays with its 10 000 partitions, every
# later topic fails the same way, and the broker cannot start again on its data ("Error: open(...) failed: errno
# 24", exit 1). It must refuse what it cannot hold, or undo a creation that failed half-way.
def test_create_topics_with_ten_thousand_partitions_leaves_a_working_broker(broker):
    create_topics_answer(broker, "wide", 10_000)
    assert_still_serves(broker, "CreateTopics v7 with 10000 partitions")
    after = create_topics_answer(broker, "small-after-wide", 1)
    assert after["ErrorCode"] == 0, f"a 1-partition topic after the 10000-partition one: {after}"
    broker.stop()
    try:
        broker.start(timeout=120)
    except RuntimeError as error:
        raise AssertionError(f"the broker does not start again on its data: {error}")
    assert_still_serves(broker, "a restart after CreateTopics with 10000 partitions")


# Finding (both builds): a client that pipelines small requests with large answers and never reads them makes the
# broker hold the answers in memory without bound. With 100 groups of 10 000-byte ids (a 1 MB ListGroups answer),
# 200 000 ListGroups v5 requests in one write took the broker from ~40 MiB to over 3.5 GiB of RSS; it went on
# answering the requests it had already read for half a minute after the client hung up, and meanwhile new
# clients got "Broker transport failure". Kafka reads the next request of a connection only once the previous
# answer is sent, so a connection costs one request and one answer.
def test_client_that_never_reads_its_answers_does_not_blow_up_the_broker(broker):
    create_topics_answer(broker, "unread", 1)
    with socket.create_connection(("127.0.0.1", broker.port), timeout=30) as sock:
        for i in range(100):
            exchange(sock, "OffsetCommit", 8, offset_commit(group=f"group-{i:03d}-" + "x" * 10_000, topic="unread"))
        groups = exchange(sock, "ListGroups", 5, {})["Groups"]
        assert len(groups) == 100, f"{len(groups)} groups listed"
    monitor = fuzz.RssMonitor()
    monitor.watch(broker.process.pid)
    monitor.start()
    try:
        request = fuzz.encode_request("ListGroups", 5, {}, correlation_id=9)
        with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
            try:
                sock.sendall(request * 200_000)
            except socket.timeout:
                pass                        # the broker stopped reading: fine, as long as it stops piling up
            time.sleep(5)
        time.sleep(25)
        assert monitor.peak < RSS_LIMIT_MB * 1024, (
            f"a client that never read its ListGroups answers took the broker to {monitor.peak // 1024} MiB")
    finally:
        monitor.stopping.set()
    assert_still_serves(broker, "a client that pipelined 200000 ListGroups and never read the answers")


# Finding (both builds): a group member keeps its protocol metadata as a view into the JoinGroup request's frame,
# so the whole frame stays in memory for as long as the member lives (its session timeout, up to
# group.max.session.timeout.ms). 60 members, each with 10 bytes of metadata in a JoinGroup v3 followed by 8 MiB
# of trailing bytes (which the broker ignores, as Kafka does), took RSS from ~35 to ~520 MiB until the sessions
# expired. Bytes kept from a request must be copied out of it.
def test_group_member_does_not_pin_its_whole_join_request_in_memory(group_broker):
    sp = fuzz.specs()
    before = fuzz.rss_kib(group_broker.process.pid)
    sockets = []
    try:
        for i in range(60):
            body = fuzz.encode_body(sp, "JoinGroup", 3, {
                "GroupId": f"pinned-{i}", "SessionTimeoutMs": 30000, "RebalanceTimeoutMs": 1000, "MemberId": "",
                "ProtocolType": "consumer", "Protocols": [{"Name": "range", "Metadata": b"m" * 10}]})
            data = fuzz.frame(fuzz.encode_header(sp, 11, 3, 7) + body + b"\0" * (8 * fuzz.MIB))
            sock = socket.create_connection(("127.0.0.1", group_broker.port), timeout=30)
            sockets.append(sock)
            sock.sendall(data)
            fuzz.read_frame(sock)
        time.sleep(1)
        grown = (fuzz.rss_kib(group_broker.process.pid) - before) // 1024
        assert grown < 100, f"60 group members with 10 bytes of metadata each hold {grown} MiB"
    finally:
        for sock in sockets:
            sock.close()
    assert_still_serves(group_broker, "60 JoinGroup v3 requests with 8 MiB of trailing bytes")
