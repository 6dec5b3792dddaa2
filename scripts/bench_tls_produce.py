#!/usr/bin/env python3
"""TLS produce cost on the broker (issue 11): one fresh `vltava serve` per run, an SSL (or PLAINTEXT) listener, and
confluent-kafka producing 1 KiB records (acks=all, linger 5 ms) — the broker's CPU per record, split into user and
system time, its minor page faults per record, and the client's CPU per record.

  scripts/bench_tls_produce.py BINARY {ssl,plain} [RECORDS]      (ROUNDS=N runs N topics on the same broker)

Alternate two binaries run by run to compare them: the figures of this machine move between runs.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_security as security  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def proc_stat(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()


def main():
    binary, mode = sys.argv[1], sys.argv[2]
    records = int(sys.argv[3]) if len(sys.argv) > 3 else 300_000
    directory = tempfile.mkdtemp(prefix="bench-tls-")
    security.make_pki(directory)
    ports = {"PLAINTEXT": security.free_port(), "SSL": security.free_port()}
    listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())
    log = open(os.path.join(directory, "broker.log"), "w")
    broker = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(directory, "data"), "--schema-registry-listeners", "none",
                               "--connect-listeners", "none", "--override", f"listeners={listeners}",
                               "--override", f"ssl.keystore.location={directory}/keystore.pem"], stdout=log, stderr=log)
    try:
        time.sleep(1)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{ports['PLAINTEXT']}"})
        if mode == "ssl":
            config = {"bootstrap.servers": f"127.0.0.1:{ports['SSL']}", "security.protocol": "SSL", "ssl.ca.location": f"{directory}/ca.pem"}
        else:
            config = {"bootstrap.servers": f"127.0.0.1:{ports['PLAINTEXT']}"}
        for round_index in range(int(os.environ.get("ROUNDS", "1"))):
            topic = f"t{round_index}"
            admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
            before = proc_stat(broker.pid)
            rate, _, cpu, client = security.produce(config, topic, records, 1024, broker.pid)
            after = proc_stat(broker.pid)
            ticks = os.sysconf("SC_CLK_TCK")
            faults = (int(after[7]) - int(before[7])) / records
            user = (int(after[11]) - int(before[11])) / ticks / records * 1e6
            system = (int(after[12]) - int(before[12])) / ticks / records * 1e6
            print(f"{mode} rate {rate:,.0f} broker µs/rec {cpu:.2f} (user {user:.2f}, sys {system:.2f}) "
                  f"client µs/rec {client:.2f} minor faults/rec {faults:.3f}", flush=True)
    finally:
        broker.kill()
        broker.wait()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
