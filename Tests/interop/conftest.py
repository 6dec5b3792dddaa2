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
