"""Apache Kafka's Java producer (kafka-clients 3.9.1): the idempotent acks=all producer with every codec, keys,
headers and timestamps read back exactly; five requests in flight per connection with the order kept
(Tests/interop/java/ProducerChecks.java). The batches on the broker's disk are checked for codec and producer
id, and librdkafka reads the Java producer's batches too."""

import uuid

import pytest
from java_support import batch_headers

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def expected_value(i):
    """The value ProducerChecks' codec mode sends as record i (None: a null value)."""
    return None if i % 13 == 0 else f"value-{i}-{'x' * (i % 50)}\u010d\u0159"


@pytest.mark.parametrize("codec", list(CODECS))
def test_java_idempotent_producer_every_codec(java, broker, codec):
    from confluent_kafka import Consumer, TopicPartition

    topic = f"jp-{codec}-{uuid.uuid4().hex[:8]}"
    result = java.ok("ProducerChecks", "codec", broker.bootstrap, topic, codec, broker=broker)
    assert result.facts["consumed"] == "3000"
    assert sum(int(result.facts[f"partition.{p}"]) for p in range(3)) == 3000

    batches = [b for p in range(3) for b in batch_headers(broker.data_dir / f"{topic}-{p}")]
    assert sum(b["records"] for b in batches) == 3000
    assert {b["codec"] for b in batches} == {CODECS[codec]}, "batches not stored with the producer's codec"
    # Idempotent: one producer id and epoch, sequences set.
    assert len({(b["producer_id"], b["producer_epoch"]) for b in batches}) == 1
    assert all(b["producer_id"] >= 0 and b["base_sequence"] >= 0 for b in batches)
    assert not any(b["transactional"] or b["control"] for b in batches)

    # librdkafka decompresses the Java producer's batches to the same values.
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    values = []
    for _ in range(60):
        for message in consumer.consume(num_messages=5000, timeout=0.5):
            assert message.error() is None, message.error()
            values.append(None if message.value() is None else message.value().decode())
        if len(values) >= 3000:
            break
    consumer.close()
    assert sorted(values, key=str) == sorted((expected_value(i) for i in range(3000)), key=str)


def test_java_producer_five_in_flight_keeps_order(java, broker):
    topic = f"jp-inflight-{uuid.uuid4().hex[:8]}"
    result = java.ok("ProducerChecks", "inflight", broker.bootstrap, topic, 20000, broker=broker)
    assert result.facts["consumed"] == "20000"
    # Requests were really pipelined (the producer's requests-in-flight metric went above 1).
    assert int(result.facts["max_in_flight"]) > 1
    batches = [b for p in range(2) for b in batch_headers(broker.data_dir / f"{topic}-{p}")]
    assert sum(b["records"] for b in batches) == 20000
    assert len(batches) > 20, "batch.size=512 should give many batches"
    for p in range(2):
        sequences = [b["base_sequence"] for b in batch_headers(broker.data_dir / f"{topic}-{p}")]
        assert sequences == sorted(sequences), f"partition {p}: batches stored out of sequence order"
