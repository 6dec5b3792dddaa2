"""Shared fixtures of the interop suite.

The suite runs real Kafka clients (kafka-python, confluent-kafka, aiokafka, kcat) against the `vltava` binary.
scripts/test builds the binary and passes its path in VLTAVA_BIN (default: .build/debug/vltava).
Everything talks to 127.0.0.1 only.
"""

import os
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on the loopback interface that was free a moment ago (the kernel picks it: bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def vltava_bin() -> Path:
    """Path of the built `vltava` executable (env VLTAVA_BIN, default .build/debug/vltava)."""
    path = Path(os.environ.get("VLTAVA_BIN", REPO_ROOT / ".build" / "debug" / "vltava"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"vltava binary not found at {path}; build it with `swift build --product vltava` "
                    "or set VLTAVA_BIN")
    return path


@pytest.fixture
def port() -> int:
    """A free loopback port."""
    return free_port()


class BrokerProcess:
    """A `vltava serve` process on a loopback port with its own data folder, which a test can stop, kill -9
    and start again on the same port and data."""

    def __init__(self, binary: Path, data_dir: Path, port: int, extra_args=(), env=None):
        self.binary = binary
        self.data_dir = data_dir
        self.port = port
        self.extra_args = list(extra_args)
        self.env = env
        self.process = None
        self.log_path = data_dir.parent / f"vltava-{port}.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0):
        import subprocess
        import time

        env = dict(os.environ)
        # Tests that are not about the registry leave port 8081 alone (the registry tests pass
        # --schema-registry-listeners, which wins over the environment).
        env.setdefault("SCHEMA_REGISTRY_LISTENERS", "none")
        # Likewise Connect and its port 8083 (the Connect tests pass --connect-listeners).
        env.setdefault("CONNECT_LISTENERS", "none")
        # Likewise the console/metrics listener and its port 8080 (test_metrics passes --console-listeners).
        env.setdefault("CONSOLE_LISTENERS", "none")
        env.update(self.env or {})
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{self.port}",
             "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        # Every listener of a `listeners=` override is waited for (they are bound one after the other).
        ports = [self.port]
        for arg in self.extra_args:
            if isinstance(arg, str) and arg.startswith("listeners="):
                ports += [int(item.rsplit(":", 1)[1]) for item in arg[len("listeners="):].split(",") if ":" in item]
        deadline = time.monotonic() + timeout
        waiting = list(dict.fromkeys(ports))
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vltava exited with {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.2):
                    waiting.pop(0)
                    if not waiting:
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"vltava did not listen on {waiting} within {timeout}s: {self.log()}")

    def stop(self, timeout: float = 20.0):
        import signal

        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
        return self.process.returncode if self.process else None

    def kill9(self):
        import signal

        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self):
        self.stop()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture
def broker(vltava_bin, tmp_path):
    """A fresh broker on a free loopback port with an empty data folder."""
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port()).start()
    yield process
    process.kill9()


@pytest.fixture(scope="module")
def shared_broker(vltava_bin, tmp_path_factory):
    """One broker for every test of a module (for tests that only create their own topics)."""
    directory = tmp_path_factory.mktemp("shared")
    process = BrokerProcess(vltava_bin, directory / "data", free_port()).start()
    yield process
    process.kill9()


def unique_topic(prefix: str = "t") -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:10]}"


GROUP_BROKER_ARGS = ["--override", "group.initial.rebalance.delay.ms=300"]


@pytest.fixture
def group_broker(vltava_bin, tmp_path):
    """A fresh broker whose empty groups wait only 300 ms for more members before the first rebalance
    (group.initial.rebalance.delay.ms; Kafka's default of 3 s would slow every group test)."""
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=GROUP_BROKER_ARGS).start()
    yield process
    process.kill9()


@pytest.fixture(scope="module")
def shared_group_broker(vltava_bin, tmp_path_factory):
    """One such broker for every test of a module."""
    directory = tmp_path_factory.mktemp("groups")
    process = BrokerProcess(vltava_bin, directory / "data", free_port(), extra_args=GROUP_BROKER_ARGS).start()
    yield process
    process.kill9()


@pytest.fixture(scope="session")
def java():
    """Runs the Java test programs of Tests/interop/java (java_support.JavaRunner: run/ok with a timeout). Fails,
    never skips, when Java 17 is missing; runs scripts/java-clients first (a no-op when up to date)."""
    import java_support

    return java_support.prepare()
