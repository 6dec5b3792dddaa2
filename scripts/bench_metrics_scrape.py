#!/usr/bin/env python3
"""How long a `/metrics` scrape of `vltava serve` takes with many partitions (issue 15: <= 20 ms with 1 000).

Starts the broker (default: the release build, .build-release/release/vltava) on free loopback ports with its console
listener, creates --topics topics of --partitions partitions, produces --records records to each partition, commits
offsets of --groups groups on every partition (so kafka_consumergroup_lag has a series per group and partition), then
times --scrapes GETs of /metrics over HTTP after one warm-up and prints the median, p90 and maximum, the body's size
and its sample count. Needs confluent-kafka (the interop venv: .venv/bin/python scripts/bench_metrics_scrape.py).
Everything stays on 127.0.0.1; the broker is stopped at the end.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vltava", default=str(REPO_ROOT / ".build-release" / "release" / "vltava"))
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--records", type=int, default=10, help="records produced to each partition")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()

    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    work = Path(tempfile.mkdtemp(prefix="vltava-scrape-"))
    kafka_port, http_port = free_port(), free_port()
    bootstrap = f"127.0.0.1:{kafka_port}"
    log = open(work / "vltava.log", "wb")
    broker = subprocess.Popen(
        [args.vltava, "serve", "--listeners", f"PLAINTEXT://{bootstrap}", "--data-dir", str(work / "data"),
         "--console-listeners", f"http://127.0.0.1:{http_port}", "--schema-registry-listeners", "none",
         "--connect-listeners", "none"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        metrics_url = f"http://127.0.0.1:{http_port}/metrics"
        wait_for(f"http://127.0.0.1:{http_port}/readyz")
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = [f"scrape-{i}" for i in range(args.topics)]
        created = admin.create_topics([NewTopic(t, num_partitions=args.partitions, replication_factor=1) for t in topics],
                                      operation_timeout=120, request_timeout=120)
        for future in created.values():
            future.result(timeout=180)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        for topic in topics:
            for partition in range(args.partitions):
                for i in range(args.records):
                    producer.produce(topic, value=b"x" * 100, partition=partition)
                producer.poll(0)
        assert producer.flush(120) == 0
        for g in range(args.groups):
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"scrape-group-{g}", "enable.auto.commit": False})
            offsets = [TopicPartition(t, p, args.records // 2) for t in topics for p in range(args.partitions)]
            consumer.commit(offsets=offsets, asynchronous=False)
            consumer.close()

        with urllib.request.urlopen(metrics_url, timeout=30) as response:
            body = response.read()
        timings = []
        for _ in range(args.scrapes):
            started = time.perf_counter()
            with urllib.request.urlopen(metrics_url, timeout=30) as response:
                body = response.read()
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        samples = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
        p90 = timings[min(len(timings) - 1, int(len(timings) * 0.9))]
        print(f"/metrics with {args.topics * args.partitions:,} partitions and {args.groups} groups "
              f"({samples:,} samples, {len(body) / 1024:,.0f} KiB): median {statistics.median(timings):.1f} ms, "
              f"p90 {p90:.1f} ms, max {timings[-1]:.1f} ms over {args.scrapes} scrapes")
    except BaseException:
        log.flush()
        print("vltava's log ends with:\n" + (work / "vltava.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            broker.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
