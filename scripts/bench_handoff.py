#!/usr/bin/env python3
"""One-record-per-request produce: broker CPU per record of two `vltava` binaries, alternated.

Usage: scripts/bench_handoff.py BEFORE_BINARY AFTER_BINARY [ROUNDS]

Each run starts `vltava serve` on a free loopback port with a fresh data folder, sends 1 KiB records at 50 MB/s for
5 s with linger.ms=0 (one record per Produce request), acks=all then acks=1, and prints the broker's CPU
(utime+stime from /proc) per record and the delivery latency p50/p99. It isolates the per-request cost of moving a
request to the request-handler pool and back (docs/reliability.md). Needs confluent-kafka (.venv).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Producer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import create_topic, free_port, proc_cpu_seconds  # noqa: E402


def start_broker(binary, data):
    port = free_port()
    process = subprocess.Popen([binary, "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{port}", "--data-dir", data,
                                "--schema-registry-listeners", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bootstrap = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            create_topic(bootstrap, "t")
            return process, bootstrap
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.1)


def run(binary, acks, seconds=5.0, rate=50e6, size=1024):
    data = tempfile.mkdtemp()
    process, bootstrap = start_broker(binary, data)
    try:
        producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0, "enable.idempotence": False})
        payload = b"x" * size
        latencies = []

        def delivered(err, msg):
            if err is None:
                latencies.append(msg.latency())

        for _ in range(1000):  # warm-up
            producer.produce("t", payload, callback=delivered)
            producer.poll(0)
        producer.flush()
        latencies.clear()
        cpu_before, start, sent = proc_cpu_seconds(process.pid), time.time(), 0
        while time.time() - start < seconds:
            wait = start + sent * size / rate - time.time()
            if wait > 0:
                time.sleep(wait)
            producer.produce("t", payload, callback=delivered)
            sent += 1
            producer.poll(0)
        producer.flush()
        cpu = proc_cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(data)
    latencies.sort()
    return sent, cpu / sent * 1e6, latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    for _ in range(rounds):
        for name, binary in (("before", sys.argv[1]), ("after", sys.argv[2])):
            for acks in ("all", "1"):
                sent, micros, p50, p99 = run(binary, acks)
                print(f"{name:6s} acks={acks:3s} records={sent} broker µs CPU/record={micros:6.2f} "
                      f"p50={p50:.2f} ms p99={p99:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
