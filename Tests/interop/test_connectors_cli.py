"""`vltava connectors` against the Kafka Connect REST API of `vltava serve --connect-listeners`.

The tests skip when the binary does not serve Connect's REST API yet (the worker comes with the connect-runtime
branch): the fixture starts `vltava serve --connect-listeners http://127.0.0.1:PORT` and skips unless `GET /`
answers there. The Datagen connector is the source: it needs no files and writes a known schema.
"""

import json
import subprocess
import time
import urllib.request

import pytest

from conftest import BrokerProcess, free_port, unique_topic


def connect_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def connect_url(vltava_bin, tmp_path_factory):
    """The REST URL of a broker with a Connect worker, or a skip when the binary has none."""
    directory = tmp_path_factory.mktemp("connect")
    connect_port = free_port()
    url = f"http://127.0.0.1:{connect_port}"
    process = BrokerProcess(vltava_bin, directory / "data", free_port(),
                            extra_args=["--connect-listeners", url],
                            # Offsets are committed every second, so that `connectors offsets` has some soon.
                            env={"CONNECT_OFFSET_FLUSH_INTERVAL_MS": "1000"})
    try:
        process.start()
    except RuntimeError as error:
        pytest.skip(f"vltava serve has no Connect REST API yet: {error}")
    deadline = time.monotonic() + 20
    while not connect_answers(url):
        if time.monotonic() > deadline:
            process.kill9()
            pytest.skip("vltava serve does not answer Connect's REST API (GET /)")
        time.sleep(0.1)
    yield url
    process.kill9()


@pytest.fixture
def connectors(vltava_bin, connect_url):
    """Runs `vltava connectors ARGS... --url URL`."""

    def run(*args, timeout=60):
        command = [str(vltava_bin), "connectors", *args, "--url", connect_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    return run


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def create_datagen(connectors, name, tmp_path, *extra):
    config = tmp_path / f"{name}.properties"
    config.write_text(
        "connector.class=io.confluent.kafka.connect.datagen.DatagenConnector\n"
        f"kafka.topic={unique_topic('datagen')}\n"
        "quickstart=users\nmax.interval=10\ntasks.max=1\n")
    result = connectors("create", name, "--config-file", str(config), *extra)
    assert result.returncode == 0, result.stderr
    assert f"Created connector {name}." in result.stdout
    return result


def status_json(connectors, name):
    result = connectors("status", name, "--json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_plugins_lists_datagen_and_filestream(connectors):
    result = connectors("plugins")
    assert result.returncode == 0, result.stderr
    assert "io.confluent.kafka.connect.datagen.DatagenConnector" in result.stdout
    assert "org.apache.kafka.connect.file.FileStreamSourceConnector" in result.stdout
    assert result.stdout.splitlines()[0].split() == ["CLASS", "TYPE", "VERSION"]


def test_create_list_get_status_delete(connectors, tmp_path):
    create_datagen(connectors, "users-gen", tmp_path)

    listed = connectors("list")
    assert "users-gen" in listed.stdout.split()

    assert wait_for(lambda: (status_json(connectors, "users-gen") or {}).get("connector", {}).get("state") == "RUNNING")
    expanded = connectors("list", "--expand", "status")
    assert expanded.returncode == 0, expanded.stderr
    assert expanded.stdout.splitlines()[0].split()[:4] == ["NAME", "TYPE", "STATE", "TASKS"]
    assert any(line.split()[:3] == ["users-gen", "source", "RUNNING"] for line in expanded.stdout.splitlines())

    info = connectors("get", "users-gen")
    assert "Connector: users-gen" in info.stdout
    assert "quickstart = users" in info.stdout

    raw = json.loads(connectors("get", "users-gen", "--json").stdout)
    assert raw["config"]["quickstart"] == "users"

    status = connectors("status", "users-gen")
    assert status.stdout.startswith("Connector users-gen is RUNNING")

    deleted = connectors("delete", "users-gen")
    assert deleted.returncode == 0, deleted.stderr
    assert "users-gen" not in connectors("list").stdout.split()


def test_pause_resume_stop_offsets_restart(connectors, tmp_path):
    create_datagen(connectors, "lifecycle", tmp_path)
    assert wait_for(lambda: (status_json(connectors, "lifecycle") or {}).get("connector", {}).get("state") == "RUNNING")

    assert connectors("pause", "lifecycle").returncode == 0
    assert wait_for(lambda: status_json(connectors, "lifecycle")["connector"]["state"] == "PAUSED")
    assert connectors("resume", "lifecycle").returncode == 0
    assert wait_for(lambda: status_json(connectors, "lifecycle")["connector"]["state"] == "RUNNING")

    # Datagen commits {"current.iteration": n} per task once records are written.
    assert wait_for(lambda: "current.iteration" in connectors("offsets", "lifecycle").stdout)

    restarted = connectors("restart", "lifecycle", "--include-tasks")
    assert restarted.returncode == 0, restarted.stderr

    assert connectors("stop", "lifecycle").returncode == 0
    assert wait_for(lambda: status_json(connectors, "lifecycle")["connector"]["state"] == "STOPPED")
    reset = connectors("offsets", "lifecycle", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert connectors("offsets", "lifecycle").stdout.strip() == "No offsets."
    connectors("delete", "lifecycle")


def test_create_from_kafka_body_and_key_value_arguments(connectors, tmp_path):
    body = tmp_path / "connector.json"
    body.write_text(json.dumps({"name": "from-body", "config": {
        "connector.class": "DatagenConnector", "kafka.topic": unique_topic("body"), "quickstart": "orders"}}))
    result = connectors("create", "--file", str(body), "--config", "max.interval=100")
    assert result.returncode == 0, result.stderr
    config = json.loads(connectors("get", "from-body", "--json").stdout)["config"]
    assert config["max.interval"] == "100" and config["quickstart"] == "orders"
    connectors("delete", "from-body")


def test_errors_are_plain_words_with_a_failing_status(connectors, tmp_path):
    missing = connectors("status", "no-such-connector")
    assert missing.returncode != 0
    assert "no-such-connector" in missing.stderr and "not found" in missing.stderr
    assert "error_code" not in missing.stderr

    bad = connectors("create", "bad-gen", "--config", "connector.class=Datagen", "--config", "kafka.topic=t",
                     "--config", "quickstart=nope")
    assert bad.returncode != 0
    assert "quickstart" in bad.stderr


def test_connection_refused_is_reported_plainly(vltava_bin):
    port = free_port()
    result = subprocess.run([str(vltava_bin), "connectors", "list", "--url", f"http://127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in result.stderr
