"""Kafka Connect's REST API with HTTP Basic authentication (issue 11), configured as Kafka's
BasicAuthSecurityRestExtension is: `rest.extension.classes` naming it, and the KafkaConnect section of the JAAS file
in KAFKA_OPTS naming Kafka's PropertyFileLoginModule and its `user: password` file."""

import os
import signal
import subprocess
import time

import pytest
import requests

from conftest import BrokerProcess, free_port

EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
MODULE = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"


@pytest.fixture(scope="module")
def broker(vltava_bin, tmp_path_factory):
    process = BrokerProcess(vltava_bin, tmp_path_factory.mktemp("connect-security") / "data", free_port(),
                            extra_args=["--connect-listeners", "none"]).start()
    yield process
    process.kill9()


def worker_files(directory, broker, rest_port, extension=EXTENSION):
    (directory / "connect.password").write_text("admin: admin-secret\noperator: op,with,commas\n")
    (directory / "jaas.conf").write_text(f'KafkaConnect {{ {MODULE} required file="{directory / "connect.password"}"; }};\n')
    (directory / "worker.properties").write_text(
        f"bootstrap.servers={broker.bootstrap}\n"
        "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
        "value.converter=org.apache.kafka.connect.storage.StringConverter\n"
        f"offset.storage.file.filename={directory / 'offsets'}\n"
        f"listeners=http://127.0.0.1:{rest_port}\n"
        f"rest.extension.classes={extension}\n")
    return {**os.environ, "KAFKA_OPTS": f"-Xmx256M -Djava.security.auth.login.config={directory / 'jaas.conf'}"}


def test_connect_rest_api_with_basic_authentication(vltava_bin, broker, tmp_path):
    port = free_port()
    environment = worker_files(tmp_path, broker, port)
    process = subprocess.Popen([str(vltava_bin), "connect", "standalone", str(tmp_path / "worker.properties")], env=environment,
                               stdout=open(tmp_path / "connect.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"{url}/connectors", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "connect.log").read_text()
                time.sleep(0.2)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="KafkaConnect"'
        assert requests.get(f"{url}/connectors", auth=("admin", "wrong"), timeout=5).status_code == 401
        assert requests.get(f"{url}/connectors", auth=("admin", "admin-secret"), timeout=5).json() == []
        # Kafka's module compares the whole value: commas are part of the password, not roles.
        assert requests.get(f"{url}/connectors", auth=("operator", "op,with,commas"), timeout=5).status_code == 200
        created = requests.post(f"{url}/connectors", auth=("admin", "admin-secret"), timeout=30, json={
            "name": "secured", "config": {"connector.class": "FileStreamSource", "tasks.max": "1",
                                          "file": str(tmp_path / "in.txt"), "topic": "secured-connect"}})
        assert created.status_code == 201, created.text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_other_rest_extensions_are_refused(vltava_bin, broker, tmp_path):
    environment = worker_files(tmp_path, broker, free_port(), extension="com.example.MyRestExtension")
    result = subprocess.run([str(vltava_bin), "connect", "standalone", str(tmp_path / "worker.properties")], env=environment,
                            capture_output=True, timeout=30)
    assert result.returncode != 0
    assert "com.example.MyRestExtension is not supported" in result.stderr.decode(), result.stderr.decode()
    environment["KAFKA_OPTS"] = "-Xmx256M"
    worker_files(tmp_path, broker, free_port())
    result = subprocess.run([str(vltava_bin), "connect", "standalone", str(tmp_path / "worker.properties")], env=environment,
                            capture_output=True, timeout=30)
    assert result.returncode != 0 and "java.security.auth.login.config" in result.stderr.decode(), result.stderr.decode()
