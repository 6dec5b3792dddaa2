"""The web console of `vltava serve` (Sources/VltavaConsole, on --console-listeners) in a real browser: Debian's
Chromium, headless, through Playwright (browser_support.py). Every page loads without console errors; records are
shown decoded (a Protobuf value produced through confluent-kafka's serializer, kafka-python's producer) and escaped
(a `<script>` value stays text); the live tail shows a new record within 2 s; the forms work with JavaScript
disabled (create and delete a topic), are refused without their CSRF token, and reset a group's offsets only while
the group is empty; the lag shown equals the CLI's and /metrics'; a schema version registered through the console
shows in the version diff. Screenshots of every page go to Tests/interop/artifacts/console/ ($CONSOLE_ARTIFACTS).

One `vltava serve` (broker, registry, Connect and console on free loopback ports) serves the whole module."""

import json
import re
import subprocess
import time
import urllib.parse

import pytest
import requests
from browser_support import browser, pages  # noqa: F401 - fixtures
from conftest import BrokerProcess, free_port, unique_topic
from test_metrics import parse_metrics, value


class ConsoleServer(BrokerProcess):
    """`vltava serve` with its console, schema registry and Connect each on a free loopback port."""

    def __init__(self, binary, data_dir):
        self.console_port = free_port()
        self.registry_port = free_port()
        self.connect_port = free_port()
        super().__init__(binary, data_dir, free_port(), extra_args=[
            "--console-listeners", f"http://127.0.0.1:{self.console_port}",
            "--schema-registry-listeners", f"http://127.0.0.1:{self.registry_port}",
            "--connect-listeners", f"http://127.0.0.1:{self.connect_port}",
            # Empty groups wait 300 ms, not Kafka's 3 s, for more members before their first rebalance.
            "--override", "group.initial.rebalance.delay.ms=300"])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.console_port}{path}"

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}"

    @property
    def connect_url(self) -> str:
        return f"http://127.0.0.1:{self.connect_port}"

    def wait_ready(self, timeout: float = 60.0):
        for url in (self.url("/readyz"), self.registry_url + "/", self.connect_url + "/connectors"):
            wait_until(lambda: http_ok(url), timeout, f"{url} did not answer 200: {self.log()}")
        return self


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def wait_until(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.05)


def number(text: str) -> int:
    """An integer shown in a cell ("1,234" and "1 234" included)."""
    digits = re.sub(r"[^0-9-]", "", text)
    assert digits, f"no number in {text!r}"
    return int(digits)


@pytest.fixture(scope="module")
def console(vltava_bin, tmp_path_factory):
    server = ConsoleServer(vltava_bin, tmp_path_factory.mktemp("console") / "data").start()
    try:
        yield server.wait_ready()
    finally:
        server.kill9()


def admin(server):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=server.bootstrap)


def create_topic(server, topic: str, partitions: int = 1):
    from kafka.admin import NewTopic

    client = admin(server)
    try:
        client.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        client.close()


def produce(server, topic: str, values, partition=None, key=None, headers=None):
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=server.bootstrap)
    try:
        for v in values:
            producer.send(topic, v if isinstance(v, bytes) else v.encode(), key=key, partition=partition,
                          headers=headers or [])
        producer.flush(30)
    finally:
        producer.close()


def commit(server, group: str, offsets: dict):
    """Commits {(topic, partition): offset} for an empty group."""
    from kafka.structs import OffsetAndMetadata, TopicPartition

    client = admin(server)
    try:
        errors = client.alter_group_offsets(
            group, {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()})
    finally:
        client.close()
    assert all(error.__name__ == "NoError" for error in errors.values()), errors


def committed(server, group: str) -> dict:
    """{(topic, partition): offset} committed by the group."""
    client = admin(server)
    try:
        found = client.list_group_offsets(group)[group]
    finally:
        client.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}


def register(server, subject: str, schema: str, schema_type: str = "AVRO") -> int:
    answer = requests.post(f"{server.registry_url}/subjects/{subject}/versions",
                           json={"schema": schema, "schemaType": schema_type}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def avro_record(*fields) -> str:
    return json.dumps({"type": "record", "name": "Reading", "namespace": "vltava.console",
                       "fields": list(fields)}, indent=2)


def quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


@pytest.fixture(scope="module")
def seeded(console):
    """A topic with records on 3 partitions, a group with committed offsets, a subject with two versions and a
    connector: something on every page."""
    topic = unique_topic("orders")
    group = unique_topic("billing")
    subject = f"{topic}-value"
    create_topic(console, topic, partitions=3)
    for p in range(3):
        produce(console, topic, [f"order {p}-{i}" for i in range(5)], partition=p, key=b"k")
    commit(console, group, {(topic, 0): 2, (topic, 1): 5, (topic, 2): 0})
    register(console, subject, avro_record({"name": "id", "type": "string"}))
    register(console, subject, avro_record({"name": "id", "type": "string"},
                                           {"name": "amount", "type": "double", "default": 0}))
    connector = unique_topic("sink")
    answer = requests.post(f"{console.connect_url}/connectors", json={"name": connector, "config": {
        "connector.class": "FileStreamSink", "topics": topic, "file": "/dev/null", "tasks.max": "1",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter"}}, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return {"topic": topic, "group": group, "subject": subject, "connector": connector}


def form_fields(page, form_id: str, fields: dict):
    """Fills the named fields of form#form_id (a select by its option value, anything else by typing)."""
    form = page.locator(f"form#{form_id}")
    assert form.count() == 1, f"no form#{form_id} on {page.url}"
    if not form.is_visible():
        # Dangerous forms sit in a closed <details>: open it as a user would (no JavaScript needed).
        page.locator(f"details:has(form#{form_id}) > summary").click()
    for name, text in fields.items():
        select = form.locator(f"select[name='{name}']")
        if select.count():
            select.select_option(str(text))
        else:
            form.locator(f"[name='{name}']").fill(str(text))
    return form


def submit(page, form_id: str, fields: dict):
    """Fills and submits form#form_id, waiting for the page it leads to; returns that page's response."""
    form = form_fields(page, form_id, fields)
    with page.expect_navigation() as navigation:
        form.locator("button[type=submit], input[type=submit], button:not([type])").first.click()
    return navigation.value


def goto(page, url: str, status: int = 200):
    from playwright.sync_api import Error

    try:
        response = page.goto(url)
    except Error as failure:  # Chromium's ERR_HTTP_RESPONSE_CODE_FAILURE: an error status with an empty body
        raise AssertionError(f"GET {url} failed: {failure.message.splitlines()[0]}") from None
    assert response is not None and response.status == status, \
        f"GET {url}: {response.status if response else None}, expected {status}: {page.content()[:2000]}"
    return response


def notice(page) -> str:
    assert page.locator("p#error").count() == 0, f"{page.url} shows an error: {page.locator('p#error').inner_text()}"
    assert page.locator("p#notice").count() == 1, f"{page.url} shows no p#notice: {page.content()[:2000]}"
    return page.locator("p#notice").inner_text()


def error(page) -> str:
    assert page.locator("p#error").count() == 1, f"{page.url} shows no p#error: {page.content()[:2000]}"
    return page.locator("p#error").inner_text()


NAV_LINKS = {"/", "/topics", "/groups", "/schemas", "/connectors", "/security"}


def page_paths(seeded):
    t, g, s = quoted(seeded["topic"]), quoted(seeded["group"]), quoted(seeded["subject"])
    return {
        "/": ["table#brokers", "#topic-count", "#partition-count", "svg.chart"],
        "/topics": [f"tr[data-topic='{seeded['topic']}']", "form#create-topic"],
        f"/topics/{t}": ["table#partitions tr[data-partition]", "table#configs", "form#set-config",
                         "form#add-partitions", "form#purge", "form#delete-topic"],
        f"/topics/{t}/messages": ["table#messages tr.message", "#tail-start", "a#export"],
        f"/topics/{t}/produce": ["form#produce"],
        "/groups": [f"tr[data-group='{seeded['group']}']"],
        f"/groups/{g}": ["table#lag tr[data-topic][data-partition]", "#total-lag", "svg.chart", "form#reset-offsets"],
        "/schemas": [f"tr[data-subject='{seeded['subject']}']"],
        f"/schemas/{s}": ["pre#schema", "form#compatibility-form", "form#register"],
        f"/schemas/{s}/diff?from=1&to=2": ["pre#diff"],
        "/connectors": ["table#connectors"],
        "/security": ["table#acls", "table#users"],
    }


def test_every_page_loads_without_console_errors(console, seeded, pages):
    page = pages.new()
    for path, hooks in page_paths(seeded).items():
        goto(page, console.url(path))
        assert page.title().endswith("· Vltava"), f"{path}: title {page.title()!r}"
        links = {urllib.parse.urlsplit(href).path
                 for href in page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")}
        assert NAV_LINKS <= links, f"{path}: nav links {sorted(links)}"
        assert page.locator("main#content").count() == 1, path
        for hook in hooks:
            assert page.locator(hook).count() >= 1, f"{path}: no {hook}"
        # Forms that change something post with the CSRF token; the others (filters, seeking) are GETs.
        for form in page.locator("form").all():
            method = (form.get_attribute("method") or "get").lower()
            assert method in ("get", "post"), f"{path}: a form with method {method}"
            if method == "post":
                assert form.locator("input[type=hidden][name=_csrf]").count() == 1, \
                    f"{path}: form {form.get_attribute('action')} has no _csrf"
        pages.screenshot(page, path)
    goto(page, console.url("/connectors"))
    assert seeded["connector"] in page.locator("table#connectors").inner_text()
    pages.check()


def test_topic_pages_show_the_partitions_and_messages(console, seeded, pages):
    page = pages.new()
    topic = seeded["topic"]
    goto(page, console.url("/topics"))
    row = page.locator(f"table#topics tr[data-topic='{topic}']")
    assert number(row.locator("td.partitions").inner_text()) == 3
    goto(page, console.url(f"/topics/{quoted(topic)}"))
    for p in range(3):
        row = page.locator(f"table#partitions tr[data-partition='{p}']")
        assert (number(row.locator("td.start").inner_text()), number(row.locator("td.end").inner_text())) == (0, 5)
    goto(page, console.url(f"/topics/{quoted(topic)}/messages?partition=1&seek=oldest&limit=100"))
    rows = page.locator("table#messages tr.message")
    assert rows.count() == 5
    assert sorted(int(r.get_attribute("data-offset")) for r in rows.all()) == list(range(5))
    assert {r.get_attribute("data-partition") for r in rows.all()} == {"1"}
    assert {r.locator("td.value").inner_text().strip() for r in rows.all()} == {f"order 1-{i}" for i in range(5)}
    exported = requests.get(urllib.parse.urljoin(page.url, page.locator("a#export").get_attribute("href")), timeout=10)
    assert exported.status_code == 200, exported.text
    assert len(exported.json()) == 5, exported.text


def protobuf_measurement(name: str):
    """A protobuf message class made from a descriptor (no protoc), as test_schema_registry does."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    file = descriptor_pb2.FileDescriptorProto(name=f"{name}.proto", package="vltava.console", syntax="proto3")
    message = file.message_type.add(name="Measurement")
    for field_number, (field, kind) in enumerate([("id", "TYPE_STRING"), ("timestamp", "TYPE_INT64"),
                                                  ("value", "TYPE_DOUBLE"), ("quality", "TYPE_UINT32")], start=1):
        message.field.add(name=field, number=field_number, type=getattr(descriptor_pb2.FieldDescriptorProto, kind),
                          label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("vltava.console.Measurement"))


def test_a_protobuf_record_is_shown_decoded(console, pages):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = unique_topic("proto")
    create_topic(console, topic)
    measurement = protobuf_measurement(topic)
    client = SchemaRegistryClient({"url": console.registry_url})
    serializer = ProtobufSerializer(measurement, client, {"use.deprecated.format": False})
    payload = serializer(measurement(id="sensor-7", timestamp=1_700_000_000_123, value=21.5, quality=3),
                         SerializationContext(topic, MessageField.VALUE))
    produce(console, topic, [payload], key=b"sensor-7", headers=[("origin", b"lab")])
    schema_id = client.get_latest_version(f"{topic}-value").schema_id
    assert int.from_bytes(payload[1:5], "big") == schema_id

    page = pages.new()
    goto(page, console.url(f"/topics/{quoted(topic)}/messages?seek=oldest"))
    row = page.locator("table#messages tr.message[data-partition='0'][data-offset='0']")
    assert row.count() == 1, page.content()[:3000]
    format_text = row.locator("td.format").inner_text()
    assert "PROTOBUF" in format_text and re.search(rf"\b{schema_id}\b", format_text), format_text
    assert row.locator("td.key").inner_text().strip() == "sensor-7"
    assert "origin" in row.locator("td.headers").inner_text() and "lab" in row.locator("td.headers").inner_text()
    shown = row.locator("td.value").inner_text()
    decoded = json.loads(shown)
    # Proto3's JSON mapping writes 64-bit integers as strings.
    assert (decoded["id"], int(decoded["timestamp"]), float(decoded["value"]), int(decoded["quality"])) == \
        ("sensor-7", 1_700_000_000_123, 21.5, 3), shown
    pages.screenshot(page, "protobuf")


def topic_names(server) -> set:
    client = admin(server)
    try:
        return set(client.list_topics())
    finally:
        client.close()


def test_create_and_delete_a_topic_without_javascript(console, pages):
    topic = unique_topic("nojs")
    page = pages.new(javascript=False)
    goto(page, console.url("/topics"))
    submit(page, "create-topic", {"name": topic, "partitions": 2, "replication_factor": 1,
                                  "configs": "retention.ms=3600000\ncleanup.policy=delete"})
    assert topic in notice(page)
    goto(page, console.url("/topics"))
    row = page.locator(f"table#topics tr[data-topic='{topic}']")
    assert row.count() == 1 and number(row.locator("td.partitions").inner_text()) == 2
    assert topic in topic_names(console)
    goto(page, console.url(f"/topics/{quoted(topic)}"))
    assert "3600000" in page.locator("table#configs").inner_text()
    pages.screenshot(page, "created")

    # A confirmation that is not the topic's name deletes nothing.
    submit(page, "delete-topic", {"confirm": topic + "-not"})
    assert topic in error(page) or "confirm" in error(page).lower()
    assert topic in topic_names(console)

    goto(page, console.url(f"/topics/{quoted(topic)}"))
    submit(page, "delete-topic", {"confirm": topic})
    assert topic in notice(page)
    goto(page, console.url("/topics"))
    assert page.locator(f"table#topics tr[data-topic='{topic}']").count() == 0
    wait_until(lambda: topic not in topic_names(console), 10, f"{topic} still listed by the admin client")


def cli_lag(vltava_bin, server, group: str) -> dict:
    """{(topic, partition): lag} from `vltava groups describe`'s LAG column."""
    described = subprocess.run([str(vltava_bin), "groups", "describe", "--bootstrap-server", server.bootstrap,
                                "--group", group], capture_output=True, text=True, timeout=60)
    assert described.returncode == 0, described.stderr
    lines = [line.split() for line in described.stdout.splitlines() if line.strip()]
    header = next(fields for fields in lines if "LAG" in fields and "PARTITION" in fields)
    topic_at, partition_at, lag_at = header.index("TOPIC"), header.index("PARTITION"), header.index("LAG")
    return {(fields[topic_at], int(fields[partition_at])): int(fields[lag_at]) for fields in lines
            if len(fields) == len(header) and fields is not header and fields[partition_at].isdigit()}


def test_lag_equals_the_cli_and_metrics(console, vltava_bin, pages):
    topic = unique_topic("lag")
    group = unique_topic("lag-group")
    create_topic(console, topic, partitions=3)
    for p, count in enumerate([12, 7, 3]):
        produce(console, topic, [f"r{i}" for i in range(count)], partition=p)
    commit(console, group, {(topic, 0): 2, (topic, 1): 7, (topic, 2): 1})

    from_cli = cli_lag(vltava_bin, console, group)
    assert from_cli == {(topic, 0): 10, (topic, 1): 0, (topic, 2): 2}
    samples = parse_metrics(requests.get(console.url("/metrics"), timeout=10).text)
    from_metrics = {(topic, p): value(samples, "kafka_consumergroup_lag", consumergroup=group, topic=topic,
                                      partition=str(p)) for p in range(3)}
    assert from_metrics == {k: float(v) for k, v in from_cli.items()}

    page = pages.new()
    goto(page, console.url(f"/groups/{quoted(group)}"))
    shown = {}
    for row in page.locator("table#lag tr[data-topic][data-partition]").all():
        key = (row.get_attribute("data-topic"), int(row.get_attribute("data-partition")))
        shown[key] = number(row.locator("td.lag").inner_text())
        if key == (topic, 0):
            assert (number(row.locator("td.committed").inner_text()), number(row.locator("td.end").inner_text())) \
                == (2, 12)
    assert shown == from_cli
    assert number(page.locator("#total-lag").inner_text()) == sum(from_cli.values())
    goto(page, console.url("/groups"))
    assert number(page.locator(f"table#groups tr[data-group='{group}'] td.lag").inner_text()) == 12


def test_a_post_without_the_csrf_token_is_refused(console, pages):
    page = pages.new()
    goto(page, console.url("/topics"))
    form = page.locator("form#create-topic")
    action = urllib.parse.urljoin(page.url, form.get_attribute("action") or page.url)
    token = form.locator("input[name=_csrf]").get_attribute("value")
    assert token
    refused = unique_topic("csrf")
    fields = {"name": refused, "partitions": "1", "replication_factor": "1", "configs": ""}
    # page.request shares the page's cookies: only the token differs between these posts.
    for form_data in (fields, {**fields, "_csrf": ""}, {**fields, "_csrf": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")}):
        answer = page.request.post(action, form=form_data, max_redirects=0)
        assert answer.status == 403, (form_data.get("_csrf"), answer.status, answer.text()[:500])
    assert refused not in topic_names(console)
    accepted = unique_topic("csrf-ok")
    answer = page.request.post(action, form={**fields, "name": accepted, "_csrf": token}, max_redirects=0)
    assert answer.status == 303, (answer.status, answer.text()[:500])
    assert accepted in topic_names(console) and refused not in topic_names(console)


def test_every_form_action_refuses_a_post_without_the_token(console, seeded, pages):
    page = pages.new()
    actions = set()
    for path in [p for p in page_paths(seeded) if "/diff" not in p] + [f"/connectors/{quoted(seeded['connector'])}"]:
        goto(page, console.url(path))
        actions |= set(page.locator("form").evaluate_all(
            "forms => forms.filter(f => (f.getAttribute('method') || '').toLowerCase() === 'post')"
            ".map(f => f.getAttribute('action'))"))
    assert len(actions) >= 10, sorted(actions)
    answers = {action: page.request.post(urllib.parse.urljoin(page.url, action), form={"confirm": ""},
                                         max_redirects=0).status for action in sorted(actions)}
    assert "/theme" in answers
    assert {a: s for a, s in answers.items() if s != 403} == {}, answers


def test_the_theme_form_refuses_a_post_without_the_token(console, pages):
    page = pages.new()
    goto(page, console.url("/topics"))
    assert page.locator("form[action='/theme'] input[name=_csrf]").count() == 1
    answer = page.request.post(console.url("/theme"), form={"theme": "dark"}, max_redirects=0)
    assert answer.status == 403, answer.status
    goto(page, console.url("/topics"))
    assert page.locator("html").get_attribute("data-theme") == "auto"


def test_reset_offsets_of_an_empty_group_and_not_of_an_active_one(console, pages):
    from kafka import KafkaConsumer

    topic = unique_topic("reset")
    group = unique_topic("reset-group")
    create_topic(console, topic, partitions=2)
    for p in range(2):
        produce(console, topic, [f"r{i}" for i in range(6)], partition=p)
    commit(console, group, {(topic, 0): 4, (topic, 1): 5})

    page = pages.new()
    goto(page, console.url(f"/groups/{quoted(group)}"))
    submit(page, "reset-offsets", {"topic": topic, "target": "earliest"})
    notice(page)
    assert committed(console, group) == {(topic, 0): 0, (topic, 1): 0}
    goto(page, console.url(f"/groups/{quoted(group)}"))
    submit(page, "reset-offsets", {"topic": topic, "target": "offset", "value": 3})
    notice(page)
    assert committed(console, group) == {(topic, 0): 3, (topic, 1): 3}
    goto(page, console.url(f"/groups/{quoted(group)}"))
    assert number(page.locator("#total-lag").inner_text()) == 6

    consumer = KafkaConsumer(topic, bootstrap_servers=console.bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    try:
        deadline = time.monotonic() + 20
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
        assert consumer.assignment(), "the consumer was never assigned a partition"
        goto(page, console.url("/groups"))
        assert number(page.locator(f"table#groups tr[data-group='{group}'] td.members").inner_text()) == 1
        goto(page, console.url(f"/groups/{quoted(group)}"))
        submit(page, "reset-offsets", {"topic": topic, "target": "latest"})
        reason = error(page)
        assert reason.strip(), "an empty error"
        assert committed(console, group) == {(topic, 0): 3, (topic, 1): 3}
        pages.screenshot(page, "refused")
    finally:
        consumer.close(autocommit=False)


def test_register_a_schema_version_and_see_the_diff(console, pages):
    subject = unique_topic("readings") + "-value"
    register(console, subject, avro_record({"name": "id", "type": "string"}))
    second = avro_record({"name": "id", "type": "string"}, {"name": "celsius", "type": "double", "default": 0})
    page = pages.new()
    goto(page, console.url(f"/schemas/{quoted(subject)}"))
    assert "\"id\"" in page.locator("pre#schema").inner_text()
    submit(page, "register", {"schema_type": "AVRO", "schema": second})
    notice(page)
    versions = requests.get(f"{console.registry_url}/subjects/{subject}/versions", timeout=10).json()
    assert versions == [1, 2]
    goto(page, console.url(f"/schemas/{quoted(subject)}/diff?from=1&to=2"))
    lines = page.locator("pre#diff").inner_text().splitlines()
    assert lines and all(line[:1] in ("+", "-", " ") for line in lines if line), lines
    added = [line for line in lines if line.startswith("+")]
    assert any("celsius" in line for line in added), lines
    assert not any("celsius" in line for line in lines if line.startswith("-")), lines
    pages.screenshot(page, "diff")


def test_produce_through_the_form(console, pages):
    topic = unique_topic("form")
    subject = f"{topic}-value"
    create_topic(console, topic)
    schema_id = register(console, subject, json.dumps({
        "type": "object", "properties": {"id": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["id"]}), schema_type="JSON")
    avro_subject = f"{topic}-avro"
    register(console, avro_subject, avro_record({"name": "id", "type": "string"}))
    page = pages.new()
    goto(page, console.url(f"/topics/{quoted(topic)}/produce"))
    submit(page, "produce", {"key": "k-1", "value": "plain text", "headers": "origin=console\ntrace=7"})
    notice(page)
    assert urllib.parse.urlsplit(page.url).path == f"/topics/{quoted(topic)}/messages"
    goto(page, console.url(f"/topics/{quoted(topic)}/produce"))
    submit(page, "produce", {"key": "k-2", "value": json.dumps({"id": "a", "celsius": 20.5}), "value_subject": subject})
    notice(page)
    # A value that does not fit the subject's schema is refused naming the field; nothing is produced.
    goto(page, console.url(f"/topics/{quoted(topic)}/produce"))
    submit(page, "produce", {"key": "k-3", "value": json.dumps({"id": 5}), "value_subject": avro_subject})
    assert "field 'id'" in error(page)

    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=console.bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000)
    records = []
    for record in consumer:
        records.append(record)
        if len(records) == 2:
            break
    ends = consumer.end_offsets(list(consumer.assignment()))
    consumer.close()
    assert list(ends.values()) == [2], ends
    assert [(r.key, r.offset) for r in records] == [(b"k-1", 0), (b"k-2", 1)]
    assert records[0].value == b"plain text"
    assert sorted(records[0].headers) == [("origin", b"console"), ("trace", b"7")]
    assert records[1].value[0] == 0 and int.from_bytes(records[1].value[1:5], "big") == schema_id

    goto(page, console.url(f"/topics/{quoted(topic)}/messages?seek=oldest"))
    row = page.locator("table#messages tr.message[data-offset='1']")
    assert re.search(rf"JSON\b.*\b{schema_id}\b", row.locator("td.format").inner_text()), \
        row.locator("td.format").inner_text()
    assert json.loads(row.locator("td.value").inner_text()) == {"id": "a", "celsius": 20.5}


# The live tail tests.

def test_pages_stay_fast_while_a_live_tail_is_open(console):
    topic = unique_topic("tail-busy")
    create_topic(console, topic)

    def topics_page_ms():
        started = time.monotonic()
        assert requests.get(console.url("/topics"), timeout=30).status_code == 200
        return (time.monotonic() - started) * 1000

    # A long-polling Fetch on the console's shared connection would hold back every page behind it (Kafka answers a
    # connection's requests in order): each tail fetches through a client of its own.
    wait_until(lambda: topics_page_ms() < 300, 30, "/topics never answered within 300 ms without a live tail")
    with requests.get(console.url(f"/topics/{quoted(topic)}/tail"), stream=True, timeout=30) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        tailing = [topics_page_ms() for _ in range(3)]
    assert max(tailing) < 500, f"/topics took {tailing} ms with a live tail open (under 300 ms without)"


def tail_rows(page) -> int:
    return page.locator("#messages tbody tr.message").count()


def start_tail(page, topic: str):
    """Clicks #tail-start and waits until the event stream of /topics/{t}/tail has answered."""
    with page.expect_response(lambda r: urllib.parse.urlsplit(r.url).path == f"/topics/{quoted(topic)}/tail") as tail:
        page.locator("#tail-start").click()
    assert tail.value.status == 200, tail.value.status


def stop_tail(page):
    """Clicks the tail's button again, which closes the event stream (the server then stops fetching)."""
    page.locator("#tail-start").click()
    assert page.locator("#tail-start").inner_text().strip() == "Live tail"


def test_live_tail_shows_a_new_record_within_two_seconds(console, pages):
    topic = unique_topic("tail")
    create_topic(console, topic)
    produce(console, topic, ["before"])
    page = pages.new()
    goto(page, console.url(f"/topics/{quoted(topic)}/messages"))
    before = tail_rows(page)
    start_tail(page, topic)
    produced = time.monotonic()
    produce(console, topic, ["fresh from the tail"])
    # The page's Content-Security-Policy forbids eval, so no wait_for_function: wait for the row itself.
    page.locator("#messages tbody tr.message").nth(before).wait_for(state="attached", timeout=2_000)
    assert time.monotonic() - produced <= 2.5
    first = page.locator("#messages tbody tr.message").first
    assert first.locator("td.value").inner_text().strip() == "fresh from the tail"
    assert first.get_attribute("data-offset") == "1"
    pages.screenshot(page, "tail")
    stop_tail(page)


SCRIPT_VALUE = "<script>window.__xss=1</script>"
IMAGE_VALUE = "<img src=x onerror=\"window.__xss=2\">"


def test_a_script_value_is_shown_as_text(console, pages):
    topic = unique_topic("xss")
    create_topic(console, topic)
    produce(console, topic, [SCRIPT_VALUE, IMAGE_VALUE], key=b"<b>key</b>")
    page = pages.new()
    goto(page, console.url(f"/topics/{quoted(topic)}/messages?seek=oldest"))
    values = [cell.inner_text().strip() for cell in page.locator("table#messages tr.message td.value").all()]
    assert sorted(values) == sorted([SCRIPT_VALUE, IMAGE_VALUE]), values
    assert SCRIPT_VALUE in page.locator("main#content").inner_text()
    assert "<b>key</b>" in page.locator("table#messages td.key").first.inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined"
    # The live tail inserts its rows in the page: the same values through it.
    start_tail(page, topic)
    before = tail_rows(page)
    produce(console, topic, [IMAGE_VALUE, SCRIPT_VALUE])
    page.locator("#messages tbody tr.message").nth(before + 1).wait_for(state="attached", timeout=5_000)
    assert page.evaluate("typeof window.__xss") == "undefined"
    tailed = [cell.inner_text().strip() for cell in page.locator("#messages tbody tr.message td.value").all()[:2]]
    assert sorted(tailed) == sorted([SCRIPT_VALUE, IMAGE_VALUE]), tailed
    pages.screenshot(page, "xss")
    stop_tail(page)
