"""Health and Prometheus metrics of `vltava serve` (issue 15): /livez, /readyz and /v1/status/ready, /metrics checked
by Debian's promtool, counters that count exactly what clients did, kafka_exporter's lag equal to the CLI's, a real
Prometheus scraping the broker and answering a rate() query, and /readyz answering 503 while logs recover.
scripts/test installs Debian's `prometheus` package (promtool and the server)."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import BrokerProcess, free_port, unique_topic

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def http_get(url, timeout=5.0):
    """(status, body) of a GET; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of every sample in the text format."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"unparsable sample line: {line!r}"
        name, labels, value = match.groups()
        samples[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class MetricsBroker(BrokerProcess):
    """A broker with its console listener (health and /metrics) on a free loopback port."""

    def __init__(self, binary, data_dir, extra_args=(), env=None):
        self.http_port = free_port()
        super().__init__(binary, data_dir, free_port(),
                         extra_args=["--console-listeners", f"http://127.0.0.1:{self.http_port}", *extra_args], env=env)

    def url(self, path):
        return f"http://127.0.0.1:{self.http_port}{path}"

    def metrics(self):
        status, body = http_get(self.url("/metrics"))
        assert status == 200, body
        return body

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, body = http_get(self.url("/readyz"))
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"/readyz not 200 within {timeout}s: {self.log()}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def metrics_broker(vltava_bin, tmp_path_factory):
    directory = tmp_path_factory.mktemp("metrics")
    registry_port = free_port()
    process = MetricsBroker(vltava_bin, directory / "data", extra_args=[
        "--schema-registry-listeners", f"http://127.0.0.1:{registry_port}",
        "--override", "group.initial.rebalance.delay.ms=0"]).start()
    process.wait_ready()
    yield process
    process.kill9()


def test_livez_readyz_and_the_ready_alias(metrics_broker):
    status, body = http_get(metrics_broker.url("/livez"))
    assert (status, body.strip()) == (200, "ok")
    for path in ["/readyz", "/v1/status/ready"]:
        status, body = http_get(metrics_broker.url(path))
        assert status == 200, body
        answer = json.loads(body)
        assert answer["status"] == "ready" and answer["failing"] == []
        assert {check["name"] for check in answer["checks"]} == {
            "logs_recovered", "listeners_bound", "schema_registry_caught_up"}


def test_metrics_pass_promtool(metrics_broker):
    from kafka import KafkaProducer

    # Some traffic first, so that the request, latency, topic and group families have samples.
    topic = unique_topic("promtool")
    producer = KafkaProducer(bootstrap_servers=metrics_broker.bootstrap)
    for i in range(10):
        producer.send(topic, f"r{i}".encode())
    producer.flush(30)
    producer.close()
    text = metrics_broker.metrics()
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing (Debian's prometheus package; scripts/test installs it)"
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    samples = parse_metrics(text)
    assert value(samples, "kafka_brokers") == 1
    assert any(name == "vltava_build_info" for name, _ in samples)
    assert value(samples, "vltava_kafka_requests_total", api="Produce") >= 1
    assert value(samples, "vltava_kafka_request_duration_seconds_bucket", api="Produce", le="0.0001") is not None
    assert value(samples, "kafka_topic_partitions", topic=topic) == 1
    assert value(samples, "vltava_schema_registry_subjects") == 0
    assert value(samples, "vltava_kafka_connections", listener="PLAINTEXT") is not None


def test_producing_n_records_raises_records_in_by_exactly_n(metrics_broker):
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = unique_topic("count")
    admin = KafkaAdminClient(bootstrap_servers=metrics_broker.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()
    before = parse_metrics(metrics_broker.metrics())
    assert value(before, "vltava_topic_records_in_total", topic=topic) == 0
    produce_requests = value(before, "vltava_kafka_requests_total", api="Produce") or 0

    count = 1234
    producer = KafkaProducer(bootstrap_servers=metrics_broker.bootstrap, linger_ms=5, batch_size=4096)
    for i in range(count):
        producer.send(topic, key=str(i).encode(), value=f"value-{i}".encode(), partition=i % 3)
    producer.flush(30)
    producer.close()

    after = parse_metrics(metrics_broker.metrics())
    assert value(after, "vltava_topic_records_in_total", topic=topic) == count
    assert value(after, "vltava_topic_bytes_in_total", topic=topic) > count * len("value-0")
    assert value(after, "vltava_kafka_requests_total", api="Produce") > produce_requests
    offsets = sum(value(after, "kafka_topic_partition_current_offset", topic=topic, partition=str(p)) for p in range(3))
    assert offsets == count
    assert sum(value(after, "vltava_partition_high_watermark", topic=topic, partition=str(p)) for p in range(3)) == count
    assert all(value(after, "vltava_partition_log_size_bytes", topic=topic, partition=str(p)) > 0 for p in range(3))


def test_consumergroup_lag_equals_the_cli_lag(metrics_broker, vltava_bin):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = unique_topic("lag")
    group = unique_topic("group")
    admin = KafkaAdminClient(bootstrap_servers=metrics_broker.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=metrics_broker.bootstrap)
    for i in range(30):
        producer.send(topic, f"a{i}".encode(), partition=i % 3)
    producer.flush(30)
    consumer = KafkaConsumer(topic, bootstrap_servers=metrics_broker.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10_000)
    consumed = 0
    for _ in consumer:
        consumed += 1
        if consumed == 30:
            break
    assert consumed == 30
    consumer.commit()
    for i in range(12):
        producer.send(topic, f"b{i}".encode(), partition=i % 3)
    for i in range(5):
        producer.send(topic, f"c{i}".encode(), partition=0)
    producer.flush(30)
    producer.close()

    samples = parse_metrics(metrics_broker.metrics())
    assert value(samples, "kafka_consumergroup_members", consumergroup=group) == 1
    consumer.close()
    described = subprocess.run([str(vltava_bin), "groups", "describe", "--group", group, "-b", metrics_broker.bootstrap],
                               capture_output=True, text=True, timeout=60)
    assert described.returncode == 0, described.stderr
    cli_lag = {}
    for line in described.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[0] == group and fields[1] == topic:
            cli_lag[fields[2]] = int(fields[5])
    assert cli_lag == {"0": 9, "1": 4, "2": 4}, described.stdout
    samples = parse_metrics(metrics_broker.metrics())
    exported = {p: value(samples, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=p) for p in cli_lag}
    assert exported == {p: float(lag) for p, lag in cli_lag.items()}
    assert value(samples, "kafka_consumergroup_lag_sum", consumergroup=group, topic=topic) == sum(cli_lag.values())
    assert value(samples, "kafka_consumergroup_current_offset", consumergroup=group, topic=topic, partition="0") == 10
    assert value(samples, "kafka_consumergroup_members", consumergroup=group) == 0


def as_nobody(args):
    return (["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []) + [str(a) for a in args]


def test_prometheus_scrapes_the_broker_and_answers_a_rate_query(metrics_broker):
    from kafka import KafkaProducer

    binary = shutil.which("prometheus")
    assert binary, "prometheus missing (Debian's prometheus package; scripts/test installs it)"
    topic = unique_topic("rate")
    root = Path(tempfile.mkdtemp(prefix="vltava-prometheus-"))
    os.chmod(root, 0o777)
    port = free_port()
    (root / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: vltava\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_broker.http_port}']\n")
    os.chmod(root / "prometheus.yml", 0o644)
    log = open(root / "prometheus.log", "ab")
    server = subprocess.Popen(
        as_nobody([binary, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'tsdb'}",
                   f"--web.listen-address=127.0.0.1:{port}"]),
        stdout=log, stderr=subprocess.STDOUT)
    producer = KafkaProducer(bootstrap_servers=metrics_broker.bootstrap)
    try:
        query = f'rate(vltava_topic_records_in_total{{topic="{topic}"}}[5s])'
        deadline = time.monotonic() + 60
        result = []
        while time.monotonic() < deadline and not result:
            for i in range(20):
                producer.send(topic, f"r{i}".encode())
            producer.flush(10)
            time.sleep(0.5)
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
            except OSError:
                continue
            if status != 200:
                continue
            answer = json.loads(body)
            assert answer["status"] == "success", body
            result = [sample for sample in answer["data"]["result"] if float(sample["value"][1]) > 0]
        assert result, "Prometheus never answered a positive rate: " + (root / "prometheus.log").read_text()[-2000:]
        assert result[0]["metric"]["job"] == "vltava"
        status, body = http_get(f"http://127.0.0.1:{port}/api/v1/targets")
        targets = json.loads(body)["data"]["activeTargets"]
        assert [target["health"] for target in targets] == ["up"], body
    finally:
        producer.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_metrics_listener_alone(vltava_bin, tmp_path):
    """--metrics-listeners serves health and /metrics with the console listener off."""
    metrics_port = free_port()
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=[
        "--console-listeners", "none", "--metrics-listeners", f"http://127.0.0.1:{metrics_port}"]).start()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = http_get(f"http://127.0.0.1:{metrics_port}/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, broker.log()
            time.sleep(0.05)
        status, body = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200 and "kafka_brokers 1" in body
        assert "console listening" not in broker.log() and "metrics listener listening" in broker.log()
    finally:
        broker.kill9()


def test_readyz_is_503_while_logs_recover_then_200(vltava_bin, tmp_path):
    """Many partitions make recovery long enough to watch: the broker is killed, started again, and /readyz polled
    from the moment its HTTP listener answers until it says ready."""
    from confluent_kafka.admin import AdminClient, NewTopic

    broker = MetricsBroker(vltava_bin, tmp_path / "data").start()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topics = [NewTopic(unique_topic("recover"), num_partitions=500, replication_factor=1) for _ in range(6)]
    for future in admin.create_topics(topics, operation_timeout=120, request_timeout=120).values():
        future.result(timeout=180)
    broker.kill9()

    broker.process = subprocess.Popen(
        [str(broker.binary), "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{broker.port}", "--data-dir", str(broker.data_dir),
         *broker.extra_args],
        stdout=open(broker.log_path, "ab"), stderr=subprocess.STDOUT,
        env={**os.environ, "SCHEMA_REGISTRY_LISTENERS": "none", "CONNECT_LISTENERS": "none"})
    try:
        answers = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert broker.process.poll() is None, broker.log()
            try:
                status, body = http_get(broker.url("/readyz"), timeout=2)
            except OSError:
                time.sleep(0.01)
                continue
            answers.append((status, json.loads(body)))
            if status == 200:
                break
            time.sleep(0.02)
        assert answers and answers[-1][0] == 200, broker.log()
        not_ready = [body for status, body in answers if status == 503]
        assert not_ready, f"never saw 503 during recovery ({len(answers)} answers): {broker.log()}"
        assert "logs_recovered" in not_ready[0]["failing"], not_ready[0]
        assert not_ready[0]["status"] == "not ready"
        assert answers[-1][1]["status"] == "ready"
        assert "log recovery done" in broker.log()
    finally:
        broker.kill9()


def test_the_grafana_dashboard_asks_only_for_metrics_vltava_serves(metrics_broker):
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "vltava.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    wanted = {name for expression in expressions for name in re.findall(r"\b((?:vltava|kafka)_[a-z0-9_]+)", expression)}
    served = {name for name, _ in parse_metrics(metrics_broker.metrics())}
    # Families whose series appear with their first event (an error, a registry request) or with Connect running.
    on_first_event = {"vltava_kafka_request_errors_total", "vltava_kafka_produce_rejections_total",
                      "vltava_schema_registry_requests_total", "vltava_connect_connectors", "vltava_connect_tasks"}
    assert wanted - served - on_first_event == set()
