"""`vltava perf produce` and `vltava perf consume`: Kafka's producer and consumer perf tests' flags and output, against
a `vltava serve`, with the records counted by confluent-kafka's admin and by the consumer test itself."""

import re
import subprocess
import time

from confluent_kafka.admin import AdminClient, NewTopic
from conftest import BrokerProcess, free_port

SUMMARY = re.compile(r"^(\d+) records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, "
                     r"\d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$")


def perf(vltava_bin, *args, timeout=120):
    return subprocess.run([str(vltava_bin), "perf", *args], capture_output=True, text=True, timeout=timeout)


def test_produce_then_consume_with_kafkas_output(vltava_bin, tmp_path):
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port())
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("perf", num_partitions=3, replication_factor=1)])["perf"].result(10)
        done = perf(vltava_bin, "produce", "--topic", "perf", "--num-records", "30000", "--record-size", "100",
                    "--throughput", "-1", "--producer-props", f"bootstrap.servers={broker.bootstrap}", "acks=all",
                    "batch.size=4096", "--connections", "2")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        match = SUMMARY.match(lines[-1])
        assert match and int(match.group(1)) == 30000, done.stdout
        consumed = perf(vltava_bin, "consume", "--bootstrap-server", broker.bootstrap, "--topic", "perf", "--messages", "30000")
        assert consumed.returncode == 0, consumed.stderr
        header, values = consumed.stdout.strip().splitlines()
        assert header.startswith("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg")
        fields = [f.strip() for f in values.split(",")]
        assert fields[4] == "30000" and abs(float(fields[2]) - 30000 * 100 / 1048576) < 0.01, values

        # --throughput holds the rate: 3000 records at 1500/s take about two seconds.
        started = time.monotonic()
        slow = perf(vltava_bin, "produce", "--topic", "perf", "--num-records", "3000", "--record-size", "10",
                    "--throughput", "1500", "--bootstrap-server", broker.bootstrap)
        assert slow.returncode == 0 and time.monotonic() - started >= 1.8, slow.stdout

        # A payload file's parts are the values; a wrong property is said plainly.
        payloads = tmp_path / "payloads.txt"
        payloads.write_text("alpha\nbeta\ngamma\n")
        assert perf(vltava_bin, "produce", "--topic", "perf", "--num-records", "9", "--payload-file", str(payloads),
                    "--throughput", "-1", "--bootstrap-server", broker.bootstrap).returncode == 0
        bad = perf(vltava_bin, "produce", "--topic", "perf", "--num-records", "1", "--record-size", "1", "--throughput", "-1",
                   "--producer-props", f"bootstrap.servers={broker.bootstrap}", "acks=2")
        assert bad.returncode != 0 and "acks must be all, -1, 1 or 0" in bad.stderr
        unreachable = perf(vltava_bin, "consume", "--bootstrap-server", f"127.0.0.1:{free_port()}", "--topic", "perf",
                           "--messages", "1")
        assert unreachable.returncode != 0 and "connection refused" in unreachable.stderr, unreachable.stderr
    finally:
        broker.stop()
