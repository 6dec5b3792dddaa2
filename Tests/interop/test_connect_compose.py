"""deploy/connect/compose.yaml run from its commands and environment (loopback ports in place of the container
names): the broker without embedded services, `vltava schema-registry` with cp-schema-registry's environment and
`vltava connect distributed` with cp-kafka-connect's. A Datagen source through the AvroConverter (the worker's
default value converter there) writes records that confluent-kafka's AvroDeserializer reads back; connectors that
choose the JsonSchemaConverter or the ProtobufConverter are read back by its JSONDeserializer and ProtobufDeserializer."""

import os
import subprocess
import time

import pytest
import requests
import yaml
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import REPO_ROOT, BrokerProcess, free_port

COMPOSE_FILE = REPO_ROOT / "deploy" / "connect" / "compose.yaml"


def services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def wait_for(check, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(interval)
    return False


def read_values(bootstrap, topic, group, deserialize, count=20, timeout=60.0):
    """At least `count` (key, deserialized value) pairs of `topic` from the beginning, within `timeout` seconds."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    received = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            received.append((message.key(), deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))))
    finally:
        consumer.close()
    assert len(received) >= count, f"{len(received)} of {count} records of {topic}"
    return received


def test_compose_file_declares_connect_as_cp_kafka_connect_is_configured():
    connect = services()["connect"]
    assert connect["image"].startswith("vltava") and connect["command"] == ["connect", "distributed"]
    environment = {key: str(value) for key, value in connect["environment"].items()}
    assert environment["CONNECT_BOOTSTRAP_SERVERS"] == "kafka-server:29092"
    assert environment["CONNECT_VALUE_CONVERTER"] == "io.confluent.connect.avro.AvroConverter"
    assert environment["CONNECT_VALUE_CONVERTER_SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert [str(port) for port in connect["ports"]] == ["8083:8083"]
    assert services()["kafka-server"]["command"][-2:] == ["--connect-listeners", "none"]


@pytest.fixture
def stack(vltava_bin, tmp_path):
    """The compose file's three services as processes."""
    described = services()
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=described["kafka-server"]["command"][1:])
    broker.start()
    processes = []
    registry_port, connect_port = free_port(), free_port()

    def run(name, replacements):
        environment = {key: str(value) for key, value in described[name]["environment"].items()}
        environment.update(replacements)
        log = open(tmp_path / f"{name}.log", "wb")
        process = subprocess.Popen([str(vltava_bin), *described[name]["command"]], env={**os.environ, **environment},
                                   stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    run("schema-registry", {"SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": broker.bootstrap,
                            "SCHEMA_REGISTRY_LISTENERS": f"http://127.0.0.1:{registry_port}"})
    registry_url = f"http://127.0.0.1:{registry_port}"
    assert wait_for(lambda: requests.get(f"{registry_url}/subjects", timeout=2).status_code == 200), \
        (tmp_path / "schema-registry.log").read_text()
    run("connect", {"CONNECT_BOOTSTRAP_SERVERS": broker.bootstrap, "CONNECT_REST_PORT": str(connect_port),
                    "CONNECT_REST_ADVERTISED_HOST_NAME": "127.0.0.1",
                    "CONNECT_VALUE_CONVERTER_SCHEMA_REGISTRY_URL": registry_url,
                    "CONNECT_OFFSET_FLUSH_INTERVAL_MS": "1000"})
    connect_url = f"http://127.0.0.1:{connect_port}"
    assert wait_for(lambda: requests.get(f"{connect_url}/connectors", timeout=2).status_code == 200), \
        (tmp_path / "connect.log").read_text()
    try:
        yield broker, registry_url, connect_url
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()


def test_datagen_through_the_avro_converter_reads_back_with_confluent_kafka(stack, tmp_path):
    broker, registry_url, connect_url = stack
    answer = requests.post(f"{connect_url}/connectors", json={"name": "users", "config": {
        "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector", "kafka.topic": "users",
        "quickstart": "users", "max.interval": "10", "iterations": "50", "tasks.max": "1"}}, timeout=30)
    assert answer.status_code == 201, answer.text

    assert wait_for(lambda: "users-value" in requests.get(f"{registry_url}/subjects", timeout=5).json(), timeout=60), \
        (tmp_path / "connect.log").read_text()
    registry = SchemaRegistryClient({"url": registry_url})
    deserializer = AvroDeserializer(registry)
    users = read_values(broker.bootstrap, "users", "avro-reader", deserializer)
    for key, value in users:
        # kafka-connect-datagen's users quickstart: keyed by userid, with these fields.
        assert {"registertime", "userid", "regionid", "gender"} <= set(value)
        assert value["userid"].startswith("User_") and value["regionid"].startswith("Region_")
        assert value["gender"] in {"MALE", "FEMALE", "OTHER"}
        assert key == value["userid"].encode()
    # The registered schema is Avro, registered by the converter under the topic's value subject.
    latest = registry.get_latest_version("users-value")
    assert latest.schema.schema_type == "AVRO"


def test_datagen_through_the_json_schema_converter_reads_back_with_confluent_kafka(stack, tmp_path):
    """The connector overrides the worker's value converter with Confluent's JsonSchemaConverter; confluent-kafka's
    JSONDeserializer reads the records with the schema the converter registered."""
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer

    broker, registry_url, connect_url = stack
    answer = requests.post(f"{connect_url}/connectors", json={"name": "pageviews", "config": {
        "connector.class": "DatagenConnector", "kafka.topic": "pageviews", "quickstart": "pageviews",
        "max.interval": "10", "iterations": "50", "tasks.max": "1",
        "value.converter": "io.confluent.connect.json.JsonSchemaConverter",
        "value.converter.schema.registry.url": registry_url}}, timeout=30)
    assert answer.status_code == 201, answer.text
    assert wait_for(lambda: "pageviews-value" in requests.get(f"{registry_url}/subjects", timeout=5).json(), timeout=60), \
        (tmp_path / "connect.log").read_text()
    registry = SchemaRegistryClient({"url": registry_url})
    assert registry.get_latest_version("pageviews-value").schema.schema_type == "JSON"
    deserializer = JSONDeserializer(None, schema_registry_client=registry)
    views = [value for _, value in read_values(broker.bootstrap, "pageviews", "json-reader", deserializer)]
    for view in views:
        # kafka-connect-datagen's pageviews quickstart.
        assert {"viewtime", "userid", "pageid"} <= set(view)
        assert isinstance(view["viewtime"], int)
        assert view["userid"].startswith("User_") and view["pageid"].startswith("Page_")


def test_datagen_through_the_protobuf_converter_reads_back_with_confluent_kafka(stack, tmp_path):
    """The connector overrides the worker's value converter with Confluent's ProtobufConverter; confluent-kafka's
    ProtobufDeserializer reads the records with a message class built from the schema the converter registered (the
    registry's `format=serialized` FileDescriptorProto, so no protoc is needed)."""
    import base64
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from google.protobuf.json_format import MessageToDict

    broker, registry_url, connect_url = stack
    answer = requests.post(f"{connect_url}/connectors", json={"name": "orders", "config": {
        "connector.class": "DatagenConnector", "kafka.topic": "orders", "quickstart": "pageviews",
        "max.interval": "10", "iterations": "50", "tasks.max": "1",
        "value.converter": "io.confluent.connect.protobuf.ProtobufConverter",
        "value.converter.schema.registry.url": registry_url}}, timeout=30)
    assert answer.status_code == 201, answer.text
    assert wait_for(lambda: "orders-value" in requests.get(f"{registry_url}/subjects", timeout=5).json(), timeout=60), \
        (tmp_path / "connect.log").read_text()
    registry = SchemaRegistryClient({"url": registry_url})
    latest = registry.get_latest_version("orders-value")
    assert latest.schema.schema_type == "PROTOBUF"
    serialized = requests.get(f"{registry_url}/schemas/ids/{latest.schema_id}", params={"format": "serialized"},
                              timeout=5).json()["schema"]
    file = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized))
    assert not file.dependency, file  # pageviews has only primitive fields
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    name = f"{file.package}.{file.message_type[0].name}" if file.package else file.message_type[0].name
    message_class = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
    deserializer = ProtobufDeserializer(message_class, {"use.deprecated.format": False}, registry)
    views = [MessageToDict(value, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
             for _, value in read_values(broker.bootstrap, "orders", "protobuf-reader", deserializer)]
    for view in views:
        # kafka-connect-datagen's pageviews quickstart, as protobuf fields (int64 is a string in protobuf's JSON form).
        assert {"viewtime", "userid", "pageid"} <= set(view), view
        assert int(view["viewtime"]) > 0
        assert view["userid"].startswith("User_") and view["pageid"].startswith("Page_")
