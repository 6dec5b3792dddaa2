"""The seed's getting-started producer and consumer, run unmodified against Vltava on localhost:9092."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, BrokerProcess

SEED = REPO_ROOT.parent / "shared" / "seed" / "getting-started"


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_seed_producer_and_consumer(vltava_bin, tmp_path):
    assert (SEED / "producer.py").is_file(), f"seed scripts not found under {SEED}"
    assert port_is_free(9092), "the seed flow needs port 9092, which is in use"
    broker = BrokerProcess(vltava_bin, tmp_path / "data", 9092).start()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    consumer = producer = None
    try:
        consumer = subprocess.Popen([sys.executable, str(SEED / "consumer.py")], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, env=env)
        # The consumer starts at the latest offset: give it time to join before the first reading is sent.
        time.sleep(4)
        producer = subprocess.Popen([sys.executable, str(SEED / "producer.py")], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, env=env)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(consumer.stdout.readline, "")), daemon=True)
        reader.start()
        received = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(received) < 2:
            received = [line for line in list(lines) if line.startswith("[recv]")]
            buffer = "".join(lines)
            assert consumer.poll() is None, f"consumer exited: {buffer}"
            assert producer.poll() is None, "producer exited"
            time.sleep(0.2)
        assert len(received) >= 2, f"consumer printed: {buffer!r}\nbroker log: {broker.log()}"
        assert received[0].startswith("[recv] offset: 0, data: {'sensorID': 'AI110'"), received[0]
        assert received[1].startswith("[recv] offset: 1, data: {'sensorID': 'AI110'"), received[1]
    finally:
        for process in (producer, consumer):
            if process:
                process.kill()
                process.wait()
        broker.kill9()
