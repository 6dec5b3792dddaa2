#!/usr/bin/env python3
"""MirrorMaker 2 benchmark (issue 14): how fast `vltava connect mirror` replicates a topic, against how fast one
plain consumer (kcat, librdkafka) reads the same topic of the same source, in the same run.

Usage: scripts/bench-mirror [--records 1000000] [--size 100] [--partitions 4] [--binary PATH] [--runs 1]

Starts two brokers (`vltava serve`, Connect and the registry off): A, the source, and B, the target. Loads RECORDS
records of SIZE bytes into A's topic `bench` with kcat (keyed, spread over PARTITIONS). Then, per run:
  * times `kcat -C -e` reading the whole topic from A (the plain consumer's records/s);
  * writes an mm2.properties with the flow A->B for `bench` and starts `vltava connect mirror`, timing from its start
    until B's `A.bench` holds every record (end-to-end records/s, start-up included) and, separately, from the first
    5 % to 100 % (the steady rate); then checks that the record counts of every partition agree.
  * CPU of the mirror process per record (utime+stime from /proc).
Goal: MirrorMaker's steady rate >= 0.8 x the plain consumer's.
The binary defaults to .build-release/release/vltava.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import free_port, proc_cpu_seconds  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(args, log_path):
    return subprocess.Popen(args, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)


def end_offsets(bootstrap, topic, partitions):
    """The high watermark of each partition (kcat -Q would need timestamps; the metadata-free way is -o -1 -c)."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)]
    except Exception:  # noqa: BLE001 - the topic may not exist yet
        return [0] * partitions
    finally:
        consumer.close()


def load(bootstrap, records, size, partitions, work):
    from confluent_kafka.admin import AdminClient, NewTopic
    client = AdminClient({"bootstrap.servers": bootstrap})  # kept until the future resolves
    client.create_topics([NewTopic("bench", partitions, 1)])["bench"].result(30)
    path = f"{work}/input.txt"
    body = "x" * max(size - 20, 1)
    with open(path, "w") as file:
        for index in range(records):
            file.write(f"{index:09d}\t{index:010d}{body}\n")
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", "bench", "-K", "\t", "-z", "none", "-X", "linger.ms=20",
                    "-X", "batch.num.messages=10000", "-l", path], check=True)
    counts = end_offsets(bootstrap, "bench", partitions)
    assert sum(counts) == records, counts


def plain_consumer(bootstrap, records):
    started = time.monotonic()
    result = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", "bench", "-o", "beginning", "-e", "-q", "-f", "%o\n",
                             "-X", "fetch.message.max.bytes=1048576"], capture_output=True, check=True)
    elapsed = time.monotonic() - started
    assert result.stdout.count(b"\n") == records, result.stdout.count(b"\n")
    return records / elapsed


def mirror(binary, source, target, records, partitions, work, run):
    properties = f"{work}/mm2-{run}.properties"
    with open(properties, "w") as file:
        file.write(f"clusters = A, B\nA.bootstrap.servers = {source}\nB.bootstrap.servers = {target}\n"
                   "A->B.enabled = true\nA->B.topics = bench\nreplication.factor = 1\n"
                   "checkpoints.topic.replication.factor = 1\nheartbeats.topic.replication.factor = 1\n"
                   "offset-syncs.topic.replication.factor = 1\noffset.storage.replication.factor = 1\n"
                   "status.storage.replication.factor = 1\nconfig.storage.replication.factor = 1\n"
                   "offset.flush.interval.ms = 10000\n")
    started = time.monotonic()
    process = start([binary, "connect", "mirror", properties], f"{work}/mirror-{run}.log")
    first = None
    try:
        while True:
            done = sum(end_offsets(target, "A.bench", partitions))
            now = time.monotonic()
            if first is None and done >= records // 20:
                first = (now, done)
            if done >= records:
                break
            if now - started > 600:
                raise RuntimeError(f"only {done} of {records} records replicated after 600 s")
            time.sleep(0.05)
        cpu = proc_cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert end_offsets(target, "A.bench", partitions) == end_offsets(source, "bench", partitions)
    # Everything may land between two samples when the topic is small: then the steady rate is the end-to-end one.
    steady = (records - first[1]) / (now - first[0]) if first[1] < records else records / (now - started)
    return records / (now - started), steady, cpu / records * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--binary", default=os.path.join(REPO, ".build-release/release/vltava"))
    args = parser.parse_args()
    if not shutil.which("kcat"):
        raise SystemExit("kcat is needed (apt-get install kcat)")
    work = tempfile.mkdtemp(prefix="vltava-bench-mirror.")
    brokers = []
    try:
        def broker(name):
            port = free_port()
            brokers.append(start([args.binary, "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{port}", "--data-dir",
                                  f"{work}/{name}", "--schema-registry-listeners", "none", "--connect-listeners", "none"],
                                 f"{work}/{name}.log"))
            time.sleep(1)
            return f"127.0.0.1:{port}"
        source = broker("a")
        load(source, args.records, args.size, args.partitions, work)
        print(f"{args.records} records of {args.size} B in {args.partitions} partitions")
        for run in range(args.runs):
            target = broker(f"b{run}")  # a fresh target each run: nothing replicated yet, no stored offsets
            consumer_rate = plain_consumer(source, args.records)
            total, steady, cpu = mirror(args.binary, source, target, args.records, args.partitions, work, run)
            print(f"run {run + 1}: plain consumer (kcat) {consumer_rate:,.0f} records/s; mirror {total:,.0f} records/s "
                  f"end to end (start-up included), {steady:,.0f} records/s steady = {steady / consumer_rate:.2f} x the "
                  f"consumer; mirror CPU {cpu:.2f} us/record")
    finally:
        for broker in brokers:
            broker.terminate()
            broker.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
