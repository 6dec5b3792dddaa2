"""Client quotas (issue 11): AlterClientQuotas and DescribeClientQuotas from the Java Admin and on the wire (filters,
refusals, validate-only, persistence across kill -9), and real clients throttled to their `producer_byte_rate` and
`consumer_byte_rate` (throttle time in the answers, the connection muted meanwhile) while others are not."""

import socket
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import BrokerProcess, free_port, unique_topic
from security_support import call

INVALID_REQUEST = 42
MB = 1_000_000


def alter(broker, entries, validate_only=False):
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
        return call(sock, "AlterClientQuotas", 1, {"Entries": entries, "ValidateOnly": validate_only})["Entries"]


def describe(broker, components, strict=False):
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
        return call(sock, "DescribeClientQuotas", 1, {"Components": components, "Strict": strict})


def entity(**names):
    return [{"EntityType": kind.replace("_", "-"), "EntityName": name} for kind, name in names.items()]


def op(key, value=0.0, remove=False):
    return {"Key": key, "Value": float(value), "Remove": remove}


def described(answer):
    return {tuple((e["EntityType"], e["EntityName"]) for e in entry["Entity"]): {v["Key"]: v["Value"] for v in entry["Values"]}
            for entry in answer["Entries"]}


@pytest.fixture
def quota_broker(vltava_bin, tmp_path):
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port()).start()
    yield process
    process.kill9()


def test_alter_describe_and_keep_quotas(quota_broker):
    answers = alter(quota_broker, [
        {"Entity": entity(client_id="limited"), "Ops": [op("producer_byte_rate", MB), op("consumer_byte_rate", 2 * MB)]},
        {"Entity": entity(user=None), "Ops": [op("request_percentage", 200)]},
        {"Entity": entity(user="alice", client_id=None), "Ops": [op("producer_byte_rate", 5 * MB)]},
        {"Entity": [{"EntityType": "ip", "EntityName": "10.0.0.7"}], "Ops": [op("connection_creation_rate", 20)]},
    ])
    assert [a["ErrorCode"] for a in answers] == [0, 0, 0, 0]
    everything = described(describe(quota_broker, []))
    assert everything == {
        (("client-id", "limited"),): {"producer_byte_rate": MB, "consumer_byte_rate": 2 * MB},
        (("user", None),): {"request_percentage": 200},
        (("client-id", None), ("user", "alice")): {"producer_byte_rate": 5 * MB},
        (("ip", "10.0.0.7"),): {"connection_creation_rate": 20},
    }
    exact = described(describe(quota_broker, [{"EntityType": "client-id", "MatchType": 0, "Match": "limited"}]))
    assert list(exact) == [(("client-id", "limited"),)]
    defaults = described(describe(quota_broker, [{"EntityType": "client-id", "MatchType": 1, "Match": None}]))
    assert list(defaults) == [(("client-id", None), ("user", "alice"))]
    strict = described(describe(quota_broker, [{"EntityType": "user", "MatchType": 2, "Match": None}], strict=True))
    assert list(strict) == [(("user", None),)]
    loose = described(describe(quota_broker, [{"EntityType": "user", "MatchType": 2, "Match": None}]))
    assert len(loose) == 2
    duplicate = describe(quota_broker, [{"EntityType": "user", "MatchType": 2, "Match": None}] * 2)
    assert duplicate["ErrorCode"] == INVALID_REQUEST

    # Validate-only changes nothing; removing a value forgets it; an entity without values is gone.
    assert alter(quota_broker, [{"Entity": entity(client_id="limited"), "Ops": [op("producer_byte_rate", 7)]}],
                 validate_only=True)[0]["ErrorCode"] == 0
    answers = alter(quota_broker, [
        {"Entity": entity(client_id="limited"), "Ops": [op("consumer_byte_rate", remove=True)]},
        {"Entity": [{"EntityType": "ip", "EntityName": "10.0.0.7"}], "Ops": [op("connection_creation_rate", remove=True)]},
    ])
    assert [a["ErrorCode"] for a in answers] == [0, 0]
    after = described(describe(quota_broker, []))
    assert after[(("client-id", "limited"),)] == {"producer_byte_rate": MB}
    assert (("ip", "10.0.0.7"),) not in after

    quota_broker.kill9()
    quota_broker.start()
    assert described(describe(quota_broker, [])) == after


@pytest.mark.parametrize("entry,fragment", [
    ({"Entity": entity(client_id="c"), "Ops": [op("producer_byte_rate", 1.5)]}, "whole number"),
    ({"Entity": entity(client_id="c"), "Ops": [op("producer_byte_rate", -1)]}, "greater than 0"),
    ({"Entity": entity(client_id="c"), "Ops": [op("request_percentage", 0)]}, "greater than 0"),
    ({"Entity": entity(client_id="c"), "Ops": [op("bytes_per_fortnight", 1)]}, "Invalid configuration key"),
    ({"Entity": entity(client_id="c"), "Ops": [op("connection_creation_rate", 5)]}, "Invalid configuration key"),
    ({"Entity": [{"EntityType": "ip", "EntityName": "10.0.0.1"}], "Ops": [op("producer_byte_rate", 5)]}, "Invalid configuration key"),
    ({"Entity": [{"EntityType": "ip", "EntityName": "not-an-ip"}], "Ops": [op("connection_creation_rate", 5)]}, "not a valid IP"),
    ({"Entity": [{"EntityType": "ip", "EntityName": None}, {"EntityType": "user", "EntityName": "u"}],
      "Ops": [op("connection_creation_rate", 5)]}, "combination"),
    ({"Entity": [{"EntityType": "group", "EntityName": "g"}], "Ops": [op("producer_byte_rate", 5)]}, "Unknown client quota entity type"),
    ({"Entity": [], "Ops": [op("producer_byte_rate", 5)]}, "empty"),
    ({"Entity": entity(client_id="c") * 2, "Ops": [op("producer_byte_rate", 5)]}, "Duplicate entity type"),
    ({"Entity": entity(client_id="c"), "Ops": [op("producer_byte_rate", 5), op("producer_byte_rate", 6)]}, "Duplicate quota key"),
])
def test_invalid_alterations_are_refused_one_by_one(quota_broker, entry, fragment):
    good = {"Entity": entity(client_id="fine"), "Ops": [op("producer_byte_rate", MB)]}
    answers = alter(quota_broker, [entry, good])
    assert answers[0]["ErrorCode"] == INVALID_REQUEST and fragment in answers[0]["ErrorMessage"], answers[0]
    assert answers[1]["ErrorCode"] == 0
    assert (("client-id", "fine"),) in described(describe(quota_broker, []))


def test_the_java_admin_manages_quotas(quota_broker, java):
    facts = java.ok("SecurityChecks", "quotas", quota_broker.bootstrap, broker=quota_broker).facts
    assert facts["limited"] in ("{producer_byte_rate=2000000.0, consumer_byte_rate=3000000.0}",
                                "{consumer_byte_rate=3000000.0, producer_byte_rate=2000000.0}"), facts
    assert facts["default-user"] == "{request_percentage=150.0}"
    assert facts["all"] == "2" and facts["after-removal"] == "0"
    assert "whole number" in facts["invalid"]


def produce_for(bootstrap, topic, client_id, seconds, size=10_000):
    """Produces as fast as the broker lets `client_id` for `seconds`; returns (delivery times, throttle events)."""
    throttles = []
    delivered = []
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "acks": 1, "linger.ms": 5,
                         "batch.size": 200_000, "queue.buffering.max.kbytes": 4096,
                         "throttle_cb": lambda event: throttles.append(event.throttle_time)})
    payload = b"q" * size

    def on_delivery(error, _message):
        if error is None:
            delivered.append(time.monotonic())

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            producer.produce(topic, payload, on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.05)
        producer.poll(0)
    producer.flush(30)
    return delivered, throttles


def test_a_producer_over_its_byte_rate_is_throttled_to_it(quota_broker):
    topic = unique_topic("quota")
    admin = AdminClient({"bootstrap.servers": quota_broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
    assert alter(quota_broker, [{"Entity": entity(client_id="limited"), "Ops": [op("producer_byte_rate", MB)]}])[0]["ErrorCode"] == 0
    size = 10_000
    delivered, throttles = produce_for(quota_broker.bootstrap, topic, "limited", 24, size)
    assert throttles and max(throttles) > 0, "no answer carried a throttle time"
    # Kafka's rate is measured over quota.window.num windows (11 of 1 s), and a client starts with the window's
    # allowance (10 windows' worth at once, again whenever a burst's window expires): over T seconds a throttled
    # client sends the quota times T, plus at most that allowance.
    elapsed = delivered[-1] - delivered[0]
    sent = len(delivered) * size
    assert 0.9 * MB * elapsed <= sent <= 1.1 * MB * (elapsed + 10), \
        f"throttled producer sent {sent / MB:.1f} MB in {elapsed:.1f} s"
    free, free_throttles = produce_for(quota_broker.bootstrap, topic, "free", 5, size)
    free_rate = len(free) * size / (free[-1] - free[0])
    assert free_rate > 3 * MB, f"unlimited producer at {free_rate / MB:.2f} MB/s"
    assert not [t for t in free_throttles if t > 0]


def test_a_consumer_over_its_byte_rate_is_throttled(quota_broker):
    topic = unique_topic("quota-fetch")
    admin = AdminClient({"bootstrap.servers": quota_broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
    producer = Producer({"bootstrap.servers": quota_broker.bootstrap, "linger.ms": 20})
    size, count = 10_000, 3000
    for _ in range(count):
        producer.produce(topic, b"c" * size)
        producer.poll(0)
    assert producer.flush(60) == 0
    quota = 500_000
    assert alter(quota_broker, [{"Entity": entity(client_id="slow-reader"), "Ops": [op("consumer_byte_rate", quota)]}])[0]["ErrorCode"] == 0
    throttles = []
    consumer = Consumer({"bootstrap.servers": quota_broker.bootstrap, "client.id": "slow-reader", "group.id": f"g-{topic}",
                         "auto.offset.reset": "earliest", "throttle_cb": lambda event: throttles.append(event.throttle_time)})
    consumer.subscribe([topic])
    times = []
    end = time.monotonic() + 20
    while time.monotonic() < end and len(times) < count:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            times.append(time.monotonic())
    consumer.close()
    assert throttles and max(throttles) > 0, "no fetch answer carried a throttle time"
    # As for producers: the quota times the time taken, plus at most the window's allowance (librdkafka fetches
    # ahead of the application, so the bytes, not the times the application saw them, are what counts).
    received = len(times) * size
    assert received <= 1.1 * quota * (20 + 10), f"throttled consumer read {received / MB:.1f} MB in 20 s"
    assert len(times) < count, "the consumer read everything: it was not throttled"


def requests_in(broker, client_id, seconds):
    """How many Metadata requests one connection gets answered in `seconds`, and the longest throttle time an answer
    carried."""
    from security_support import wire

    done, longest = 0, 0
    sp = wire.specs()
    with socket.create_connection(("127.0.0.1", broker.port), timeout=15) as sock:
        request = wire.encode_request("Metadata", 12, {"Topics": [], "AllowAutoTopicCreation": False},
                                      correlation_id=1, client_id=client_id)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sock.sendall(request)
            payload = wire.read_frame(sock)
            assert payload is not None
            _, body = wire.decode_response(sp, sp.request("Metadata").api_key, 12, payload)
            longest = max(longest, body["ThrottleTimeMs"])
            done += 1
    return done, longest


def test_request_percentage_limits_handler_time(quota_broker):
    """Over its request_percentage a client waits (its connection muted), and the answers say for how long, as
    Kafka's answers do (KIP-219)."""
    assert alter(quota_broker, [{"Entity": entity(client_id="busy"), "Ops": [op("request_percentage", 0.1)]}])[0]["ErrorCode"] == 0
    unlimited, unlimited_throttle = requests_in(quota_broker, "idle", 3)
    limited, limited_throttle = requests_in(quota_broker, "busy", 3)
    assert 0 < limited < unlimited / 3, (limited, unlimited)
    assert unlimited_throttle == 0
    assert limited_throttle > 0


def test_connection_creation_rate_per_ip(quota_broker):
    from security_support import wire

    assert alter(quota_broker, [{"Entity": [{"EntityType": "ip", "EntityName": None}],
                                 "Ops": [op("connection_creation_rate", 5)]}])[0]["ErrorCode"] == 0

    def served():
        try:
            with socket.create_connection(("127.0.0.1", quota_broker.port), timeout=2) as sock:
                sock.sendall(wire.encode_request("ApiVersions", 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"},
                                                 correlation_id=1))
                return wire.read_frame(sock) is not None
        except OSError:
            return False

    # Kafka's rate lets the first ten windows' worth (50) through at once; beyond that, connections are held
    # unanswered and closed (each refusal here waits 2 s, in which the rate lets about ten more through).
    results = [served() for _ in range(70)]
    assert all(results[:45]), results.index(False)
    assert results.count(False) >= 5, results.count(False)
    assert alter(quota_broker, [{"Entity": [{"EntityType": "ip", "EntityName": None}],
                                 "Ops": [op("connection_creation_rate", remove=True)]}])[0]["ErrorCode"] == 0
    assert served()


THROTTLING_QUOTA_EXCEEDED = 89


def creatable(name, partitions):
    return {"Name": name, "NumPartitions": partitions, "ReplicationFactor": -1, "Assignments": [], "Configs": []}


def test_controller_mutation_rate(quota_broker):
    """KIP-599: CreateTopics, CreatePartitions and DeleteTopics take one token per partition from a bucket refilled at
    the quota's rate (burst: the quota times the 11 s window). Strict versions refuse a topic while the bucket is in
    debt and say how long to wait; older versions go through and are throttled afterwards; validate-only is free."""
    assert [a["ErrorCode"] for a in alter(quota_broker, [
        {"Entity": entity(client_id="vltava-fuzz"), "Ops": [op("controller_mutation_rate", 2)]}])] == [0]
    prefix = unique_topic("mutations")
    with socket.create_connection(("127.0.0.1", quota_broker.port), timeout=10) as sock:
        # 22 tokens: 20 partitions fit, 10 more are let through into debt (-8), then nothing until it is paid back.
        checked = call(sock, "CreateTopics", 7, {"Topics": [creatable(f"{prefix}-v", 50)], "timeoutMs": 10000,
                                                 "validateOnly": True})
        assert checked["Topics"][0]["ErrorCode"] == 0 and checked["Topics"][0]["TopicId"] == b"\0" * 16, "not validate-only"
        answer = call(sock, "CreateTopics", 7, {"Topics": [creatable(f"{prefix}-a", 20), creatable(f"{prefix}-b", 10),
                                                           creatable(f"{prefix}-c", 1)], "timeoutMs": 10000})
        codes = {topic["Name"]: topic["ErrorCode"] for topic in answer["Topics"]}
        assert codes == {f"{prefix}-a": 0, f"{prefix}-b": 0, f"{prefix}-c": THROTTLING_QUOTA_EXCEEDED}, answer
        refused = next(topic for topic in answer["Topics"] if topic["Name"] == f"{prefix}-c")
        assert refused["ErrorMessage"] == "The throttling quota has been exceeded."
        # 8 tokens of debt at 2 per second: about 4 s.
        assert 3000 <= answer["ThrottleTimeMs"] <= 4100, answer["ThrottleTimeMs"]
        # The connection is muted for the throttle: the next request is read once it has passed.
        started = time.monotonic()
        call(sock, "DescribeClientQuotas", 1, {"Components": [], "Strict": False})
        assert time.monotonic() - started >= 2.5
        time.sleep(1)
        deleted = call(sock, "DeleteTopics", 6, {"Topics": [{"Name": f"{prefix}-b", "TopicId": b"\0" * 16}], "TimeoutMs": 10000})
        assert deleted["Responses"][0]["ErrorCode"] == 0
        more = call(sock, "CreatePartitions", 3, {"Topics": [{"Name": f"{prefix}-a", "Count": 40, "Assignments": None}],
                                                  "TimeoutMs": 10000, "ValidateOnly": False})
        assert more["Results"][0]["ErrorCode"] == THROTTLING_QUOTA_EXCEEDED and more["ThrottleTimeMs"] > 0, more
    time.sleep(6)
    with socket.create_connection(("127.0.0.1", quota_broker.port), timeout=10) as sock:
        # A permissive (old) version is never refused: the debt it makes is its throttle.
        old = call(sock, "CreateTopics", 5, {"Topics": [creatable(f"{prefix}-d", 40)], "timeoutMs": 10000})
        assert old["Topics"][0]["ErrorCode"] == 0 and old["ThrottleTimeMs"] > 1000, old
    # Another client id has no quota.
    admin = AdminClient({"bootstrap.servers": quota_broker.bootstrap, "client.id": "unlimited"})
    admin.create_topics([NewTopic(f"{prefix}-e", 100)])[f"{prefix}-e"].result(20)
