"""The console's produce form writing typed JSON with a registry subject's latest schema: AVRO, PROTOBUF and JSON
Schema subjects registered with confluent-kafka's SchemaRegistryClient, values posted through the form as a person
types them, and read back by confluent-kafka's AvroDeserializer, ProtobufDeserializer and JSONDeserializer; a value
that does not fit is refused with the field named, and nothing is written."""

import json
import re
import time
import urllib.parse

import pytest
import requests
from conftest import BrokerProcess, free_port, unique_topic

AVRO_SCHEMA = json.dumps({
    "type": "record", "name": "Order", "namespace": "vltava.console", "fields": [
        {"name": "id", "type": "int"},
        {"name": "name", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "int"], "default": None}]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    ]})

PROTO_SCHEMA = """syntax = "proto3";
package vltava.console;

message Order {
  int32 id = 1;
  string name = 2;
  repeated string tags = 3;
  Address address = 4;
  Status status = 5;
  oneof payment {
    string card = 6;
    int64 voucher = 7;
  }
  message Address {
    string city = 1;
    int32 zip = 2;
  }
  enum Status {
    NEW = 0;
    PAID = 1;
  }
}
"""

JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
    "properties": {"name": {"type": "string"}, "amount": {"type": "number", "minimum": 0},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name", "amount"], "additionalProperties": False,
})


class ConsoleBroker(BrokerProcess):
    """A broker with its registry and its console on free loopback ports."""

    def __init__(self, binary, data_dir):
        self.console_port = free_port()
        self.registry_url = f"http://127.0.0.1:{free_port()}"
        super().__init__(binary, data_dir, free_port(), extra_args=[
            "--console-listeners", f"http://127.0.0.1:{self.console_port}",
            "--schema-registry-listeners", self.registry_url])

    def url(self, path):
        return f"http://127.0.0.1:{self.console_port}{path}"

    def wait_http(self, url, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout}s: {self.log()}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def console(vltava_bin, tmp_path_factory):
    broker = ConsoleBroker(vltava_bin, tmp_path_factory.mktemp("console-produce") / "data").start()
    try:
        broker.wait_http(broker.registry_url + "/")
        broker.wait_http(broker.url("/livez"))
        yield broker
    finally:
        broker.stop()


def create_topic(console, topic):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": console.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)


def post_produce(console, topic, subject, value):
    """Posts the produce form as a browser does; gives the flash message the answer carries (kind, text)."""
    session = requests.Session()
    form = session.get(console.url(f"/topics/{topic}/produce"), timeout=10)
    assert form.status_code == 200, form.text
    assert f'<option value="{subject}">' in form.text, "the form lists the subject"
    token = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert token, form.text
    answer = session.post(console.url(f"/topics/{topic}/produce"), allow_redirects=False, timeout=30, data={
        "partition": "0", "key": "k1", "value": value, "value_subject": subject, "_csrf": token.group(1)})
    assert answer.status_code == 303, answer.text
    flash = session.cookies.get("vltava_flash")
    assert flash, answer.headers
    return ("notice" if flash[0] == "n" else "error"), urllib.parse.unquote(flash[1:])


def consume(console, topic, count=1, timeout=30.0):
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": console.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        received.append(message)
    consumer.close()
    return received


def register(console, subject, text, schema_type):
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    client = SchemaRegistryClient({"url": console.registry_url})
    # An older version first: the form writes with the latest.
    older = {"AVRO": json.dumps({"type": "record", "name": "Order", "namespace": "vltava.console",
                                 "fields": [{"name": "id", "type": "int"}]}),
             "PROTOBUF": 'syntax = "proto3";\npackage vltava.console;\n\nmessage Order {\n  int32 id = 1;\n}\n',
             "JSON": json.dumps({"type": "object"})}[schema_type]
    client.set_compatibility(subject_name=subject, level="NONE")
    client.register_schema(subject, Schema(older, schema_type))
    schema_id = client.register_schema(subject, Schema(text, schema_type))
    return client, schema_id


def schema_id_of(value):
    assert value[0] == 0, value
    return int.from_bytes(value[1:5], "big")


def test_avro_value_read_by_confluents_deserializer(console):
    from decimal import Decimal

    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = unique_topic("console-avro")
    create_topic(console, topic)
    client, schema_id = register(console, f"{topic}-value", AVRO_SCHEMA, "AVRO")
    typed = {"id": 7, "name": "Ada", "note": "fragile", "address": {"city": "Prague"}, "tags": ["a", "b"],
             "status": "PAID", "amount": 12.5}
    kind, text = post_produce(console, topic, f"{topic}-value", json.dumps(typed))
    assert (kind, text) == ("notice", "Produced to partition 0 at offset 0."), text
    [message] = consume(console, topic)
    assert schema_id_of(message.value()) == schema_id
    value = AvroDeserializer(client)(message.value(), SerializationContext(topic, MessageField.VALUE))
    assert value == {"id": 7, "name": "Ada", "note": "fragile", "address": {"city": "Prague", "zip": None},
                     "tags": ["a", "b"], "status": "PAID", "amount": Decimal("12.50")}
    assert message.key() == b"k1"


def test_protobuf_value_read_by_confluents_deserializer(console):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

    topic = unique_topic("console-proto")
    create_topic(console, topic)
    _, schema_id = register(console, f"{topic}-value", PROTO_SCHEMA, "PROTOBUF")
    # A client of its own: the registering one remembers the schema by id as text, and the deserializer asks for it
    # as a serialized FileDescriptorProto.
    client = SchemaRegistryClient({"url": console.registry_url})
    # The message class, made here from a descriptor rather than by protoc.
    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name=f"{topic}.proto", package="vltava.console", syntax="proto3")
    order = file.message_type.add(name="Order")
    address = order.nested_type.add(name="Address")
    address.field.add(name="city", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    address.field.add(name="zip", number=2, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    status = order.enum_type.add(name="Status")
    status.value.add(name="NEW", number=0)
    status.value.add(name="PAID", number=1)
    order.oneof_decl.add(name="payment")
    order.field.add(name="id", number=1, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    order.field.add(name="name", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    order.field.add(name="tags", number=3, type=field.TYPE_STRING, label=field.LABEL_REPEATED)
    order.field.add(name="address", number=4, type=field.TYPE_MESSAGE, label=field.LABEL_OPTIONAL,
                    type_name=".vltava.console.Order.Address")
    order.field.add(name="status", number=5, type=field.TYPE_ENUM, label=field.LABEL_OPTIONAL,
                    type_name=".vltava.console.Order.Status")
    order.field.add(name="card", number=6, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL, oneof_index=0)
    order.field.add(name="voucher", number=7, type=field.TYPE_INT64, label=field.LABEL_OPTIONAL, oneof_index=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    order_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("vltava.console.Order"))

    typed = {"id": 7, "name": "Ada", "tags": ["a", "b"], "address": {"city": "Prague", "zip": 11000},
             "status": "PAID", "voucher": 5}
    kind, text = post_produce(console, topic, f"{topic}-value", json.dumps(typed))
    assert kind == "notice", text
    [message] = consume(console, topic)
    assert schema_id_of(message.value()) == schema_id
    deserializer = ProtobufDeserializer(order_class, {"use.deprecated.format": False}, client)
    value = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))
    assert json_format.MessageToDict(value, preserving_proto_field_name=True) == {
        "id": 7, "name": "Ada", "tags": ["a", "b"], "address": {"city": "Prague", "zip": 11000}, "status": "PAID",
        "voucher": "5"}
    # The class the test made reads the bytes the same (no registry involved).
    plain = order_class.FromString(message.value()[6:])
    assert (plain.id, plain.voucher, plain.address.city, plain.status) == (7, 5, "Prague", 1)


def test_json_schema_value_read_by_confluents_deserializer(console):
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = unique_topic("console-json")
    create_topic(console, topic)
    client, schema_id = register(console, f"{topic}-value", JSON_SCHEMA, "JSON")
    kind, text = post_produce(console, topic, f"{topic}-value", '{"name": "Ada", "amount": 3.5, "tags": ["a"]}')
    assert kind == "notice", text
    [message] = consume(console, topic)
    assert schema_id_of(message.value()) == schema_id
    value = JSONDeserializer(None, schema_registry_client=client)(message.value(), SerializationContext(topic, MessageField.VALUE))
    assert value == {"name": "Ada", "amount": 3.5, "tags": ["a"]}


@pytest.mark.parametrize("schema_type, text, typed, message", [
    ("JSON", JSON_SCHEMA, {"name": "Ada", "amount": "abc"}, "field 'amount': expected a number, got \"abc\""),
    ("JSON", JSON_SCHEMA, {"name": "Ada"}, "field 'amount' is missing (it is required)"),
    ("AVRO", AVRO_SCHEMA, {"id": 7, "name": "Ada", "address": {"city": 5}, "tags": [], "status": "NEW", "amount": 1},
     "field 'address.city': expected a string, got 5"),
    ("PROTOBUF", PROTO_SCHEMA, {"status": "LOST"}, "field 'status': expected one of \"NEW\", \"PAID\", got \"LOST\""),
])
def test_a_value_that_does_not_fit_is_refused_naming_the_field(console, schema_type, text, typed, message):
    topic = unique_topic("console-bad")
    create_topic(console, topic)
    register(console, f"{topic}-value", text, schema_type)
    kind, flash = post_produce(console, topic, f"{topic}-value", json.dumps(typed))
    assert kind == "error" and message in flash, flash
    assert consume(console, topic, timeout=5) == [], "nothing was written"
