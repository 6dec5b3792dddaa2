"""The deployment files: deploy/compose.yaml is the seed's getting-started cluster with Vltava in place of cp-kafka,
and the Dockerfile builds the `vltava` image. No Docker engine is needed: `docker compose config` only parses
and resolves the file (Compose v1's `docker-compose config` is used where the v2 plugin is missing)."""

import json
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "deploy" / "compose.yaml"

# The environment block of the seed's kafka-compose.yaml, unchanged.
SEED_ENVIRONMENT = {
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka-server:29092,PLAINTEXT_HOST://localhost:9092",
    "KAFKA_LISTENERS": "CONTROLLER://kafka-server:19092,PLAINTEXT://kafka-server:29092,PLAINTEXT_HOST://0.0.0.0:9092",
    "CLUSTER_ID": "0000000000000000000000",
    "KAFKA_NODE_ID": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka-server:19092",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_DEFAULT_REPLICATION_FACTOR": "1",
}


def compose_config() -> dict:
    """The resolved compose file, from whichever Compose the machine has."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if plugin.returncode == 0:
            result = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--format", "json"],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout)
    if shutil.which("docker-compose"):
        result = subprocess.run(["docker-compose", "-f", str(COMPOSE_FILE), "config"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)
    pytest.skip("neither `docker compose` (the Compose v2 plugin) nor `docker-compose` is installed")


@pytest.fixture(scope="module")
def services() -> dict:
    return compose_config()["services"]


def test_kafka_server_is_vltava_with_the_seed_environment(services):
    server = services["kafka-server"]
    assert server["image"].startswith("vltava")
    assert server["hostname"] == "kafka-server"
    assert {key: str(value) for key, value in server["environment"].items()} == SEED_ENVIRONMENT
    # The seed's Kafka port, and the web console's.
    assert [(str(port["published"]), int(port["target"])) for port in server["ports"]] == [("9092", 9092), ("8080", 8080)]
    volumes = server["volumes"]
    volume_targets = [volume["target"] if isinstance(volume, dict) else volume.split(":")[1] for volume in volumes]
    assert volume_targets == ["/var/lib/kafka/data"]


def test_topic_creator_waits_then_creates_sensors(services):
    creator = services["kafka-topic-creator"]
    assert creator["image"].startswith("vltava")
    assert "kafka-server" in creator["depends_on"]
    script = "\n".join(creator["command"]) if isinstance(creator["command"], list) else creator["command"]
    assert "vltava ready -b kafka-server:29092 1 10" in script
    assert ("vltava topics create --if-not-exists --bootstrap-server kafka-server:29092 --partitions 1 "
            "--replication-factor 1 --topic sensors") in " ".join(script.split())
    assert script.index("vltava ready") < script.index("vltava topics create")


def test_dockerfile_runs_vltava_serve_on_9092():
    lines = [line.strip() for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()]
    assert any(line.startswith("FROM swift:") and " AS build" in line for line in lines)
    assert any("swift build -c release --product vltava" in line for line in lines)
    assert "EXPOSE 9092" in lines
    assert 'ENTRYPOINT ["vltava"]' in lines
    assert 'CMD ["serve"]' in lines
    assert "ENV KAFKA_LOG_DIRS=/var/lib/kafka/data" in lines


# --- deploy/schema-registry: the seed's schema-registry section ----------------------------------------------

REGISTRY_COMPOSE_FILE = REPO_ROOT / "deploy" / "schema-registry" / "compose.yaml"

# The environment of the seed's cp-schema-registry service (schema-registry/compose.yaml), unchanged.
SEED_REGISTRY_ENVIRONMENT = {
    "SCHEMA_REGISTRY_HOST_NAME": "schema-registry",
    "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": "kafka-server:29092",
    "SCHEMA_REGISTRY_LISTENERS": "http://0.0.0.0:8081",
}


def registry_services() -> dict:
    """deploy/schema-registry/compose.yaml as written (it uses no interpolation, so YAML is enough)."""
    return yaml.safe_load(REGISTRY_COMPOSE_FILE.read_text())["services"]


def published_ports(service: dict) -> list:
    return [tuple(str(port).split(":")) for port in service.get("ports", [])]


def test_registry_compose_runs_the_seed_broker_without_an_embedded_registry():
    services = registry_services()
    server = services["kafka-server"]
    assert server["image"].startswith("vltava")
    assert {key: str(value) for key, value in server["environment"].items()} == SEED_ENVIRONMENT
    assert published_ports(server) == [("9092", "9092")]
    # cp-kafka has no registry: the broker's own is off, so that one registry writes _schemas.
    assert server["command"] == ["serve", "--schema-registry-listeners", "none", "--connect-listeners", "none"]
    assert server["build"]["context"] == "../.." and server["build"]["dockerfile"] == "Dockerfile"


def test_registry_compose_runs_vltava_schema_registry_with_the_cp_schema_registry_environment():
    registry = registry_services()["schema-registry"]
    assert registry["image"].startswith("vltava")
    assert registry["command"] == ["schema-registry"]
    assert registry["hostname"] == "schema-registry"
    assert "kafka-server" in registry["depends_on"]
    assert {key: str(value) for key, value in registry["environment"].items()} == SEED_REGISTRY_ENVIRONMENT
    assert published_ports(registry) == [("8081", "8081")]


def test_registry_compose_resolves_with_docker_compose():
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if plugin.returncode == 0:
            result = subprocess.run(["docker", "compose", "-f", str(REGISTRY_COMPOSE_FILE), "config", "--format", "json"],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            return
    if shutil.which("docker-compose"):
        result = subprocess.run(["docker-compose", "-f", str(REGISTRY_COMPOSE_FILE), "config"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return
    pytest.skip("neither `docker compose` (the Compose v2 plugin) nor `docker-compose` is installed")


def test_registry_pair_of_the_compose_file_serves_schemas(vltava_bin, tmp_path):
    """kafka-server and schema-registry as the compose file runs them (commands and environment; loopback ports
    in place of the container names): the broker has no registry of its own, the standalone one stores schemas."""
    import os
    import time

    import requests

    from conftest import BrokerProcess, free_port

    services = registry_services()
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=services["kafka-server"]["command"][1:])
    broker.start()
    registry_port = free_port()
    environment = dict(SEED_REGISTRY_ENVIRONMENT)
    environment["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] = broker.bootstrap
    environment["SCHEMA_REGISTRY_LISTENERS"] = f"http://127.0.0.1:{registry_port}"
    log = open(tmp_path / "registry.log", "wb")
    registry = subprocess.Popen([str(vltava_bin), *services["schema-registry"]["command"]],
                                env={**os.environ, **environment}, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{registry_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/subjects", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert registry.poll() is None and time.monotonic() < deadline, (tmp_path / "registry.log").read_text()
            time.sleep(0.1)
        schema = {"schemaType": "PROTOBUF", "schema": 'syntax = "proto3"; message Sensor { string id = 1; }'}
        answer = requests.post(f"{url}/subjects/sensors-value/versions", json=schema, timeout=30)
        assert answer.status_code == 200 and answer.json() == {"id": 1}
        assert requests.get(f"{url}/subjects", timeout=5).json() == ["sensors-value"]
    finally:
        registry.terminate()
        registry.wait(timeout=20)
        broker.stop()


def test_compose_runs_prometheus_scraping_vltava_metrics():
    """Prometheus beside the broker scrapes its console port inside the Compose network; Grafana gets the dashboard."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    prometheus = compose["services"]["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus")
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = [target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]]
    assert targets == ["kafka-server:8080"]
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in compose["services"]["grafana"]["volumes"]
    promtool = shutil.which("promtool")
    if promtool:
        checked = subprocess.run([promtool, "check", "config", str(REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml")],
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr
