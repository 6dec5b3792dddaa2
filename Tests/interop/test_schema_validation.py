"""Broker-side schema validation (confluent.value.schema.validation / confluent.key.schema.validation): records
must carry Confluent's framing (magic byte 0, 4-byte id) with an id registered for `{topic}-value` / `{topic}-key`
in the registry of the same `vltava serve`; others are refused with INVALID_RECORD."""

import struct

from test_schema_registry import avro_record, registry, subject_name  # noqa: F401  (registry is a fixture)


def create_topic(registry, topic, configs):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": registry.broker.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=configs)])[topic].result(20)


def produce_one(registry, topic, value, key=None):
    """Produces one record and returns the delivery error (None when it was written)."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": registry.broker.bootstrap, "message.timeout.ms": 10000, "retries": 0,
                         "enable.idempotence": False})
    outcome = []
    producer.produce(topic, value=value, key=key, on_delivery=lambda error, message: outcome.append(error))
    producer.flush(15)
    assert len(outcome) == 1
    return outcome[0]


def test_value_validation_with_confluents_avro_serializer(registry):
    from confluent_kafka import KafkaError
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = subject_name("validated")
    create_topic(registry, topic, {"confluent.value.schema.validation": "true"})
    client = SchemaRegistryClient({"url": registry.url})
    serializer = AvroSerializer(client, avro_record({"name": "id", "type": "string"}))
    framed = serializer({"id": "a"}, SerializationContext(topic, MessageField.VALUE))
    schema_id = struct.unpack(">I", framed[1:5])[0]

    # Registered for {topic}-value by the serializer just now: accepted, as is a tombstone.
    assert produce_one(registry, topic, framed) is None
    assert produce_one(registry, topic, None, key=b"k") is None

    # Raw bytes, an unknown id, and an id registered only under another subject are refused.
    other = registry.post(f"/subjects/{subject_name('other')}/versions", {"schema": '"bytes"'}).json()["id"]
    for value in (b"not framed at all", b"\x00" + struct.pack(">I", 987654) + b"x",
                  b"\x00" + struct.pack(">I", other) + b"x", b"\x01" + framed[1:]):
        error = produce_one(registry, topic, value)
        assert error is not None and error.code() == KafkaError.INVALID_RECORD, (value, error)

    # Keys are only checked when asked for.
    key_topic = subject_name("keyed")
    create_topic(registry, key_topic, {"confluent.key.schema.validation": "true"})
    key_id = registry.post(f"/subjects/{key_topic}-key/versions", {"schema": '"string"'}).json()["id"]
    assert produce_one(registry, key_topic, b"raw value", key=b"\x00" + struct.pack(">I", key_id) + b"\x02k") is None
    error = produce_one(registry, key_topic, b"raw value", key=b"\x00" + struct.pack(">I", schema_id) + b"\x02k")
    assert error is not None and error.code() == KafkaError.INVALID_RECORD
