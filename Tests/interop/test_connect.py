"""Kafka Connect in `vltava serve` and `vltava connect`: the seed-style FileStreamSource → topic → FileStreamSink
flow with a clean restart in the middle, Kafka's REST API routes and status codes, a failing task, a standalone
worker whose topic confluent-kafka reads back, a dead-letter queue, and transformations with predicates in a source's
and a sink's config."""

import json
import os
import signal
import subprocess
import time
import uuid

import pytest
import requests
from conftest import BrokerProcess, free_port

FILE_SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
FILE_SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"
STRING = "org.apache.kafka.connect.storage.StringConverter"


class ConnectServe:
    """A `vltava serve` with Connect on a free port, and helpers to call its REST API."""

    def __init__(self, vltava_bin, data_dir, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.broker = BrokerProcess(vltava_bin, data_dir, free_port(),
                                    extra_args=["--connect-listeners", f"http://127.0.0.1:{self.port}"], env=env)

    def start(self):
        self.broker.start()
        wait_until(lambda: self.healthy(), 30, f"Connect did not become healthy on {self.url}: {self.broker.log}")
        return self

    def healthy(self):
        try:
            return requests.get(self.url + "/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self):
        self.broker.stop()

    def get(self, path, **params):
        return requests.get(self.url + path, params=params, timeout=10)

    def post(self, path, body=None, raw=None, **params):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return requests.post(self.url + path, data=data, params=params, timeout=30,
                             headers={"Content-Type": "application/json"})

    def put(self, path, body=None, raw=None, **params):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return requests.put(self.url + path, data=data, params=params, timeout=30,
                            headers={"Content-Type": "application/json"})

    def patch(self, path, body):
        return requests.patch(self.url + path, data=json.dumps(body), timeout=30,
                              headers={"Content-Type": "application/json"})

    def delete(self, path):
        return requests.delete(self.url + path, timeout=30)

    def status(self, name):
        return self.get(f"/connectors/{name}/status").json()


def wait_until(condition, timeout, message):
    """Waits until `condition()` is true and returns what it returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(message() if callable(message) else message)


def lines_of(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def source_config(path, topic, **extra):
    return {"connector.class": "FileStreamSource", "file": str(path), "topic": topic,
            "key.converter": STRING, "value.converter": STRING, **extra}


def sink_config(path, topic, **extra):
    return {"connector.class": "FileStreamSink", "file": str(path), "topics": topic,
            "key.converter": STRING, "value.converter": STRING, **extra}


@pytest.fixture
def connect(vltava_bin, tmp_path):
    worker = ConnectServe(vltava_bin, tmp_path / "data").start()
    yield worker
    worker.broker.kill9()


@pytest.fixture(scope="module")
def module_connect(vltava_bin, tmp_path_factory):
    """One `vltava serve` with Connect shared by a module's tests (each creates connectors of its own names)."""
    worker = ConnectServe(vltava_bin, tmp_path_factory.mktemp("connect") / "data").start()
    yield worker
    worker.broker.kill9()


def first_message(bootstrap, topic, group, timeout=20):
    """The first record of `topic` that a new consumer group reads within `timeout` seconds, else None."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    message = None
    deadline = time.monotonic() + timeout
    while message is None and time.monotonic() < deadline:
        polled = consumer.poll(0.5)
        if polled is not None and polled.error() is None:
            message = polled
    consumer.close()
    return message


def task_state(worker, name, task=0):
    tasks = worker.status(name).get("tasks", [])
    return tasks[task]["state"] if len(tasks) > task else None


def create_running(worker, name, config, tasks=1):
    """Creates a connector and waits until its first `tasks` tasks run."""
    response = worker.post("/connectors", {"name": name, "config": config})
    assert response.status_code == 201, response.text
    wait_until(lambda: all(task_state(worker, name, t) == "RUNNING" for t in range(tasks)), 30, lambda: worker.status(name))


def test_file_source_to_file_sink_across_a_clean_restart(vltava_bin, tmp_path):
    worker = ConnectServe(vltava_bin, tmp_path / "data").start()
    try:
        source_file, sink_file = tmp_path / "in.txt", tmp_path / "out.txt"
        first = [f"line {i} {uuid.uuid4().hex}" for i in range(2000)]
        source_file.write_text("\n".join(first) + "\n")
        topic = "connect-lines"
        response = worker.post("/connectors", {"name": "file-source", "config": source_config(source_file, topic)})
        assert response.status_code == 201, response.text
        assert response.json()["type"] == "source"
        response = worker.post("/connectors", {"name": "file-sink", "config": sink_config(sink_file, topic)})
        assert response.status_code == 201, response.text
        wait_until(lambda: len(lines_of(sink_file)) >= len(first), 60,
                   lambda: f"sink has {len(lines_of(sink_file))} lines: {worker.status('file-sink')} {worker.broker.log()}")
        assert lines_of(sink_file) == first
        assert worker.get("/connectors/file-source/topics").json() == {"file-source": {"topics": [topic]}}

        first_size = os.path.getsize(source_file)
        worker.stop()
        assert worker.broker.process.returncode == 0, worker.broker.log()
        worker.start()
        assert sorted(worker.get("/connectors").json()) == ["file-sink", "file-source"]
        second = [f"after restart {i}" for i in range(500)]
        with open(source_file, "a") as f:
            f.write("\n".join(second) + "\n")
        wait_until(lambda: len(lines_of(sink_file)) >= len(first) + len(second), 60,
                   lambda: f"sink has {len(lines_of(sink_file))} lines: {worker.broker.log()}")
        time.sleep(1)
        # After a clean stop both offsets were flushed: nothing lost, nothing repeated.
        assert lines_of(sink_file) == first + second
        # The offsets flushed at the clean stop (the next flush is offset.flush.interval.ms, 60 s, away).
        offsets = worker.get("/connectors/file-source/offsets").json()["offsets"]
        assert offsets == [{"partition": {"filename": str(source_file)}, "offset": {"position": first_size}}]
    finally:
        worker.broker.kill9()


def test_rest_routes_and_status_codes(connect, tmp_path):
    root = connect.get("/").json()
    assert set(root) == {"version", "commit", "kafka_cluster_id"} and root["kafka_cluster_id"]
    assert connect.get("/health").json() == {
        "status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}
    assert connect.get("/connectors").json() == []

    missing = connect.get("/connectors/nope")
    assert missing.status_code == 404 and missing.json() == {"error_code": 404, "message": "Connector nope not found"}
    for method, path in [("get", "/connectors/nope/status"), ("get", "/connectors/nope/config"),
                         ("put", "/connectors/nope/pause"), ("delete", "/connectors/nope"),
                         ("get", "/connectors/nope/offsets"), ("get", "/connectors/nope/tasks")]:
        assert getattr(connect, method)(path).status_code == 404, (method, path)
    unknown_route = connect.get("/no/such/route")
    assert unknown_route.status_code == 404 and unknown_route.json()["error_code"] == 404

    malformed = connect.post("/connectors", raw="{not json")
    assert 400 <= malformed.status_code < 500 and malformed.json()["error_code"] == malformed.status_code
    assert connect.post("/connectors", {"config": {}}).status_code == 400
    assert connect.post("/connectors", {"name": "x"}).status_code == 400

    unknown_class = connect.post("/connectors", {"name": "x", "config": {"connector.class": "NoSuchConnector"}})
    assert unknown_class.status_code == 400
    assert "Failed to find any class that implements Connector and which name matches NoSuchConnector" in unknown_class.json()["message"]

    invalid = connect.post("/connectors", {"name": "bad", "config": {"connector.class": "FileStreamSource", "tasks.max": "x"}})
    assert invalid.status_code == 400
    message = invalid.json()["message"]
    assert message.startswith("Connector configuration is invalid and contains the following 2 error(s):")
    assert 'Missing required configuration "topic" which has no default value.' in message
    validate = connect.put("/connector-plugins/FileStreamSource/config/validate",
                           {"connector.class": "FileStreamSource", "name": "bad", "tasks.max": "x"})
    assert validate.status_code == 200
    answer = validate.json()
    assert answer["name"] == FILE_SOURCE and answer["error_count"] == 2
    by_name = {c["value"]["name"]: c for c in answer["configs"]}
    assert by_name["topic"]["value"]["errors"] == ['Missing required configuration "topic" which has no default value.']
    assert by_name["tasks.max"]["value"]["errors"] and by_name["tasks.max"]["definition"]["type"] == "INT"
    assert by_name["name"]["value"]["errors"] == [] and by_name["name"]["value"]["value"] == "bad"
    assert "Common" in answer["groups"]

    plugins = connect.get("/connector-plugins").json()
    assert {"class": FILE_SINK, "type": "sink", "version": "3.9.1"} in plugins
    assert any(p["class"] == "io.confluent.kafka.connect.datagen.DatagenConnector" and p["type"] == "source" for p in plugins)
    assert any(p["class"] == FILE_SOURCE and p["type"] == "source" for p in plugins)
    everything = connect.get("/connector-plugins", connectorsOnly="false").json()
    kinds = {p["type"] for p in everything}
    assert {"source", "sink", "converter", "transformation", "predicate"} <= kinds
    definitions = connect.get("/connector-plugins/FileStreamSinkConnector/config").json()
    assert [d["name"] for d in definitions] == ["file"]

    source_file = tmp_path / "routes.txt"
    source_file.write_text("a\nb\nc\n")
    created = connect.post("/connectors", {"name": "src", "config": source_config(source_file, "routes-topic")})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "src" and body["config"]["name"] == "src" and body["type"] == "source"
    duplicate = connect.post("/connectors", {"name": "src", "config": source_config(source_file, "routes-topic")})
    assert duplicate.status_code == 409 and duplicate.json()["message"] == "Connector src already exists"

    wait_until(lambda: task_state(connect, "src") == "RUNNING", 20, lambda: str(connect.status("src")))
    status = connect.status("src")
    assert status["name"] == "src" and status["type"] == "source"
    assert status["connector"]["state"] == "RUNNING" and status["connector"]["worker_id"]
    assert status["tasks"] == [{"id": 0, "state": "RUNNING", "worker_id": status["connector"]["worker_id"]}]
    assert connect.get("/connectors/src/tasks/0/status").json()["state"] == "RUNNING"
    assert connect.get("/connectors/src/tasks/5/status").status_code == 404
    tasks = connect.get("/connectors/src/tasks").json()
    assert tasks[0]["id"] == {"connector": "src", "task": 0} and tasks[0]["config"]["topic"] == "routes-topic"

    expanded = connect.get("/connectors?expand=status&expand=info").json()
    assert set(expanded["src"]) == {"status", "info"} and expanded["src"]["info"]["name"] == "src"

    config = connect.get("/connectors/src/config").json()
    assert config["file"] == str(source_file)
    updated = connect.put("/connectors/src/config", {**config, "batch.size": "100"})
    assert updated.status_code == 200 and updated.json()["config"]["batch.size"] == "100"
    patched = connect.patch("/connectors/src/config", {"batch.size": None, "tasks.max": "1"})
    assert patched.status_code == 200 and "batch.size" not in patched.json()["config"]
    mismatch = connect.put("/connectors/src/config", {**config, "name": "other"})
    assert mismatch.status_code == 400
    created_by_put = connect.put("/connectors/src2/config", source_config(tmp_path / "other.txt", "routes-topic-2"))
    assert created_by_put.status_code == 201

    assert connect.put("/connectors/src/pause").status_code == 202
    wait_until(lambda: connect.status("src")["connector"]["state"] == "PAUSED" and task_state(connect, "src") == "PAUSED",
               20, lambda: str(connect.status("src")))
    assert connect.put("/connectors/src/resume").status_code == 202
    wait_until(lambda: task_state(connect, "src") == "RUNNING", 20, lambda: str(connect.status("src")))

    assert connect.post("/connectors/src/restart").status_code == 204
    restarted = connect.post("/connectors/src/restart", includeTasks="true")
    assert restarted.status_code == 202 and restarted.json()["connector"]["state"] == "RESTARTING"
    assert connect.post("/connectors/src/restart", includeTasks="true", onlyFailed="true").status_code == 202
    assert connect.post("/connectors/src/tasks/0/restart").status_code == 204
    assert connect.post("/connectors/src/tasks/9/restart").status_code == 404
    wait_until(lambda: task_state(connect, "src") == "RUNNING", 20, lambda: str(connect.status("src")))

    # Offsets: readable always, changeable only when STOPPED.
    not_stopped = connect.delete("/connectors/src/offsets")
    assert not_stopped.status_code == 400
    assert not_stopped.json()["message"].startswith("Connectors must be in the STOPPED state before their offsets can be modified.")
    assert connect.put("/connectors/src/stop").status_code == 202
    wait_until(lambda: connect.status("src")["connector"]["state"] == "STOPPED", 20, lambda: str(connect.status("src")))
    assert connect.status("src")["tasks"] == [] and connect.get("/connectors/src/tasks").json() == []
    offsets = connect.get("/connectors/src/offsets").json()["offsets"]
    assert offsets == [{"partition": {"filename": str(source_file)}, "offset": {"position": 6}}]
    altered = connect.patch("/connectors/src/offsets",
                            {"offsets": [{"partition": {"filename": str(source_file)}, "offset": {"position": 2}}]})
    assert altered.status_code == 200 and "altered successfully" in altered.json()["message"]
    assert connect.get("/connectors/src/offsets").json()["offsets"][0]["offset"] == {"position": 2}
    reset = connect.delete("/connectors/src/offsets")
    assert reset.status_code == 200 and "reset successfully" in reset.json()["message"]
    assert connect.get("/connectors/src/offsets").json() == {"offsets": []}
    assert connect.get("/connectors/src/topics").json() == {"src": {"topics": ["routes-topic"]}}
    assert connect.put("/connectors/src/topics/reset").status_code == 202
    assert connect.get("/connectors/src/topics").json() == {"src": {"topics": []}}
    assert connect.put("/connectors/src/resume").status_code == 202
    wait_until(lambda: task_state(connect, "src") == "RUNNING", 20, lambda: str(connect.status("src")))
    # Its offsets were reset: it reads the file again from the start, and uses its topic again.
    wait_until(lambda: connect.get("/connectors/src/topics").json() == {"src": {"topics": ["routes-topic"]}}, 20,
               lambda: str(connect.get("/connectors/src/topics").json()))

    loggers = connect.get("/admin/loggers").json()
    assert "root" in loggers and loggers["root"]["level"]
    assert connect.put("/admin/loggers/org.apache.kafka.connect", {"level": "DEBUG"}).json() == ["org.apache.kafka.connect"]
    assert connect.get("/admin/loggers/org.apache.kafka.connect").json() == {"level": "DEBUG"}

    stopped_create = connect.post("/connectors", {"name": "born-stopped", "initial_state": "STOPPED",
                                                  "config": source_config(tmp_path / "x.txt", "t-x")})
    assert stopped_create.status_code == 201
    assert connect.status("born-stopped")["connector"]["state"] == "STOPPED"

    assert connect.delete("/connectors/src").status_code == 204
    assert connect.get("/connectors/src").status_code == 404
    assert sorted(connect.get("/connectors").json()) == ["born-stopped", "src2"]


def test_a_failing_task_is_failed_with_a_trace_and_the_worker_keeps_serving(connect, tmp_path):
    bad = tmp_path / "missing-dir" / "out.txt"
    response = connect.post("/connectors", {"name": "broken-sink", "config": sink_config(bad, "some-topic")})
    assert response.status_code == 201, response.text
    wait_until(lambda: task_state(connect, "broken-sink") == "FAILED", 20, lambda: str(connect.status("broken-sink")))
    task = connect.status("broken-sink")["tasks"][0]
    assert str(bad) in task["trace"]
    assert connect.status("broken-sink")["connector"]["state"] == "RUNNING"
    assert connect.get("/").status_code == 200
    # A restart of only the failed tasks fails it again; the worker still answers.
    assert connect.post("/connectors/broken-sink/restart", includeTasks="true", onlyFailed="true").status_code == 202
    wait_until(lambda: task_state(connect, "broken-sink") == "FAILED", 20, lambda: str(connect.status("broken-sink")))


def test_standalone_worker_runs_a_connector_file(vltava_bin, tmp_path):
    from confluent_kafka import Consumer

    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=["--connect-listeners", "none"]).start()
    rest_port = free_port()
    source_file = tmp_path / "standalone-in.txt"
    lines = [f"standalone {i}" for i in range(300)]
    source_file.write_text("\n".join(lines) + "\n")
    worker_properties = tmp_path / "worker.properties"
    worker_properties.write_text(
        f"bootstrap.servers={broker.bootstrap}\n"
        "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
        "value.converter=org.apache.kafka.connect.storage.StringConverter\n"
        f"offset.storage.file.filename={tmp_path / 'standalone.offsets'}\n"
        "offset.flush.interval.ms=1000\n"
        f"listeners=http://127.0.0.1:{rest_port}\n"
        "plugin.path=/usr/share/java\n")
    connector_properties = tmp_path / "file-source.properties"
    connector_properties.write_text(
        "# Kafka's config/connect-file-source.properties, with our file and topic\n"
        "name=local-file-source\n"
        "connector.class=FileStreamSource\n"
        "tasks.max=1\n"
        f"file={source_file}\n"
        "topic=standalone-topic\n")
    log = open(tmp_path / "standalone.log", "wb")
    process = subprocess.Popen([str(vltava_bin), "connect", "standalone", str(worker_properties), str(connector_properties)],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{rest_port}"

        def running():
            try:
                status = requests.get(url + "/connectors/local-file-source/status", timeout=1)
                return status.status_code == 200 and [t["state"] for t in status.json()["tasks"]] == ["RUNNING"]
            except requests.ConnectionError:
                return False

        wait_until(running, 30, lambda: (tmp_path / "standalone.log").read_text())
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "standalone-check",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe(["standalone-topic"])
        received = []
        deadline = time.monotonic() + 30
        while len(received) < len(lines) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value().decode())
        consumer.close()
        assert received == lines
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        offsets = json.loads((tmp_path / "standalone.offsets").read_text())
        key = json.dumps(["local-file-source", {"filename": str(source_file)}], separators=(",", ":"))
        assert offsets[key] == {"position": os.path.getsize(source_file)}
    finally:
        if process.poll() is None:
            process.kill()
        broker.kill9()


def test_distributed_worker_with_cp_kafka_connect_environment(vltava_bin, tmp_path):
    """`vltava connect distributed` against a broker, configured as Confluent's image is (CONNECT_* variables over
    a worker file): a connector created over REST is back after the worker restarts, its offsets in Kafka."""
    from confluent_kafka import Consumer

    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=["--connect-listeners", "none"]).start()
    rest_port = free_port()
    worker_properties = tmp_path / "connect-distributed.properties"
    worker_properties.write_text("bootstrap.servers=localhost:1\ngroup.id=from-file\nrest.port=1\n")
    env = dict(os.environ, CONNECT_BOOTSTRAP_SERVERS=broker.bootstrap, CONNECT_REST_PORT=str(rest_port),
               CONNECT_REST_ADVERTISED_HOST_NAME="connect", CONNECT_GROUP_ID="compose-connect-group",
               CONNECT_CONFIG_STORAGE_TOPIC="docker-connect-configs", CONNECT_OFFSET_STORAGE_TOPIC="docker-connect-offsets",
               CONNECT_STATUS_STORAGE_TOPIC="docker-connect-status", CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR="1",
               CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR="1", CONNECT_STATUS_STORAGE_REPLICATION_FACTOR="1",
               CONNECT_KEY_CONVERTER=STRING, CONNECT_VALUE_CONVERTER=STRING, CONNECT_OFFSET_FLUSH_INTERVAL_MS="500")
    url = f"http://127.0.0.1:{rest_port}"
    log_path = tmp_path / "distributed.log"

    def start():
        process = subprocess.Popen([str(vltava_bin), "connect", "distributed", str(worker_properties)],
                                   stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, env=env)

        def healthy():
            try:
                return requests.get(url + "/health", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(healthy, 30, lambda: log_path.read_text())
        return process

    process = start()
    try:
        source_file = tmp_path / "distributed-in.txt"
        source_file.write_text("one\ntwo\n")
        created = requests.post(url + "/connectors", json={"name": "dist-source", "config": {
            "connector.class": FILE_SOURCE, "file": str(source_file), "topic": "dist-topic"}}, timeout=30)
        assert created.status_code == 201, created.text
        status = requests.get(url + "/connectors/dist-source/status", timeout=5).json()
        assert status["connector"]["worker_id"] == f"connect:{rest_port}"
        key = json.dumps(["dist-source", {"filename": str(source_file)}], separators=(",", ":"))
        wait_until(lambda: requests.get(url + "/connectors/dist-source/offsets", timeout=5).json()["offsets"] != [], 20,
                   lambda: log_path.read_text())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        process = start()
        assert requests.get(url + "/connectors", timeout=5).json() == ["dist-source"]
        with open(source_file, "a") as f:
            f.write("three\n")
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "dist-check",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe(["dist-topic"])
        received = []
        deadline = time.monotonic() + 30
        while len(received) < 3 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value().decode())
        assert received == ["one", "two", "three"]
        # The worker's internal topics are Kafka's, under the names the environment gave.
        from confluent_kafka.admin import AdminClient
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).topics
        assert {"docker-connect-configs", "docker-connect-offsets", "docker-connect-status"} <= set(topics)
        assert len(topics["docker-connect-offsets"].partitions) == 25
        offsets_consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "dist-offsets",
                                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
        offsets_consumer.subscribe(["docker-connect-offsets"])
        stored = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and key not in stored:
            message = offsets_consumer.poll(0.5)
            if message is not None and message.error() is None:
                stored[message.key().decode()] = json.loads(message.value())
        assert stored[key]["position"] > 0
        consumer.close()
        offsets_consumer.close()
    finally:
        if process.poll() is None:
            process.kill()
        broker.kill9()


def test_sink_skips_bad_records_into_a_dead_letter_queue(connect, tmp_path):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": connect.broker.bootstrap})
    for value in [b'{"n":1}', b"not json", b'{"n":2}']:
        producer.produce("json-in", value=value)
    assert producer.flush(10) == 0
    sink_file = tmp_path / "json-out.txt"
    response = connect.post("/connectors", {"name": "json-sink", "config": {
        "connector.class": "FileStreamSink", "file": str(sink_file), "topics": "json-in",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
        "errors.tolerance": "all", "errors.log.enable": "true", "errors.deadletterqueue.topic.name": "json-dlq",
        "errors.deadletterqueue.context.headers.enable": "true"}})
    assert response.status_code == 201, response.text
    wait_until(lambda: len(lines_of(sink_file)) >= 2, 30, lambda: str(connect.status("json-sink")))
    assert lines_of(sink_file) == ["{n=1}", "{n=2}"]
    message = first_message(connect.broker.bootstrap, "json-dlq", "dlq-check")
    assert message is not None and message.value() == b"not json"
    headers = {key: value.decode() for key, value in message.headers()}
    assert headers["__connect.errors.topic"] == "json-in" and headers["__connect.errors.offset"] == "1"
    assert headers["__connect.errors.stage"] == "VALUE_CONVERTER"
    assert headers["__connect.errors.connector.name"] == "json-sink"
    assert task_state(connect, "json-sink") == "RUNNING"


def test_transformations_and_predicates_through_a_worker(connect, tmp_path):
    """Kafka's transformation and predicate class names in a source's and a sink's config: the source hoists each
    line into a struct, adds a field, copies a field to the key, renames the topic and adds a header (read back by
    confluent-kafka); the sink drops the records of one topic by predicate and extracts a field of the rest."""
    from confluent_kafka import Consumer, Producer

    source_file = tmp_path / "events.txt"
    source_file.write_text("a1\nb2\nc3\n")
    transforms = "org.apache.kafka.connect.transforms"
    response = connect.post("/connectors", {"name": "smt-source", "config": {
        "connector.class": "FileStreamSource", "file": str(source_file), "topic": "events-raw",
        "key.converter": STRING, "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "hoist,origin,key,keyField,route,via",
        "transforms.hoist.type": f"{transforms}.HoistField$Value", "transforms.hoist.field": "line",
        "transforms.origin.type": f"{transforms}.InsertField$Value", "transforms.origin.static.field": "origin",
        "transforms.origin.static.value": "file",
        "transforms.key.type": f"{transforms}.ValueToKey", "transforms.key.fields": "line",
        "transforms.keyField.type": f"{transforms}.ExtractField$Key", "transforms.keyField.field": "line",
        "transforms.route.type": f"{transforms}.RegexRouter", "transforms.route.regex": "(.*)-raw",
        "transforms.route.replacement": "$1-clean",
        "transforms.via.type": f"{transforms}.InsertHeader", "transforms.via.header": "via",
        "transforms.via.value.literal": "vltava"}})
    assert response.status_code == 201, response.text

    consumer = Consumer({"bootstrap.servers": connect.broker.bootstrap, "group.id": "smt-check",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["events-clean"])
    received = []
    deadline = time.monotonic() + 30
    while len(received) < 3 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            received.append(message)
    consumer.close()
    assert [(m.key(), json.loads(m.value())) for m in received] == [
        (b"a1", {"line": "a1", "origin": "file"}), (b"b2", {"line": "b2", "origin": "file"}),
        (b"c3", {"line": "c3", "origin": "file"})], str(connect.status("smt-source"))
    assert all(dict(m.headers()) == {"via": b"vltava"} for m in received)

    producer = Producer({"bootstrap.servers": connect.broker.bootstrap})
    producer.produce("noise-clean", value=b'{"line":"dropped","origin":"noise"}')
    assert producer.flush(10) == 0
    sink_file = tmp_path / "lines.txt"
    response = connect.post("/connectors", {"name": "smt-sink", "config": {
        "connector.class": "FileStreamSink", "file": str(sink_file), "topics.regex": ".*-clean",
        "key.converter": STRING, "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "dropNoise,line", "transforms.dropNoise.type": f"{transforms}.Filter",
        "transforms.dropNoise.predicate": "isNoise",
        "transforms.line.type": f"{transforms}.ExtractField$Value", "transforms.line.field": "line",
        "transforms.line.predicate": "isNoise", "transforms.line.negate": "true",
        "predicates": "isNoise", "predicates.isNoise.type": f"{transforms}.predicates.TopicNameMatches",
        "predicates.isNoise.pattern": "noise-.*"}})
    assert response.status_code == 201, response.text
    wait_until(lambda: len(lines_of(sink_file)) >= 3, 30, lambda: str(connect.status("smt-sink")))
    time.sleep(1)
    assert lines_of(sink_file) == ["a1", "b2", "c3"]
    assert task_state(connect, "smt-sink") == "RUNNING" and task_state(connect, "smt-source") == "RUNNING"


def test_a_connector_config_naming_a_login_module_is_refused(connect, tmp_path):
    """CVE-2023-25194: a JAAS config in a connector's client overrides names a login module (JndiLoginModule) that the
    worker would load. Creating and validating such a connector fail with the module named and the secret not
    echoed; the worker keeps serving."""
    jaas = ('com.sun.security.auth.module.JndiLoginModule required user.provider.url="ldap://127.0.0.1:1/x" '
            'useFirstPass=true serviceName="x" debug=true group.provider.url="xxx" password="s3cret";')
    config = sink_config(tmp_path / "out.txt", "t", **{"consumer.override.sasl.jaas.config": jaas})
    response = connect.post("/connectors", {"name": "jndi", "config": config})
    assert response.status_code == 400, response.text
    assert "JndiLoginModule" in response.json()["message"] and "s3cret" not in response.text
    validated = connect.put("/connector-plugins/FileStreamSink/config/validate", {**config, "name": "jndi"})
    assert validated.status_code == 200 and validated.json()["error_count"] == 1
    assert "s3cret" not in validated.text and "ldap://" not in validated.text
    assert connect.get("/connectors").json() == []
