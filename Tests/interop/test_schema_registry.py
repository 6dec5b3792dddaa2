"""The schema registry of `vltava serve`: the seed's register-protobuf-schema.py as written (port 8081), Confluent's
REST semantics and error codes, state that survives a restart, and confluent-kafka's SchemaRegistryClient with its
AvroSerializer producing and consuming through the broker."""

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests
from conftest import REPO_ROOT, BrokerProcess, free_port
from test_seed_flow import port_is_free

SEED = REPO_ROOT.parent / "shared" / "seed" / "schema-registry"
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Registry:
    """A `vltava serve` with its registry on a given port, and helpers to call it."""

    def __init__(self, vltava_bin, data_dir, registry_port: int):
        self.port = registry_port
        self.url = f"http://127.0.0.1:{registry_port}"
        self.broker = BrokerProcess(
            vltava_bin, data_dir, free_port(),
            extra_args=["--schema-registry-listeners", f"http://127.0.0.1:{registry_port}"])

    def start(self):
        self.broker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"registry did not answer on {self.url}: {self.broker.log()}")

    def stop(self):
        self.broker.stop()

    def restart(self):
        self.stop()
        return self.start()

    def get(self, path, **params):
        return requests.get(self.url + path, params=params, timeout=10)

    def post(self, path, body, **params):
        return requests.post(self.url + path, data=json.dumps(body), params=params, timeout=30,
                             headers={"Content-Type": CONTENT_TYPE})

    def put(self, path, body):
        return requests.put(self.url + path, data=json.dumps(body), timeout=30, headers={"Content-Type": CONTENT_TYPE})

    def delete(self, path, **params):
        return requests.delete(self.url + path, params=params, timeout=30)


def wait_for_registry(url: str, timeout: float = 30):
    """Waits until a registry at `url` answers GET /subjects."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/subjects", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"no registry answered on {url}")


def expect_error(response, code: int):
    assert response.status_code == (code // 100 if code >= 10000 else code), response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]


def avro_record(*fields, name="Reading"):
    return json.dumps({"type": "record", "name": name, "namespace": "vltava.test", "fields": list(fields)})


@pytest.fixture(scope="module")
def registry(vltava_bin, tmp_path_factory):
    instance = Registry(vltava_bin, tmp_path_factory.mktemp("registry") / "data", free_port()).start()
    yield instance
    instance.stop()


def subject_name(prefix="s"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_seed_register_protobuf_schema_as_written(vltava_bin, tmp_path):
    assert port_is_free(8081), "the seed's registry flow needs port 8081, which is in use"
    registry = Registry(vltava_bin, tmp_path / "data", 8081).start()
    try:
        result = subprocess.run([sys.executable, str(SEED / "register-protobuf-schema.py")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "schema registered successfully!" in result.stdout

        # The URLs the seed's README goes on with.
        assert requests.get("http://localhost:8081/subjects", timeout=10).json() == ["sensors"]
        assert requests.get("http://localhost:8081/subjects/sensors/versions", timeout=10).json() == [1]
        version = requests.get("http://localhost:8081/subjects/sensors/versions/1", timeout=10)
        assert version.headers["Content-Type"].startswith(CONTENT_TYPE)
        body = version.json()
        assert (body["subject"], body["version"], body["id"], body["schemaType"]) == ("sensors", 1, 1, "PROTOBUF")
        assert "message Measurement" in body["schema"]
        latest = requests.get("http://localhost:8081/subjects/sensors/versions/latest", timeout=10).json()
        assert latest == body
        by_id = requests.get("http://localhost:8081/schemas/ids/1", timeout=10).json()
        assert by_id["schemaType"] == "PROTOBUF" and by_id["schema"] == body["schema"]

        # Running it again registers nothing new.
        again = subprocess.run([sys.executable, str(SEED / "register-protobuf-schema.py")],
                               capture_output=True, text=True, timeout=60)
        assert "schema registered successfully!" in again.stdout
        assert requests.get("http://localhost:8081/subjects/sensors/versions", timeout=10).json() == [1]

        assert requests.delete("http://localhost:8081/subjects/sensors/versions/1", timeout=10).json() == 1
        assert requests.delete("http://localhost:8081/subjects/sensors", timeout=10).status_code == 404
        assert requests.delete("http://localhost:8081/subjects/sensors?permanent=true", timeout=10).json() == [1]
        assert requests.get("http://localhost:8081/subjects", timeout=10).json() == []
    finally:
        registry.stop()


def test_register_versions_ids_and_lookup(registry):
    subject = subject_name()
    v1 = avro_record({"name": "id", "type": "string"})
    v2 = avro_record({"name": "id", "type": "string"}, {"name": "value", "type": "double", "default": 0.0})
    first = registry.post(f"/subjects/{subject}/versions", {"schema": v1}).json()["id"]
    # The same schema, written differently, is the same version.
    spaced = json.dumps(json.loads(v1), indent=2)
    assert registry.post(f"/subjects/{subject}/versions", {"schema": spaced}).json()["id"] == first
    second = registry.post(f"/subjects/{subject}/versions", {"schema": v2}).json()["id"]
    assert second != first
    assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]
    # The same schema under another subject keeps its id.
    other = subject_name()
    assert registry.post(f"/subjects/{other}/versions", {"schema": v2}).json()["id"] == second

    found = registry.post(f"/subjects/{subject}", {"schema": spaced}).json()
    assert (found["subject"], found["version"], found["id"]) == (subject, 1, first)
    assert "schemaType" not in found
    assert registry.get(f"/schemas/ids/{second}/subjects").json() == sorted([subject, other])
    assert sorted(map(tuple, (d.values() for d in registry.get(f"/schemas/ids/{second}/versions").json()))) == sorted(
        [(subject, 2), (other, 1)])
    assert json.loads(registry.get(f"/subjects/{subject}/versions/2/schema").text) == json.loads(v2)
    assert set(registry.get("/schemas/types").json()) == {"AVRO", "PROTOBUF", "JSON"}
    assert subject in registry.get("/subjects", subjectPrefix=subject[:6]).json()


def test_compatibility_rules_and_check_endpoints(registry):
    subject = subject_name()
    v1 = avro_record({"name": "id", "type": "string"})
    no_default = avro_record({"name": "id", "type": "string"}, {"name": "n", "type": "int"})
    registry.post(f"/subjects/{subject}/versions", {"schema": v1})
    expect_error(registry.post(f"/subjects/{subject}/versions", {"schema": no_default}), 409)

    check = registry.post(f"/compatibility/subjects/{subject}/versions/latest", {"schema": no_default}, verbose="true").json()
    assert check["is_compatible"] is False and check["messages"]
    assert registry.post(f"/compatibility/subjects/{subject}/versions", {"schema": v1}).json() == {"is_compatible": True}

    assert registry.put(f"/config/{subject}", {"compatibility": "FORWARD"}).json() == {"compatibility": "FORWARD"}
    assert registry.get(f"/config/{subject}").json() == {"compatibilityLevel": "FORWARD"}
    assert registry.post(f"/subjects/{subject}/versions", {"schema": no_default}).status_code == 200
    assert registry.delete(f"/config/{subject}").json() == {"compatibilityLevel": "FORWARD"}
    expect_error(registry.get(f"/config/{subject}"), 40408)
    assert registry.get(f"/config/{subject}", defaultToGlobal="true").json() == {"compatibilityLevel": "BACKWARD"}
    assert registry.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_protobuf_and_json_schema_registration(registry):
    subject = subject_name()
    proto = 'syntax = "proto3";\nmessage M {\n  string id = 1;\n  int64 t = 2;\n}\n'
    registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": proto})
    changed = proto.replace("int64 t", "double t")
    expect_error(registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": changed}), 409)
    added = proto.replace("int64 t = 2;", "int64 t = 2;\n  string extra = 3;")
    assert registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": added}).status_code == 200

    json_subject = subject_name()
    schema = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}
    response = registry.post(f"/subjects/{json_subject}/versions", {"schemaType": "JSON", "schema": json.dumps(schema)})
    assert response.status_code == 200, response.text
    assert registry.get(f"/subjects/{json_subject}/versions/1").json()["schemaType"] == "JSON"


def test_protobuf_fields_in_another_order_are_another_version_unless_normalized(registry):
    """As Confluent's registry: without normalize=true the order fields are written in is part of a PROTOBUF
    schema (another order is a new version, under a new id); with it, both sides are compared normalized."""
    subject = subject_name()
    written = 'syntax = "proto3";\nmessage M {\n  string id = 1;\n  int64 t = 2;\n}\n'
    reordered = 'syntax = "proto3";\nmessage M {\n  int64 t = 2;\n  string id = 1;\n}\n'
    first = registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": written}).json()["id"]
    assert registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": written}).json()["id"] == first
    second = registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": reordered}).json()["id"]
    assert second != first
    assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]
    found = registry.post(f"/subjects/{subject}", {"schemaType": "PROTOBUF", "schema": reordered}).json()
    assert found["version"] == 2
    # normalize=true: the reordered text is the schema already there (its latest equal version), nothing is added.
    again = registry.post(f"/subjects/{subject}/versions", {"schemaType": "PROTOBUF", "schema": reordered},
                          normalize="true").json()
    assert again["id"] in (first, second)
    assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]
    fresh = subject_name()
    kept = registry.post(f"/subjects/{fresh}/versions", {"schemaType": "PROTOBUF", "schema": reordered}, normalize="true").json()
    text = registry.get(f"/subjects/{fresh}/versions/1").json()["schema"]
    assert text.index("id = 1") < text.index("t = 2"), "kept normalized: fields in order of number"
    assert registry.post(f"/subjects/{fresh}", {"schemaType": "PROTOBUF", "schema": written},
                         normalize="true").json()["id"] == kept["id"]
    # A subject whose config says normalize=true normalizes without being asked.
    configured = subject_name()
    registry.put(f"/config/{configured}", {"normalize": True})
    first = registry.post(f"/subjects/{configured}/versions", {"schemaType": "PROTOBUF", "schema": written}).json()["id"]
    assert registry.post(f"/subjects/{configured}/versions", {"schemaType": "PROTOBUF", "schema": reordered}).json()["id"] == first
    assert registry.get(f"/subjects/{configured}/versions").json() == [1]


def test_a_wrong_method_on_a_known_path_is_405(registry):
    for method, path in [("DELETE", "/schemas/ids/1"), ("PUT", "/subjects"), ("POST", "/config"), ("GET", "/compatibility/subjects/x/versions"),
                         ("PATCH", "/subjects/x/versions/1")]:
        answer = requests.request(method, registry.url + path, timeout=10)
        assert answer.status_code == 405, (method, path, answer.status_code)
        assert answer.json() == {"error_code": 405, "message": "HTTP 405 Method Not Allowed"}
    answer = requests.get(registry.url + "/no/such/path", timeout=10)
    assert answer.status_code == 404 and answer.json() == {"error_code": 404, "message": "HTTP 404 Not Found"}


def test_error_codes(registry):
    subject = subject_name()
    expect_error(registry.get("/subjects/nope/versions"), 40401)
    expect_error(registry.get("/subjects/nope/versions/1"), 40401)
    expect_error(registry.get("/schemas/ids/987654"), 40403)
    expect_error(registry.post(f"/subjects/{subject}/versions", {"schema": "{not avro"}), 42201)
    expect_error(registry.post(f"/subjects/{subject}/versions", {"schema": '{"type":"record","name":"R"}'}), 42201)
    expect_error(registry.post(f"/subjects/{subject}/versions",
                               {"schemaType": "PROTOBUF", "schema": "message M { string id = ; }"}), 42201)
    deep = '{"type":"array","items":' * 5000 + '"int"' + "}" * 5000
    expect_error(registry.post(f"/subjects/{subject}/versions", {"schema": deep}), 42201)
    expect_error(registry.put("/config", {"compatibility": "SIDEWAYS"}), 42203)

    registry.post(f"/subjects/{subject}/versions", {"schema": '"string"'})
    expect_error(registry.get(f"/subjects/{subject}/versions/2"), 40402)
    expect_error(registry.get(f"/subjects/{subject}/versions/0"), 42202)
    expect_error(registry.get(f"/subjects/{subject}/versions/abc"), 42202)
    expect_error(registry.post(f"/subjects/{subject}", {"schema": '"int"'}), 40403)
    expect_error(registry.delete(f"/subjects/{subject}/versions/1", permanent="true"), 40407)
    expect_error(registry.delete(f"/subjects/{subject}", permanent="true"), 40405)
    assert registry.delete(f"/subjects/{subject}/versions/1").json() == 1
    expect_error(registry.delete(f"/subjects/{subject}/versions/1"), 40406)
    # A soft-deleted version's id stays resolvable; the subject reads as gone.
    assert registry.get("/schemas/ids/1").status_code == 200
    expect_error(registry.get(f"/subjects/{subject}/versions"), 40401)
    assert registry.get(f"/subjects/{subject}/versions", deleted="true").json() == [1]

    other = subject_name()
    registry.post(f"/subjects/{other}/versions", {"schema": '"long"'})
    assert registry.delete(f"/subjects/{other}").json() == [1]
    expect_error(registry.delete(f"/subjects/{other}"), 40404)

    readonly = subject_name()
    assert registry.put(f"/mode/{readonly}", {"mode": "READONLY"}).json() == {"mode": "READONLY"}
    expect_error(registry.post(f"/subjects/{readonly}/versions", {"schema": '"int"'}), 42205)
    expect_error(registry.put("/mode", {"mode": "SOMETIMES"}), 42204)


def test_state_survives_restart(vltava_bin, tmp_path):
    instance = Registry(vltava_bin, tmp_path / "data", free_port()).start()
    try:
        subject = subject_name()
        first = instance.post(f"/subjects/{subject}/versions", {"schema": avro_record({"name": "a", "type": "int"})}).json()["id"]
        instance.post(f"/subjects/{subject}/versions",
                      {"schema": avro_record({"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": 1})})
        instance.put(f"/config/{subject}", {"compatibility": "FULL_TRANSITIVE"})
        assert instance.delete(f"/subjects/{subject}/versions/1").json() == 1
        instance.put(f"/mode/{subject}", {"mode": "READONLY"})
        expect_error(instance.delete(f"/subjects/{subject}/versions/2"), 42205)
        before = [instance.get(path).json() for path in (
            f"/subjects/{subject}/versions", f"/subjects/{subject}/versions/latest", f"/schemas/ids/{first}",
            f"/config/{subject}", f"/mode/{subject}", "/subjects")]
        instance.restart()
        after = [instance.get(path).json() for path in (
            f"/subjects/{subject}/versions", f"/subjects/{subject}/versions/latest", f"/schemas/ids/{first}",
            f"/config/{subject}", f"/mode/{subject}", "/subjects")]
        assert after == before
        assert before[0] == [2] and before[3] == {"compatibilityLevel": "FULL_TRANSITIVE"} and before[4] == {"mode": "READONLY"}
    finally:
        instance.stop()


def test_confluent_avro_serializer_through_the_broker(registry):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = subject_name("avro")
    client = SchemaRegistryClient({"url": registry.url})
    schema = avro_record({"name": "id", "type": "string"}, {"name": "value", "type": "double"})
    readings = [{"id": f"sensor-{i}", "value": i * 1.5} for i in range(5)]
    received = produce_and_consume(registry, topic, AvroSerializer(client, schema), AvroDeserializer(client), readings)
    assert received == readings

    registered = client.get_latest_version(f"{topic}-value")
    assert registered.version == 1 and registered.schema.schema_type == "AVRO"
    # A serializer that only uses the latest registered version.
    latest_only = AvroSerializer(client, None, conf={"auto.register.schemas": False, "use.latest.version": True})
    payload = latest_only({"id": "x", "value": 2.0}, SerializationContext(topic, MessageField.VALUE))
    assert payload[0] == 0 and int.from_bytes(payload[1:5], "big") == registered.schema_id


def produce_and_consume(registry, topic, serializer, deserializer, values):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.serialization import MessageField, SerializationContext

    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": registry.broker.bootstrap})
    for value in values:
        producer.produce(topic, value=serializer(value, context))
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": registry.broker.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received = []
    deadline = time.monotonic() + 30
    while len(received) < len(values) and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        received.append(deserializer(message.value(), context))
    consumer.close()
    return received


def test_confluent_protobuf_serializer_through_the_broker(registry):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    topic = subject_name("proto")
    # The protobuf module, generated here from a descriptor rather than by protoc.
    file = descriptor_pb2.FileDescriptorProto(name=f"{topic}.proto", package="vltava.test", syntax="proto3")
    message = file.message_type.add(name="Measurement")
    for number, (name, kind) in enumerate([("id", "TYPE_STRING"), ("timestamp", "TYPE_INT64"), ("value", "TYPE_DOUBLE"),
                                           ("quality", "TYPE_UINT32")], start=1):
        message.field.add(name=name, number=number, type=getattr(descriptor_pb2.FieldDescriptorProto, kind),
                          label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    measurement = message_factory.GetMessageClass(pool.FindMessageTypeByName("vltava.test.Measurement"))

    client = SchemaRegistryClient({"url": registry.url})
    serializer = ProtobufSerializer(measurement, client, {"use.deprecated.format": False})
    deserializer = ProtobufDeserializer(measurement, {"use.deprecated.format": False}, client)
    values = [measurement(id=f"m{i}", timestamp=1_700_000_000_000 + i, value=i / 4, quality=i) for i in range(4)]
    assert produce_and_consume(registry, topic, serializer, deserializer, values) == values

    stored = registry.get(f"/subjects/{topic}-value/versions/latest").json()
    assert stored["schemaType"] == "PROTOBUF" and "message Measurement" in stored["schema"]
    serialized = registry.get(f"/schemas/ids/{stored['id']}", format="serialized").json()["schema"]
    parsed = descriptor_pb2.FileDescriptorProto.FromString(__import__("base64").b64decode(serialized))
    assert [field.name for field in parsed.message_type[0].field] == ["id", "timestamp", "value", "quality"]


def test_confluent_json_serializer_through_the_broker(registry):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

    topic = subject_name("json")
    schema = json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#", "title": "Reading", "type": "object",
        "properties": {"id": {"type": "string"}, "value": {"type": "number"}}, "required": ["id"],
    })
    client = SchemaRegistryClient({"url": registry.url})
    values = [{"id": f"j{i}", "value": i * 2.5} for i in range(3)]
    received = produce_and_consume(registry, topic, JSONSerializer(schema, client), JSONDeserializer(schema), values)
    assert received == values
    assert registry.get(f"/subjects/{topic}-value/versions/1").json()["schemaType"] == "JSON"


def test_standalone_registry_on_the_same_topic_serves_the_same_answers(vltava_bin, registry, tmp_path):
    subject = subject_name("shared")
    schema = avro_record({"name": "a", "type": "int"})
    schema_id = registry.post(f"/subjects/{subject}/versions", {"schema": schema}).json()["id"]
    registry.put(f"/config/{subject}", {"compatibility": "NONE"})

    port = free_port()
    log = open(tmp_path / "standalone.log", "wb")
    standalone = subprocess.Popen(
        [str(vltava_bin), "schema-registry", "--listeners", f"http://127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
        env={**__import__("os").environ, "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": f"PLAINTEXT://{registry.broker.bootstrap}"})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_registry(url)
        for path in (f"/subjects/{subject}/versions/1", f"/schemas/ids/{schema_id}", f"/config/{subject}", "/subjects"):
            assert requests.get(url + path, timeout=10).json() == registry.get(path).json(), path
        # A write through the second registry is seen by the first once read from the topic.
        changed = avro_record({"name": "b", "type": "string"})
        requests.post(f"{url}/subjects/{subject}/versions", data=json.dumps({"schema": changed}), timeout=30).raise_for_status()
        deadline = time.monotonic() + 10
        while registry.get(f"/subjects/{subject}/versions").json() != [1, 2] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]
    finally:
        standalone.terminate()
        assert standalone.wait(timeout=20) == 0


def test_avro_references(registry):
    common_subject = subject_name("common")
    common = json.dumps({"type": "record", "name": "Common", "namespace": "vltava.test",
                         "fields": [{"name": "source", "type": "string"}]})
    common_id = registry.post(f"/subjects/{common_subject}/versions", {"schema": common}).json()["id"]
    subject = subject_name("user")
    body = {"schema": avro_record({"name": "common", "type": "vltava.test.Common"}),
            "references": [{"name": "vltava.test.Common", "subject": common_subject, "version": 1}]}
    first = registry.post(f"/subjects/{subject}/versions", body).json()["id"]
    assert registry.post(f"/subjects/{subject}/versions", body).json()["id"] == first
    assert registry.get(f"/subjects/{subject}/versions").json() == [1]
    assert registry.get(f"/subjects/{subject}/versions/1").json()["references"] == body["references"]
    assert registry.post(f"/subjects/{subject}", body).json()["version"] == 1
    assert registry.get(f"/subjects/{common_subject}/versions/1/referencedby").json() == [first]
    expect_error(registry.delete(f"/subjects/{common_subject}/versions/1"), 42206)
    missing = dict(body, references=[{"name": "vltava.test.Common", "subject": common_subject, "version": 9}])
    expect_error(registry.post(f"/subjects/{subject_name()}/versions", missing), 42201)
    assert registry.get(f"/schemas/ids/{common_id}").status_code == 200


def test_schemas_command(vltava_bin, registry, tmp_path):
    def schemas(*args):
        return subprocess.run([str(vltava_bin), "schemas", *args, "--registry-url", registry.url],
                              capture_output=True, text=True, timeout=60)

    subject = subject_name("cli")
    schema_file = tmp_path / "reading.avsc"
    schema_file.write_text(avro_record({"name": "id", "type": "string"}))
    registered = schemas("register", subject, "--type", "AVRO", "--file", str(schema_file))
    assert registered.returncode == 0, registered.stderr
    assert "id" in json.loads(registered.stdout)
    assert subject in json.loads(schemas("list").stdout)
    assert json.loads(schemas("get", subject).stdout)["version"] == 1
    incompatible = tmp_path / "incompatible.avsc"
    incompatible.write_text(avro_record({"name": "id", "type": "string"}, {"name": "n", "type": "int"}))
    checked = json.loads(schemas("check", subject, "--file", str(incompatible)).stdout)
    assert checked["is_compatible"] is False and checked["messages"]
    missing = schemas("get", "no-such-subject")
    assert missing.returncode != 0 and "40401" in missing.stderr
    assert json.loads(schemas("delete", subject).stdout) == [1]
    assert json.loads(schemas("delete", subject, "--permanent").stdout) == [1]
