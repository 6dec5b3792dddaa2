"""Real clients produce and consume through Vltava: confluent-kafka (librdkafka 2.16), kafka-python 3 and
aiokafka, with every compression codec, keys and headers; Debian's kcat (librdkafka 2.0) for metadata,
produce and consume."""

import asyncio
import subprocess
from collections import defaultdict

import pytest
from conftest import unique_topic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONS = 4
COUNT = 100_000


def expected_records(count: int):
    for i in range(count):
        key = f"key-{i % 97}".encode()
        value = f"value-{i}-{'x' * (i % 50)}".encode()
        headers = [("h", f"{i}".encode()), ("source", b"interop")]
        yield key, value, headers


def create_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    futures[topic].result(timeout=30)


def check_consumed(consumed, count):
    """Every record once, with its key and headers, in production order within each partition."""
    assert len(consumed) == count, f"consumed {len(consumed)} of {count}"
    by_value = {}
    per_partition = defaultdict(list)
    for partition, offset, key, value, headers in consumed:
        assert value not in by_value, f"duplicate {value[:40]!r}"
        by_value[value] = (key, headers)
        per_partition[partition].append((offset, int(value.split(b"-")[1])))
    for key, value, headers in expected_records(count):
        assert value in by_value, f"missing {value[:40]!r}"
        got_key, got_headers = by_value[value]
        assert got_key == key
        assert [(k, bytes(v)) for k, v in got_headers] == headers
    for partition, entries in per_partition.items():
        offsets = [o for o, _ in entries]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        sequence = [n for _, n in sorted(entries)]
        assert sequence == sorted(sequence), f"partition {partition} out of production order"


def consume_confluent(bootstrap, topic, count, partitions=PARTITIONS):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    consumed = []
    import time

    deadline = time.monotonic() + 120
    while len(consumed) < count and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=10000, timeout=1.0):
            assert message.error() is None, message.error()
            consumed.append((message.partition(), message.offset(), message.key(), message.value(),
                             message.headers() or []))
    consumer.close()
    return consumed


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_kafka_every_codec(shared_broker, codec):
    from confluent_kafka import Producer

    topic = unique_topic(f"ck-{codec}")
    create_topic(shared_broker.bootstrap, topic)
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap, "compression.type": codec,
                         "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    errors = []
    for key, value, headers in expected_records(COUNT):
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers,
                                 on_delivery=lambda err, msg: err and errors.append(err))
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0
    assert not errors, errors[:3]
    check_consumed(consume_confluent(shared_broker.bootstrap, topic, COUNT), COUNT)


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_every_codec(shared_broker, codec):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = unique_topic(f"kp-{codec}")
    create_topic(shared_broker.bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=[shared_broker.bootstrap],
                             compression_type=None if codec == "none" else codec, linger_ms=5,
                             batch_size=64 * 1024)
    futures = [producer.send(topic, value=value, key=key, headers=headers)
               for key, value, headers in expected_records(COUNT)]
    producer.flush(timeout=120)
    for future in futures[-100:]:
        future.get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=[shared_broker.bootstrap], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=10000)
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    consumed = []
    for message in consumer:
        consumed.append((message.partition, message.offset, message.key, message.value, message.headers))
        if len(consumed) >= COUNT:
            break
    consumer.close()
    check_consumed(consumed, COUNT)


@pytest.mark.parametrize("codec", CODECS)
def test_aiokafka_every_codec(shared_broker, codec):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = unique_topic(f"aio-{codec}")
    create_topic(shared_broker.bootstrap, topic)

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=shared_broker.bootstrap,
                                    compression_type=None if codec == "none" else codec,
                                    linger_ms=5, enable_idempotence=True, max_batch_size=64 * 1024)
        await producer.start()
        try:
            pending = []
            for key, value, headers in expected_records(COUNT):
                pending.append(await producer.send(topic, value=value, key=key, headers=headers))
                if len(pending) >= 5000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(bootstrap_servers=shared_broker.bootstrap, group_id=None,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            consumed = []
            while len(consumed) < COUNT:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000, max_records=10000), 30)
                for tp, messages in batch.items():
                    for m in messages:
                        consumed.append((tp.partition, m.offset, m.key, m.value, list(m.headers)))
            return consumed
        finally:
            await consumer.stop()

    check_consumed(asyncio.run(run()), COUNT)


def test_debian_kcat_metadata_produce_consume(shared_broker):
    topic = unique_topic("kcat")
    create_topic(shared_broker.bootstrap, topic, partitions=1)
    listing = subprocess.run(["kcat", "-b", shared_broker.bootstrap, "-L", "-t", topic],
                             capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert f'topic "{topic}" with 1 partitions' in listing.stdout
    lines = [f"k{i}:line {i}" for i in range(1000)]
    for codec in CODECS:
        produced = subprocess.run(["kcat", "-b", shared_broker.bootstrap, "-P", "-t", topic, "-K:", "-z", codec],
                                  input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
        assert produced.returncode == 0, produced.stderr
    consumed = subprocess.run(["kcat", "-b", shared_broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                               "-f", "%k=%s\n"], capture_output=True, text=True, timeout=60)
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == [line.replace(":", "=", 1) for line in lines] * len(CODECS)


def test_kcat_with_librdkafka_2_16(shared_broker, tmp_path):
    """Debian's kcat binary run against the librdkafka 2.16 that ships inside the confluent-kafka wheel."""
    import glob
    import os

    import confluent_kafka

    libs = glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__), os.pardir,
                                  "confluent_kafka.libs", "librdkafka-*.so.1"))
    assert libs, "confluent-kafka's bundled librdkafka not found"
    (tmp_path / "librdkafka.so.1").symlink_to(os.path.abspath(libs[0]))
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path))
    version = subprocess.run(["kcat", "-V"], capture_output=True, text=True, env=env, timeout=30)
    assert "librdkafka 2.16" in version.stdout, version.stdout

    topic = unique_topic("kcat216")
    listing = subprocess.run(["kcat", "-b", shared_broker.bootstrap, "-L"], capture_output=True, text=True,
                             env=env, timeout=30)
    assert listing.returncode == 0 and "1 brokers" in listing.stdout, listing.stderr
    lines = [f"line {i}" for i in range(500)]
    produced = subprocess.run(["kcat", "-b", shared_broker.bootstrap, "-P", "-t", topic, "-z", "zstd"],
                              input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, timeout=60)
    assert produced.returncode == 0, produced.stderr
    consumed = subprocess.run(["kcat", "-b", shared_broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == lines
