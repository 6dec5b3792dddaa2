"""Acknowledged writes survive restarts, clean and kill -9; a torn tail is cut off at restart."""

import threading
import time

from conftest import unique_topic
from test_produce_consume import consume_confluent, create_topic


def produce_values(bootstrap, topic, values, **config):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2, **config})
    errors = []
    for value in values:
        producer.produce(topic, value=value, on_delivery=lambda err, msg: err and errors.append(err))
        producer.poll(0)
    assert producer.flush(60) == 0
    assert not errors, errors[:3]


def values_of(consumed):
    return [value for _, _, _, value, _ in consumed]


def test_clean_restart_keeps_every_record(broker):
    topic = unique_topic("restart")
    create_topic(broker.bootstrap, topic, partitions=2)
    values = [f"v{i}".encode() for i in range(20_000)]
    produce_values(broker.bootstrap, topic, values)
    assert broker.stop() == 0, broker.log()
    broker.start()
    consumed = consume_confluent(broker.bootstrap, topic, len(values), partitions=2)
    assert sorted(values_of(consumed)) == sorted(values)


def test_kill9_under_acks_all_loses_no_acknowledged_record(broker):
    from confluent_kafka import Producer

    topic = unique_topic("kill9")
    create_topic(broker.bootstrap, topic, partitions=3)
    acknowledged = []
    stop = threading.Event()

    def produce():
        producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 1,
                             "message.timeout.ms": 3000, "enable.idempotence": True})

        def delivered(err, msg):
            if err is None:
                acknowledged.append(msg.value())

        i = 0
        while not stop.is_set():
            try:
                producer.produce(topic, value=f"r{i}".encode(), on_delivery=delivered)
                i += 1
            except BufferError:
                pass
            producer.poll(0.0005 if i % 100 else 0.001)
        producer.flush(5)

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(2.0)
    broker.kill9()
    time.sleep(0.5)
    stop.set()
    thread.join(30)
    assert len(acknowledged) > 1000, f"only {len(acknowledged)} records acknowledged before the kill"
    broker.start()
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    present = set()
    deadline = time.monotonic() + 60
    idle = 0
    while time.monotonic() < deadline and idle < 5:
        messages = consumer.consume(num_messages=10000, timeout=1.0)
        idle = idle + 1 if not messages else 0
        for message in messages:
            assert message.error() is None, message.error()
            present.add(message.value())
    consumer.close()
    missing = [value for value in acknowledged if value not in present]
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:5]}"


def test_torn_tail_is_truncated_at_restart(broker):
    topic = unique_topic("torn")
    create_topic(broker.bootstrap, topic, partitions=1)
    first = [f"kept-{i}".encode() for i in range(500)]
    produce_values(broker.bootstrap, topic, first)
    produce_values(broker.bootstrap, topic, [b"torn-" + bytes(100) for _ in range(10)], **{"batch.num.messages": 100})
    assert broker.stop() == 0
    segment = broker.data_dir / f"{topic}-0" / "00000000000000000000.log"
    size = segment.stat().st_size
    with open(segment, "r+b") as f:
        f.truncate(size - 7)
    with open(segment, "ab") as f:
        f.write(b"\xde\xad\xbe\xef" * 3)
    broker.start()
    assert "truncating torn or corrupt tail" in broker.log()
    consumed = consume_confluent(broker.bootstrap, topic, len(first), partitions=1)
    assert values_of(consumed) == first
    produce_values(broker.bootstrap, topic, [b"after"])
    consumed = consume_confluent(broker.bootstrap, topic, len(first) + 1, partitions=1)
    assert values_of(consumed)[-1] == b"after"
    assert [offset for _, offset, _, _, _ in consumed] == list(range(len(first) + 1))


def test_corrupt_middle_segment_keeps_the_partition_offline_and_the_rest_serving(vltava_bin, tmp_path):
    from conftest import BrokerProcess, free_port
    from confluent_kafka.admin import AdminClient, NewTopic

    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port()).start()
    try:
        damaged, healthy = unique_topic("damaged"), unique_topic("healthy")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        futures = admin.create_topics([NewTopic(damaged, 1, 1, config={"segment.bytes": "2048"}), NewTopic(healthy, 1, 1)])
        for future in futures.values():
            future.result(30)
        produce_values(broker.bootstrap, damaged, [f"d{i}".encode() * 20 for i in range(300)], **{"batch.num.messages": 5})
        produce_values(broker.bootstrap, healthy, [b"h1", b"h2"])
        assert broker.stop() == 0
        segments = sorted((broker.data_dir / f"{damaged}-0").glob("*.log"))
        assert len(segments) >= 3, segments
        first = segments[0]
        first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
        broker.start()
        assert "partition is corrupt and kept offline" in broker.log()
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
        assert metadata.topics[damaged].partitions[0].error.name() == "KAFKA_STORAGE_ERROR"
        assert values_of(consume_confluent(broker.bootstrap, healthy, 2, partitions=1)) == [b"h1", b"h2"]
    finally:
        broker.kill9()


def test_retention_runs_in_the_background(vltava_bin, tmp_path):
    from conftest import BrokerProcess, free_port
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=["--override", "log.retention.check.interval.ms=200"]).start()
    try:
        topic = unique_topic("retention")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1, config={"segment.bytes": "2048", "retention.bytes": "4096"})])[topic].result(30)
        produce_values(broker.bootstrap, topic, [f"r{i}".encode() * 20 for i in range(400)], **{"batch.num.messages": 5})
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
        deadline = time.monotonic() + 20
        low = 0
        while time.monotonic() < deadline and low == 0:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=5)
            time.sleep(0.2)
        consumer.close()
        assert low > 0, "retention.bytes did not delete old segments"
        assert high == 400
        assert sum(p.stat().st_size for p in (broker.data_dir / f"{topic}-0").glob("*.log")) <= 4096 + 2048
    finally:
        broker.kill9()
