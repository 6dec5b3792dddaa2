"""`vltava serve` whose broker has no PLAINTEXT listener (issue 11): the registry and the Connect worker inside it log
in to a SASL listener when configured as Confluent's images are (`SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL` with
its `_SASL_*` settings, `CONNECT_SECURITY_PROTOCOL` with `CONNECT_SASL_*`), and say what is missing when they are
not."""

import time
import uuid

import requests

from conftest import BrokerProcess, free_port
from security_support import consume_values

PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
JAAS = f'{PLAIN_MODULE} required username="services" password="services-secret";'


class SaslOnlyServe(BrokerProcess):
    def __init__(self, binary, data_dir, env):
        self.registry_port, self.connect_port = free_port(), free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, env={
            "SCHEMA_REGISTRY_LISTENERS": f"http://127.0.0.1:{self.registry_port}",
            "CONNECT_LISTENERS": f"http://127.0.0.1:{self.connect_port}", **env}, extra_args=[
            "--override", f"listeners=SASL_PLAINTEXT://127.0.0.1:{port}",
            "--override", "sasl.enabled.mechanisms=PLAIN", "--log-level", "debug",
            "--override", f"listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_MODULE} required "
                          'user_services="services-secret" user_alice="alice-secret";',
        ])

    def wait_for(self, url, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.exceptions.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(self.log())


def test_registry_and_connect_log_in_to_a_sasl_listener(vltava_bin, tmp_path):
    process = SaslOnlyServe(vltava_bin, tmp_path / "data", {
        "SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_MECHANISM": "PLAIN",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG": JAAS,
        "CONNECT_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "CONNECT_SASL_MECHANISM": "PLAIN",
        "CONNECT_SASL_JAAS_CONFIG": JAAS,
    }).start()
    try:
        registry = f"http://127.0.0.1:{process.registry_port}"
        connect = f"http://127.0.0.1:{process.connect_port}"
        process.wait_for(registry + "/subjects")
        answer = requests.post(registry + "/subjects/orders-value/versions", timeout=30,
                               json={"schema": '{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}'})
        assert answer.status_code == 200, answer.text
        assert requests.get(registry + "/subjects", timeout=10).json() == ["orders-value"]

        process.wait_for(connect + "/connectors")
        topic = f"serve-sasl-{uuid.uuid4().hex[:6]}"
        source = tmp_path / "lines.txt"
        source.write_text("one\ntwo\n")
        created = requests.post(connect + "/connectors", timeout=30, json={"name": "lines", "config": {
            "connector.class": "FileStreamSource", "file": str(source), "topic": topic,
            "value.converter": "org.apache.kafka.connect.storage.StringConverter"}})
        assert created.status_code == 201, created.text
        config = {"bootstrap.servers": process.bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                  "sasl.username": "alice", "sasl.password": "alice-secret"}
        assert [value.decode() for value in consume_values(config, topic, 2)] == ["one", "two"]
        # The services' own clients authenticated as their user (the broker logs logins at debug level).
        assert "principal=User:services" in process.log()
    finally:
        process.kill9()


def test_without_settings_they_say_what_is_missing(vltava_bin, tmp_path):
    process = SaslOnlyServe(vltava_bin, tmp_path / "data", {}).start()
    try:
        deadline = time.monotonic() + 10
        while "Connect not started" not in process.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = process.log()
        assert "schema registry not started: the broker has no PLAINTEXT listener" in log, log
        assert "SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL" in log
        assert "Connect not started: the broker has no PLAINTEXT listener" in log, log
        assert process.process.poll() is None
    finally:
        process.kill9()
