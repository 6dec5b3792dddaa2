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
    assert [(str(port["published"]), int(port["target"])) for port in server["ports"]] == [("9092", 9092)]
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
