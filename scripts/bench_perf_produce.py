#!/usr/bin/env python3
"""The broker's produce rate driven by `vltava perf produce` (Kafka's producer perf test; issue 15): 1 KiB records with
acks=all from several client connections into a `vltava serve` (broker alone, data on local disk), with the broker's
CPU per MB from /proc. The load generator runs on the same cores as the broker, so its CPU is reported too.

    scripts/bench_perf_produce.py BINARY [--records N] [--connections 1,4,8] [--partitions P] [--in-flight K]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import Vltava, proc_cpu_seconds  # noqa: E402

SUMMARY = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, "
                     r"(\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$")


def create_topic(bootstrap, topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(20)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--record-size", type=int, default=1024)
    parser.add_argument("--connections", default="1,4")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--in-flight", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=65536)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vltava-bench-perf-") as workdir:
        for connections in [int(c) for c in args.connections.split(",")]:
            broker = Vltava(workdir, args.binary)
            broker.wait_listening(broker.spawn(f"c{connections}"))
            try:
                topic = f"perf-{connections}"
                create_topic(broker.bootstrap, topic, args.partitions)
                cpu0, t0 = broker.cpu(), time.monotonic()
                tool = subprocess.Popen(
                    [args.binary, "perf", "produce", "--topic", topic, "--num-records", str(args.records), "--record-size",
                     str(args.record_size), "--throughput", "-1", "--connections", str(connections), "--producer-props",
                     f"bootstrap.servers={broker.bootstrap}", "acks=all", f"batch.size={args.batch_size}",
                     f"max.in.flight.requests.per.connection={args.in_flight}"],
                    stdout=subprocess.PIPE, text=True)
                # The tool's CPU: sampled while it runs (its /proc entry goes once it is reaped).
                tool_cpu = 0.0
                while tool.poll() is None:
                    try:
                        tool_cpu = proc_cpu_seconds(tool.pid)
                    except OSError:
                        pass
                    time.sleep(0.2)
                out = tool.stdout.read()
                wall, cpu = time.monotonic() - t0, broker.cpu() - cpu0
                match = SUMMARY.match(out.strip().splitlines()[-1]) if tool.returncode == 0 and out.strip() else None
                if not match:
                    sys.exit(f"perf produce failed (exit {tool.returncode}): {out}")
                megabytes = args.records * args.record_size / 1_048_576
                rows.append((connections, int(match.group(1)), float(match.group(2)), float(match.group(3)),
                             float(match.group(4)), int(match.group(8)), cpu / megabytes * 1000, cpu / wall, tool_cpu / wall))
            finally:
                broker.stop()
    print(f"vltava perf produce: {args.records} records of {args.record_size} B, acks=all, {args.partitions} partitions, "
          f"batch.size {args.batch_size}, {args.in_flight} in flight per connection; broker and tool on the same 2 cores")
    print("| connections | records | records/s | MB/s | avg latency ms | p99 ms | broker CPU ms per MB | broker cores | tool cores |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| %d | %d | %.0f | %.1f | %.1f | %d | %.2f | %.2f | %.2f |" % row)


if __name__ == "__main__":
    main()
