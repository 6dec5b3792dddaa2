"""Consumer groups of the KIP-848 protocol (`group.protocol=consumer`) with librdkafka (confluent-kafka) and on the
wire: server-side assignment, incremental reconciliation (no partition owned by two members at any moment),
session timeouts, fencing and stale epochs, the uniform and range assignors, regex subscriptions, and groups
that survive a broker restart with their epochs."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import txn_support as txn
from conftest import BrokerProcess, free_port, unique_topic

FENCED_MEMBER_EPOCH = 110
UNRELEASED_INSTANCE_ID = 111
UNSUPPORTED_ASSIGNOR = 112
STALE_MEMBER_EPOCH = 113
UNKNOWN_MEMBER_ID = 25
GROUP_ID_NOT_FOUND = 69
INVALID_REGULAR_EXPRESSION = 128
INVALID_REQUEST = 42
COORDINATOR_LOAD_IN_PROGRESS = 14

# Short timings, so that a test sees several heartbeats and a session end within seconds.
HEARTBEAT_MS = 500
SESSION_MS = 4000
BROKER_ARGS = [
    "--override", f"group.consumer.heartbeat.interval.ms={HEARTBEAT_MS}",
    "--override", "group.consumer.min.heartbeat.interval.ms=100",
    "--override", f"group.consumer.session.timeout.ms={SESSION_MS}",
    "--override", "group.consumer.min.session.timeout.ms=1000",
    "--override", "group.initial.rebalance.delay.ms=300",
]


@pytest.fixture
def cp_broker(vltava_bin, tmp_path):
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=BROKER_ARGS).start()
    yield process
    process.kill9()


def create_topic(broker, name, partitions):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, partitions)])[name].result(20)


def produce(broker, topic, values, partitions):
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for index, value in enumerate(values):
        producer.produce(topic, value=value.encode(), partition=index % partitions)
    assert producer.flush(20) == 0


def new_consumer(broker, group, **extra):
    config = {"bootstrap.servers": broker.bootstrap, "group.id": group, "group.protocol": "consumer",
              "auto.offset.reset": "earliest", "enable.auto.commit": False}
    config.update(extra)
    return Consumer(config)


def partitions_of(consumer):
    return sorted(tp.partition for tp in consumer.assignment())


def poll_until(consumers, condition, timeout=30.0, sink=None):
    """Polls every consumer in turn until `condition()` holds; records go to `sink` (a list of (name, value))."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, consumer in consumers.items():
            message = consumer.poll(0.05)
            if message is not None and not message.error() and sink is not None:
                sink.append((name, message.value().decode(), message.partition()))
        if condition():
            return
    raise AssertionError(f"condition not reached in {timeout} s: " +
                         str({name: partitions_of(c) for name, c in consumers.items()}))


def describe(broker, group):
    """The group as ConsumerGroupDescribe shows it, on the wire (asked again while the coordinator loads)."""
    deadline = time.monotonic() + 20
    while True:
        body = txn.ask(broker, "ConsumerGroupDescribe", 0, {"GroupIds": [group], "IncludeAuthorizedOperations": False})
        described = body["Groups"][0]
        if described["ErrorCode"] != COORDINATOR_LOAD_IN_PROGRESS or time.monotonic() > deadline:
            return described
        time.sleep(0.1)


def test_three_members_share_six_partitions_and_consume_each_record_once(cp_broker, vltava_bin):
    topic, group = unique_topic("cp"), f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, topic, 6)
    consumers = {name: new_consumer(cp_broker, group) for name in ("a", "b", "c")}
    try:
        for consumer in consumers.values():
            consumer.subscribe([topic])
        poll_until(consumers, lambda: all(len(partitions_of(c)) == 2 for c in consumers.values()))
        assert sorted(p for c in consumers.values() for p in partitions_of(c)) == list(range(6))
        values = [f"v-{i}" for i in range(600)]
        produce(cp_broker, topic, values, 6)
        seen = []
        poll_until(consumers, lambda: len(seen) >= 600, sink=seen)
        # Nothing moved while consuming: each record once, from the member owning its partition.
        assert sorted(value for _, value, _ in seen) == sorted(values)
        for name, _, partition in seen:
            assert partition in partitions_of(consumers[name])
        described = describe(cp_broker, group)
        assert described["ErrorCode"] == 0
        assert described["GroupState"] == "Stable"
        assert described["AssignorName"] == "uniform"
        assert described["GroupEpoch"] == described["AssignmentEpoch"] >= 3
        assert len(described["Members"]) == 3
        for member in described["Members"]:
            assert member["MemberEpoch"] == described["GroupEpoch"]
            assert [tp["TopicName"] for tp in member["Assignment"]["TopicPartitions"]] == [topic]
            assert len(member["Assignment"]["TopicPartitions"][0]["Partitions"]) == 2
            assert member["Assignment"] == member["TargetAssignment"]
        # ListGroups v5 shows its type; DescribeGroups describes it in classic terms.
        listed = txn.ask(cp_broker, "ListGroups", 5, {"StatesFilter": [], "TypesFilter": ["consumer"]})
        assert {(g["GroupId"], g["GroupType"], g["GroupState"]) for g in listed["Groups"]} == {(group, "consumer", "Stable")}
        assert txn.ask(cp_broker, "ListGroups", 5, {"StatesFilter": [], "TypesFilter": ["classic"]})["Groups"] == []
        classic = txn.ask(cp_broker, "DescribeGroups", 5, {"Groups": [group], "IncludeAuthorizedOperations": False})
        assert classic["Groups"][0]["ProtocolType"] == "consumer" and len(classic["Groups"][0]["Members"]) == 3
        # The CLI shows the protocol, the epochs, and each member's assignment and target.
        shown = subprocess.run([str(vltava_bin), "groups", "describe", "--group", group, "-b", cp_broker.bootstrap],
                               capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        epoch = described["GroupEpoch"]
        assert (f"Group {group} is Stable with 3 member(s) (consumer protocol, assignor uniform, group epoch {epoch}, "
                f"assignment epoch {epoch})") in shown.stdout, shown.stdout
        member_lines = [line for line in shown.stdout.splitlines() if f"{topic}(" in line and "127.0.0.1" in line]
        assert len(member_lines) == 3, shown.stdout
        for line in member_lines:
            assert line.split()[-1] == line.split()[-2], "assignment and target agree once Stable"
        listed_cli = subprocess.run([str(vltava_bin), "groups", "list", "-b", cp_broker.bootstrap], capture_output=True,
                                    text=True, timeout=60)
        assert f"{group}\tStable\tconsumer\tconsumer" in listed_cli.stdout
    finally:
        for consumer in consumers.values():
            consumer.close()


def test_a_fourth_member_never_shares_a_partition_and_a_killed_member_is_replaced(cp_broker, tmp_path):
    topic, group = unique_topic("cp4"), f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, topic, 6)
    owners = {}
    violations = []
    history = []

    def listeners(name):
        def on_assign(consumer, partitions):
            for tp in partitions:
                if owners.get(tp.partition) not in (None, name):
                    violations.append((name, tp.partition, owners[tp.partition]))
                owners[tp.partition] = name
            history.append((time.monotonic(), name, "assign", sorted(tp.partition for tp in partitions)))

        def on_revoke(consumer, partitions):
            for tp in partitions:
                if owners.get(tp.partition) == name:
                    del owners[tp.partition]
            history.append((time.monotonic(), name, "revoke", sorted(tp.partition for tp in partitions)))

        return on_assign, on_revoke

    consumers = {}
    try:
        for name in ("a", "b", "c"):
            consumers[name] = new_consumer(cp_broker, group)
            on_assign, on_revoke = listeners(name)
            consumers[name].subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        poll_until(consumers, lambda: sorted(len(partitions_of(c)) for c in consumers.values()) == [2, 2, 2])
        before = {name: partitions_of(c) for name, c in consumers.items()}
        consumers["d"] = new_consumer(cp_broker, group)
        on_assign, on_revoke = listeners("d")
        consumers["d"].subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
        joined = time.monotonic()
        poll_until(consumers, lambda: sorted(len(partitions_of(c)) for c in consumers.values()) == [1, 1, 2, 2])
        assert not violations, f"partitions owned by two members at once: {violations}; {history}"
        # Sticky: the members that were there kept their partitions but the ones the new member took.
        for name in ("a", "b", "c"):
            assert set(partitions_of(consumers[name])) <= set(before[name])
        first_for_d = min(t for t, name, kind, parts in history if name == "d" and kind == "assign" and parts)
        assert first_for_d - joined < 10 * HEARTBEAT_MS / 1000, history

        # A member killed without leaving: its partitions move to the others after its session timeout.
        script = tmp_path / "member.py"
        script.write_text(
            "import sys, time\n"
            "from confluent_kafka import Consumer\n"
            f"c = Consumer({{'bootstrap.servers': '{cp_broker.bootstrap}', 'group.id': '{group}', "
            "'group.protocol': 'consumer', 'enable.auto.commit': False})\n"
            f"c.subscribe(['{topic}'])\n"
            "while True:\n"
            "    c.poll(0.1)\n"
            "    if c.assignment():\n"
            "        print('assigned', flush=True)\n")
        member = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        try:
            # The others are polled meanwhile: the new member's partitions come from their revocations.
            lines = []
            reader = threading.Thread(target=lambda: lines.append(member.stdout.readline().strip()), daemon=True)
            reader.start()
            poll_until(consumers, lambda: lines == ["assigned"]
                       and sorted(len(partitions_of(c)) for c in consumers.values()) in ([1, 1, 1, 1], [1, 1, 1, 2]))
            os.kill(member.pid, signal.SIGKILL)
            member.wait(10)
            killed = time.monotonic()
            poll_until(consumers, lambda: sorted(len(partitions_of(c)) for c in consumers.values()) == [1, 1, 2, 2],
                       timeout=SESSION_MS / 1000 + 20)
            assert time.monotonic() - killed >= SESSION_MS / 1000 - 1, "moved before the session timeout"
        finally:
            if member.poll() is None:
                member.kill()
        assert not violations, f"partitions owned by two members at once: {violations}; {history}"
        assert len(describe(cp_broker, group)["Members"]) == 4
    finally:
        for consumer in consumers.values():
            consumer.close()


def join(broker, group, member, topics=("t",), epoch=0, assignor=None, regex=None, instance=None, version=1):
    return txn.ask(broker, "ConsumerGroupHeartbeat", version, {
        "GroupId": group, "MemberId": member, "MemberEpoch": epoch, "InstanceId": instance, "RackId": None,
        "RebalanceTimeoutMs": 30_000, "SubscribedTopicNames": list(topics) if regex is None else None,
        "SubscribedTopicRegex": regex, "ServerAssignor": assignor, "TopicPartitions": []})


def heartbeat(broker, group, member, epoch, owned=None):
    return txn.ask(broker, "ConsumerGroupHeartbeat", 1, {
        "GroupId": group, "MemberId": member, "MemberEpoch": epoch, "InstanceId": None, "RackId": None,
        "RebalanceTimeoutMs": -1, "SubscribedTopicNames": None, "SubscribedTopicRegex": None, "ServerAssignor": None,
        "TopicPartitions": owned})


def test_epochs_fencing_and_request_errors_on_the_wire(cp_broker):
    topic, group = unique_topic("cpw"), f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, topic, 2)
    joined = join(cp_broker, group, "member-1", [topic])
    assert joined["ErrorCode"] == 0 and joined["MemberId"] == "member-1", joined
    epoch = joined["MemberEpoch"]
    assert joined["HeartbeatIntervalMs"] == HEARTBEAT_MS
    assert sorted(joined["Assignment"]["TopicPartitions"][0]["Partitions"]) == [0, 1]
    # An epoch ahead of the coordinator's: fenced.
    assert heartbeat(cp_broker, group, "member-1", epoch + 1)["ErrorCode"] == FENCED_MEMBER_EPOCH
    assert heartbeat(cp_broker, group, "nobody", 3)["ErrorCode"] == UNKNOWN_MEMBER_ID
    # Offsets: the member's epoch or nothing.
    commit = lambda member_epoch: txn.ask(cp_broker, "OffsetCommit", 9, {
        "GroupId": group, "GenerationIdOrMemberEpoch": member_epoch, "MemberId": "member-1", "GroupInstanceId": None,
        "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 5, "CommittedLeaderEpoch": -1,
                                                   "CommittedMetadata": ""}]}]})
    assert commit(epoch + 5)["Topics"][0]["Partitions"][0]["ErrorCode"] == STALE_MEMBER_EPOCH
    assert commit(epoch)["Topics"][0]["Partitions"][0]["ErrorCode"] == 0
    fetched = txn.ask(cp_broker, "OffsetFetch", 9, {"Groups": [{"GroupId": group, "MemberId": "member-1", "MemberEpoch": epoch + 1,
                                                                "Topics": None}], "RequireStable": False})
    assert fetched["Groups"][0]["ErrorCode"] == STALE_MEMBER_EPOCH
    fetched = txn.ask(cp_broker, "OffsetFetch", 9, {"Groups": [{"GroupId": group, "MemberId": "member-1", "MemberEpoch": epoch,
                                                                "Topics": None}], "RequireStable": False})
    assert fetched["Groups"][0]["Topics"][0]["Partitions"][0]["CommittedOffset"] == 5
    # Request checks.
    assert join(cp_broker, group, "member-2", [topic], assignor="sticky")["ErrorCode"] == UNSUPPORTED_ASSIGNOR
    assert join(cp_broker, group, "member-2", regex="(?=x)")["ErrorCode"] == INVALID_REGULAR_EXPRESSION
    assert join(cp_broker, group, "", [topic])["ErrorCode"] == INVALID_REQUEST, "v1 needs the client's member id"
    generated = join(cp_broker, f"{group}-v0", "", [topic], version=0)
    assert generated["ErrorCode"] == 0 and generated["MemberId"], "v0: the coordinator makes the member id"
    # Static members: the instance id is held until its member leaves with -2.
    static = join(cp_broker, f"{group}-s", "s-1", [topic], instance="i-1")
    assert static["ErrorCode"] == 0
    assert join(cp_broker, f"{group}-s", "s-2", [topic], instance="i-1")["ErrorCode"] == UNRELEASED_INSTANCE_ID
    left = txn.ask(cp_broker, "ConsumerGroupHeartbeat", 1, {
        "GroupId": f"{group}-s", "MemberId": "s-1", "MemberEpoch": -2, "InstanceId": "i-1", "RackId": None,
        "RebalanceTimeoutMs": -1, "SubscribedTopicNames": None, "SubscribedTopicRegex": None, "ServerAssignor": None,
        "TopicPartitions": None})
    assert left["ErrorCode"] == 0 and left["MemberEpoch"] == -2
    back = join(cp_broker, f"{group}-s", "s-2", [topic], instance="i-1")
    assert back["ErrorCode"] == 0
    assert sorted(back["Assignment"]["TopicPartitions"][0]["Partitions"]) == [0, 1], "it keeps its partitions"
    # A classic group with members refuses the consumer protocol.
    classic = Consumer({"bootstrap.servers": cp_broker.bootstrap, "group.id": f"{group}-classic", "auto.offset.reset": "earliest"})
    try:
        classic.subscribe([topic])
        deadline = time.monotonic() + 20
        while not classic.assignment() and time.monotonic() < deadline:
            classic.poll(0.1)
        assert join(cp_broker, f"{group}-classic", "x-1", [topic])["ErrorCode"] == GROUP_ID_NOT_FOUND
    finally:
        classic.close()


def test_a_member_removed_behind_its_back_rejoins_and_goes_on_consuming(cp_broker):
    topic, group = unique_topic("cpr"), f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, topic, 2)
    consumer = new_consumer(cp_broker, group)
    try:
        consumer.subscribe([topic])
        poll_until({"a": consumer}, lambda: len(partitions_of(consumer)) == 2)
        member = describe(cp_broker, group)["Members"][0]
        # Removed by a leave it did not send: its next heartbeat is refused (UNKNOWN_MEMBER_ID) and it rejoins.
        assert heartbeat(cp_broker, group, member["MemberId"], -1)["ErrorCode"] == 0
        assert describe(cp_broker, group)["Members"] == []
        poll_until({"a": consumer}, lambda: len(describe(cp_broker, group)["Members"]) == 1 and len(partitions_of(consumer)) == 2)
        produce(cp_broker, topic, [f"after-{i}" for i in range(20)], 2)
        seen = []
        poll_until({"a": consumer}, lambda: len(seen) >= 20, sink=seen)
        assert sorted(v for _, v, _ in seen) == sorted(f"after-{i}" for i in range(20))
    finally:
        consumer.close()


@pytest.mark.parametrize("assignor", ["uniform", "range"])
def test_both_assignors_give_valid_sticky_assignments(cp_broker, assignor):
    first, second = unique_topic("cpa"), unique_topic("cpb")
    group = f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, first, 4)
    create_topic(cp_broker, second, 4)
    consumers = {name: new_consumer(cp_broker, group, **{"group.remote.assignor": assignor}) for name in ("a", "b")}
    try:
        for consumer in consumers.values():
            consumer.subscribe([first, second])
        def assigned():
            return {name: sorted((tp.topic, tp.partition) for tp in c.assignment()) for name, c in consumers.items()}
        poll_until(consumers, lambda: sorted(len(v) for v in assigned().values()) == [4, 4])
        everything = sorted(p for v in assigned().values() for p in v)
        assert everything == sorted([(first, i) for i in range(4)] + [(second, i) for i in range(4)])
        if assignor == "range":
            # Range gives each member the same partition numbers of both topics.
            for parts in assigned().values():
                assert sorted(p for t, p in parts if t == first) == sorted(p for t, p in parts if t == second)
        before = assigned()
        consumers["c"] = new_consumer(cp_broker, group, **{"group.remote.assignor": assignor})
        consumers["c"].subscribe([first, second])
        # Uniform: 3/3/2 over both topics; range: each topic's four partitions 2/1/1, so 4/2/2.
        want = [2, 3, 3] if assignor == "uniform" else [2, 2, 4]
        poll_until(consumers, lambda: sorted(len(v) for v in assigned().values()) == want
                   and sorted(p for v in assigned().values() for p in v) == everything)
        assert describe(cp_broker, group)["AssignorName"] == assignor
        if assignor == "uniform":
            for name in ("a", "b"):
                assert set(assigned()[name]) <= set(before[name]), "uniform is sticky"
    finally:
        for consumer in consumers.values():
            consumer.close()


def test_a_regex_subscription_picks_up_a_topic_created_later(cp_broker):
    prefix = f"rx{uuid.uuid4().hex[:6]}"
    create_topic(cp_broker, f"{prefix}-first", 1)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = new_consumer(cp_broker, group)
    try:
        consumer.subscribe([f"^{prefix}-.*"])
        poll_until({"a": consumer}, lambda: len(consumer.assignment()) == 1)
        create_topic(cp_broker, f"{prefix}-later", 2)
        create_topic(cp_broker, f"x{prefix}-other", 1)
        produce(cp_broker, f"{prefix}-later", [f"late-{i}" for i in range(10)], 2)
        seen = []
        poll_until({"a": consumer}, lambda: len(seen) >= 10, sink=seen)
        assert sorted(tp.topic for tp in consumer.assignment()) == [f"{prefix}-first", f"{prefix}-later", f"{prefix}-later"]
        member = describe(cp_broker, group)["Members"][0]
        # librdkafka sends the pattern as `(^pattern)`.
        assert f"{prefix}-.*" in member["SubscribedTopicRegex"]
    finally:
        consumer.close()


def test_commits_and_epochs_survive_a_broker_restart(cp_broker):
    topic, group = unique_topic("cps"), f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, topic, 3)
    produce(cp_broker, topic, [f"first-{i}" for i in range(90)], 3)
    consumer = new_consumer(cp_broker, group)
    seen = []
    try:
        consumer.subscribe([topic])
        while len(seen) < 60:
            message = consumer.poll(0.1)
            if message is not None and not message.error():
                seen.append(message.value().decode())
                consumer.commit(message=message, asynchronous=False)
        before = describe(cp_broker, group)
        member_id = before["Members"][0]["MemberId"]
        cp_broker.kill9()
        cp_broker.start()
        # The reloaded group has the same epochs and member; the consumer goes on without starting over.
        after = describe(cp_broker, group)
        assert (after["GroupEpoch"], after["AssignmentEpoch"]) == (before["GroupEpoch"], before["AssignmentEpoch"])
        assert [m["MemberId"] for m in after["Members"]] == [member_id]
        produce(cp_broker, topic, [f"second-{i}" for i in range(30)], 3)
        deadline = time.monotonic() + 40
        while len(seen) < 120 and time.monotonic() < deadline:
            message = consumer.poll(0.1)
            if message is not None and not message.error():
                seen.append(message.value().decode())
                consumer.commit(message=message, asynchronous=False)
        assert len(seen) == 120 and len(set(seen)) == 120, f"{len(seen)} records, {len(set(seen))} distinct"
        assert describe(cp_broker, group)["Members"][0]["MemberId"] == member_id, "the member was not replaced"
    finally:
        consumer.close()
    # A new member of the group resumes from the commits: nothing left to read.
    again = new_consumer(cp_broker, group)
    try:
        again.subscribe([topic])
        extra = []
        poll_until({"b": again}, lambda: len(partitions_of(again)) == 3, sink=extra)
        end = time.monotonic() + 2
        while time.monotonic() < end:
            message = again.poll(0.1)
            if message is not None and not message.error():
                extra.append(message.value())
        assert extra == []
    finally:
        again.close()


def test_consume_transform_produce_with_the_consumer_protocol(cp_broker):
    """send_offsets_to_transaction from a member of a consumer-protocol group: TxnOffsetCommit carries its member id
    and epoch, the offsets become visible when the transaction commits, and an aborted round leaves none behind."""
    source, sink = unique_topic("cpt-in"), unique_topic("cpt-out")
    group = f"g-{uuid.uuid4().hex[:8]}"
    create_topic(cp_broker, source, 2)
    create_topic(cp_broker, sink, 1)
    produce(cp_broker, source, [str(i) for i in range(20)], 2)
    consumer = new_consumer(cp_broker, group, **{"isolation.level": "read_committed"})
    producer = Producer({"bootstrap.servers": cp_broker.bootstrap, "transactional.id": f"tid-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(20)
    try:
        consumer.subscribe([source])
        assert txn.consume_transform_produce(consumer, producer, sink, 20, batch=5) == 1
        committed = consumer.committed([TopicPartition(source, 0), TopicPartition(source, 1)], timeout=20)
        assert {tp.partition: tp.offset for tp in committed} == {0: 10, 1: 10}
        output = txn.values(txn.read_partitions(cp_broker, sink, [0], "read_committed"))
        assert sorted(output) == sorted(b"x%d" % i for i in range(20)), "each input exactly once"
    finally:
        consumer.close()
    # Emptied, the group can be deleted (with its offsets), and is gone.
    admin = AdminClient({"bootstrap.servers": cp_broker.bootstrap})
    admin.delete_consumer_groups([group], request_timeout=20)[group].result(20)
    assert describe(cp_broker, group)["ErrorCode"] == GROUP_ID_NOT_FOUND


def test_the_consumer_protocol_can_be_switched_off(vltava_bin, tmp_path):
    """`group.coordinator.rebalance.protocols=classic`, as in Kafka: ConsumerGroupHeartbeat and ConsumerGroupDescribe
    are neither advertised nor served; classic groups go on as before."""
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=["--override", "group.coordinator.rebalance.protocols=classic"]).start()
    try:
        versions = txn.ask(broker, "ApiVersions", 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
        keys = {entry["ApiKey"] for entry in versions["ApiKeys"]}
        assert 11 in keys and 68 not in keys and 69 not in keys, sorted(keys)
        UNSUPPORTED_VERSION = 35
        assert join(broker, "g-off", "m-1")["ErrorCode"] == UNSUPPORTED_VERSION
        described = broker_describe_configs(broker, "group.coordinator.rebalance.protocols")
        assert described == "classic"
    finally:
        broker.kill9()


def broker_describe_configs(broker, name):
    answer = txn.ask(broker, "DescribeConfigs", 4, {
        "Resources": [{"ResourceType": 4, "ResourceName": "1", "ConfigurationKeys": [name]}],
        "IncludeSynonyms": False, "IncludeDocumentation": False})
    configs = answer["Results"][0]["Configs"]
    return configs[0]["Value"] if configs else None
