"""A real etcd for the cluster tests: Debian's etcd-server (3.4), one member on free loopback ports with its data in
a temporary folder, run as the unprivileged user `nobody` (through setpriv, dying with the test process), stopped
after the test. scripts/test installs etcd-server when missing; without it the tests are skipped, unless
VLTAVA_REQUIRE_ETCD=1 makes that a failure."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port


def etcd_binary() -> str:
    path = os.environ.get("VLTAVA_ETCD_BIN") or shutil.which("etcd") or "/usr/bin/etcd"
    if not os.path.exists(path):
        message = "etcd is not installed (apt-get install --no-install-recommends etcd-server; scripts/test does)"
        if os.environ.get("VLTAVA_REQUIRE_ETCD") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


class EtcdServer:
    """One etcd member; `endpoint` is its client URL."""

    def __init__(self):
        self.binary = etcd_binary()
        self.root = Path(tempfile.mkdtemp(prefix="vltava-etcd-"))
        self.client_port = free_port()
        self.peer_port = free_port()
        self.process = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self, timeout: float = 30.0):
        data = self.root / "data"
        peer = f"http://127.0.0.1:{self.peer_port}"
        prefix = []
        if os.geteuid() == 0:
            shutil.chown(self.root, user="nobody", group="nogroup")
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--pdeathsig", "KILL", "--"]
        log = open(self.root.parent / f"{self.root.name}.log", "ab")
        self.log_path = Path(log.name)
        self.process = subprocess.Popen(
            prefix + [self.binary, "--name", "vltava-test", "--data-dir", str(data),
                      "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
                      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                      "--initial-cluster", f"vltava-test={peer}"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.range_prefix("/")
                return self
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("etcd did not start: " + self.log_path.read_text(errors="replace")[-2000:])
                time.sleep(0.1)

    def call(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.endpoint + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    def range_prefix(self, prefix: str) -> dict:
        """The keys under `prefix` and their values, as text."""
        key = prefix.encode()
        end = key[:-1] + bytes([key[-1] + 1])
        answer = self.call("/v3/kv/range", {"key": base64.b64encode(key).decode(), "range_end": base64.b64encode(end).decode()})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in answer.get("kvs", [])}

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
