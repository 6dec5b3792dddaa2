"""Broker-side schema validation (confluent.value.schema.validation / confluent.key.schema.validation): records
must carry Confluent's framing (magic byte 0, 4-byte id) with an id registered for `{topic}-value` / `{topic}-key`
in the registry of the same `vltava serve`; others are refused with INVALID_RECORD. Also Confluent's answers for
unknown routes, permanent subject deletes, and store errors (50001, 50002) of a registry whose broker fails."""

import json
import os
import signal
import struct
import subprocess
import time

import requests
from conftest import BrokerProcess, free_port
from test_schema_registry import avro_record, expect_error, registry, subject_name, wait_for_registry  # noqa: F401  (registry is a fixture)


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


def test_confluent_http_errors_and_permanent_delete(registry):
    # Paths the API does not have: Confluent's JSON 404.
    for response in (registry.get("/no/such/route"), registry.get("/subjects/x/versions/1/nothing")):
        assert response.status_code == 404, response.text
        assert response.json() == {"error_code": 404, "message": "HTTP 404 Not Found"}

    subject = subject_name()
    expect_error(registry.get(f"/mode/{subject}"), 40409)
    expect_error(registry.get(f"/config/{subject}"), 40408)
    registry.post(f"/subjects/{subject}/versions", {"schema": '"string"'}).raise_for_status()
    assert registry.put(f"/config/{subject}", {"compatibility": "NONE"}).status_code == 200
    assert registry.put(f"/mode/{subject}", {"mode": "READWRITE"}).status_code == 200
    assert registry.delete(f"/subjects/{subject}").json() == [1]
    # A soft delete keeps them; the permanent one removes the subject's config and mode with it.
    assert registry.get(f"/config/{subject}").json() == {"compatibilityLevel": "NONE"}
    assert registry.delete(f"/subjects/{subject}", permanent="true").json() == [1]
    expect_error(registry.get(f"/config/{subject}"), 40408)
    expect_error(registry.get(f"/mode/{subject}"), 40409)
    assert registry.get(f"/config/{subject}", defaultToGlobal="true").json() == {"compatibilityLevel": "BACKWARD"}


def test_store_errors_when_the_broker_stops_or_dies(vltava_bin, tmp_path):
    """A standalone registry whose broker is stopped (SIGSTOP) answers writes with 50002 after its store timeout
    and serves again once the broker resumes; with the broker gone, writes answer 50001 and reads still work."""
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port()).start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "standalone.log", "wb")
    standalone = subprocess.Popen(
        [str(vltava_bin), "schema-registry", "--listeners", url, "--bootstrap-server", broker.bootstrap],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SCHEMA_REGISTRY_KAFKASTORE_TIMEOUT_MS": "1000"})
    try:
        wait_for_registry(url)

        def register(schema):
            subject = subject_name()
            return requests.post(f"{url}/subjects/{subject}/versions", data=json.dumps({"schema": schema}), timeout=30)

        assert register('"string"').json() == {"id": 1}
        broker.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            expect_error(register(avro_record({"name": "a", "type": "int"})), 50002)
            assert time.monotonic() - started < 10
        finally:
            broker.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 15
        while (answer := register(avro_record({"name": "b", "type": "int"}))).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert answer.status_code == 200, answer.text

        broker.kill9()
        expect_error(register(avro_record({"name": "c", "type": "int"})), 50001)
        assert len(requests.get(f"{url}/subjects", timeout=10).json()) == 2
    finally:
        standalone.terminate()
        standalone.wait(timeout=20)
        broker.kill9()
