"""`vltava serve` configuration: the seed's Compose environment as is, server.properties files, Kafka property
names in the environment, and unknown options named in the error."""

import os
import subprocess
import time

import pytest
import yaml
from conftest import REPO_ROOT, BrokerProcess, free_port, unique_topic

SEED_COMPOSE = REPO_ROOT.parent / "shared" / "seed" / "getting-started" / "kafka-compose.yaml"


def wait_for_port(port, process, timeout=20):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else "exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} not listening")


def kcat_brokers(port):
    listing = subprocess.run(["kcat", "-b", f"127.0.0.1:{port}", "-L"], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    return [line.strip() for line in listing.stdout.splitlines() if line.strip().startswith("broker ")]


def test_seed_compose_environment_is_accepted_as_is(vltava_bin, tmp_path):
    # The seed's first line (` version: "3.8"`) is indented, which PyYAML refuses; Compose ignores that key.
    text = "\n".join(line for line in SEED_COMPOSE.read_text().splitlines() if not line.strip().startswith("version:"))
    compose = yaml.safe_load(text)
    environment = {key: str(value) for key, value in compose["services"]["kafka-server"]["environment"].items()}
    # Inside Compose the service's hostname resolves to its container; here a private mount namespace maps it to
    # loopback, so the environment is used exactly as written.
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 kafka-server\n")
    env = dict(os.environ, KAFKA_LOG_DIRS=str(tmp_path / "data"), **environment)
    process = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", f"mount --bind {hosts} /etc/hosts && exec {vltava_bin} serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(9092, process)
        wait_for_port(29092, process)
        assert kcat_brokers(9092) == ["broker 1 at localhost:9092 (controller)"]
        assert kcat_brokers(29092) == ["broker 1 at kafka-server:29092 (controller)"]
    finally:
        process.terminate()
        process.wait(timeout=20)
    output = process.stdout.read()
    assert "listener=PLAINTEXT_HOST" in output and "listener=PLAINTEXT " in output + " "
    assert "CONTROLLER" not in [line.split("listener=")[-1].split()[0] for line in output.splitlines() if "listening" in line]


def test_server_properties_file_and_environment(vltava_bin, tmp_path):
    port = free_port()
    properties = tmp_path / "server.properties"
    properties.write_text(f"# a Kafka server.properties\nlisteners=PLAINTEXT://127.0.0.1:{port}\nnum.partitions=3\n"
                          f"log.dirs={tmp_path / 'data'}\n")
    process = subprocess.Popen([str(vltava_bin), "serve", "--config", str(properties)],
                               env=dict(os.environ, KAFKA_AUTO_CREATE_TOPICS_ENABLE="true"),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, process)
        topic = unique_topic("auto")
        listing = subprocess.run(["kcat", "-b", f"127.0.0.1:{port}", "-L", "-t", topic], capture_output=True,
                                 text=True, timeout=30)
        assert f'topic "{topic}" with 3 partitions' in listing.stdout, listing.stdout + listing.stderr
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert (tmp_path / "data" / f"{topic}-2").is_dir()


def test_auto_creation_can_be_switched_off(vltava_bin, tmp_path):
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           env={"KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false"}).start()
    try:
        from confluent_kafka.admin import AdminClient

        metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(topic="nothing-here", timeout=10)
        assert metadata.topics["nothing-here"].error is not None
        assert metadata.topics["nothing-here"].error.name() == "UNKNOWN_TOPIC_OR_PART"
    finally:
        broker.kill9()


@pytest.mark.parametrize("args, env, name", [
    (["--override", "no.such.option=1"], {}, "no.such.option"),
    ([], {"KAFKA_NO_SUCH_THING": "1"}, "no.such.thing"),
    (["--override", "num.partitions=many"], {}, "num.partitions"),
    # Consumer group timings outside Kafka's bounds, or bounds that cross.
    (["--override", "group.consumer.heartbeat.interval.ms=1000"], {}, "group.consumer.min.heartbeat.interval.ms (5000)"),
    (["--override", "group.consumer.session.timeout.ms=90000"], {}, "group.consumer.max.session.timeout.ms (60000)"),
    (["--override", "group.consumer.min.heartbeat.interval.ms=20000"], {}, "group.consumer.heartbeat.interval.ms"),
    (["--override", "group.consumer.assignors=sticky"], {}, "group.consumer.assignors"),
    (["--override", "group.coordinator.rebalance.protocols=consumer"], {}, "group.coordinator.rebalance.protocols"),
    (["--override", "group.coordinator.rebalance.protocols=classic,share"], {}, "share groups are not served"),
])
def test_unknown_or_invalid_options_are_named(vltava_bin, tmp_path, args, env, name):
    result = subprocess.run([str(vltava_bin), "serve", "--data-dir", str(tmp_path), "--listeners",
                             f"PLAINTEXT://127.0.0.1:{free_port()}", *args],
                            env=dict(os.environ, **env), capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert name in result.stderr


def test_sigterm_stops_cleanly_and_logs(vltava_bin, tmp_path):
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port()).start()
    assert broker.stop() == 0
    log = broker.log()
    for line in ["starting", "log recovery done", "listening", "shutting down", "broker stopped"]:
        assert line in log, log
