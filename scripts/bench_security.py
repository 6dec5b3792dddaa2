#!/usr/bin/env python3
"""Security benchmark (issue 11): the cost of SASL and TLS on one `vltava serve`.

  scripts/bench_security.py BINARY [--records N] [--connections N] [--rounds N]

Starts BINARY with a PLAINTEXT, a SASL_PLAINTEXT and a SASL_SSL listener (a test CA and server certificate made with
openssl in a temporary folder; SCRAM-SHA-256 user with 4096 iterations) and prints, per listener:
  - produce: N records of 100 B and of 1 KiB with confluent-kafka (acks=all, linger 5 ms): records/s, MB/s, the
    broker's CPU per record (its utime+stime from /proc over the run) and the client's (this process, librdkafka's
    threads included);
  - consume: the same records read back by a consumer from the beginning: records/s and broker CPU per record;
  - new authenticated connections per second: a raw socket doing SaslHandshake + a SCRAM-SHA-256 exchange (the
    client's PBKDF2 done once and reused, so the figure is the broker's), then closing; over SASL_SSL each one also
    does a TLS handshake.
Each size runs --rounds rounds (listeners in a rotating order, each run on a fresh topic deleted after it) and the
medians are printed, with the SASL_SSL / PLAINTEXT ratio of each round. The goal of the issue: SASL_SSL at least 0.7x the PLAINTEXT rate at 1 KiB. Run it on an otherwise idle machine.
"""
import argparse
import base64
import hashlib
import hmac
import os
import shutil
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_requests as wire  # noqa: E402
from bench_broker import free_port  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion  # noqa: E402

USER, PASSWORD = "bench", "bench-secret"


def make_pki(directory):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench CA")
    with open(os.path.join(directory, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
        "-days", "1", "-extfile", "ext")
    with open(os.path.join(directory, "keystore.pem"), "w") as f:
        f.write(open(os.path.join(directory, "server.key")).read() + open(os.path.join(directory, "server.pem")).read())


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def produce(config, topic, count, size, pid, settings=None):
    """Produces `count` records as fast as the broker takes them: (records/s, MB/s, broker µs CPU per record)."""
    producer = Producer({**config, "queue.buffering.max.messages": 1_000_000,
                         **(settings or {"acks": "all", "linger.ms": 5, "batch.size": 1 << 20})})
    payload = b"x" * size
    cpu, client_cpu, start = cpu_seconds(pid), time.process_time(), time.monotonic()
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.005)
    assert producer.flush(120) == 0
    seconds, cpu, client_cpu = time.monotonic() - start, cpu_seconds(pid) - cpu, time.process_time() - client_cpu
    return count / seconds, count * size / seconds / 1e6, cpu / count * 1e6, client_cpu / count * 1e6


def consume(config, topic, count, pid):
    consumer = Consumer({**config, "group.id": f"bench-{topic}-{time.monotonic_ns()}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "fetch.max.bytes": 52428800})
    consumer.subscribe([topic])
    seen, cpu, start = 0, cpu_seconds(pid), None
    deadline = time.monotonic() + 120
    while seen < count and time.monotonic() < deadline:
        for message in consumer.consume(10000, 0.5):
            if message.error() is None:
                if start is None:
                    start = time.monotonic()
                seen += 1
    seconds, cpu = time.monotonic() - (start or time.monotonic()), cpu_seconds(pid) - cpu
    consumer.close()
    return seen / max(seconds, 1e-9), cpu / max(seen, 1) * 1e6


def scram_login(port, salted, tls_context=None):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls_context is not None:
        sock = tls_context.wrap_socket(sock, server_hostname="127.0.0.1")
    sp = wire.specs()

    def call(api, version, values):
        sock.sendall(wire.encode_request(api, version, values, correlation_id=1))
        return wire.decode_response(sp, sp.request(api).api_key, version, wire.read_frame(sock))[1]

    assert call("SaslHandshake", 1, {"Mechanism": "SCRAM-SHA-256"})["ErrorCode"] == 0
    nonce = base64.b64encode(os.urandom(18)).decode()
    bare = f"n={USER},r={nonce}"
    first = call("SaslAuthenticate", 2, {"AuthBytes": f"n,,{bare}".encode()})
    server_first = bytes(first["AuthBytes"]).decode()
    attributes = dict(item.split("=", 1) for item in server_first.split(","))
    without_proof = f"c=biws,r={attributes['r']}"
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    final = call("SaslAuthenticate", 2, {"AuthBytes": f"{without_proof},p={proof}".encode()})
    assert final["ErrorCode"] == 0, final
    sock.close()


def connections_per_second(port, count, salt, tls_context=None):
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 4096)
    start = time.monotonic()
    for _ in range(count):
        scram_login(port, salted, tls_context)
    return count / (time.monotonic() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="bench-security-")
    make_pki(directory)
    ports = {"PLAINTEXT": free_port(), "SASL_PLAINTEXT": free_port(), "SASL_SSL": free_port()}
    listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())
    log = open(os.path.join(directory, "broker.log"), "w")
    broker = subprocess.Popen([args.binary, "serve", "--data-dir", os.path.join(directory, "data"),
                               "--schema-registry-listeners", "none", "--connect-listeners", "none",
                               "--override", f"listeners={listeners}", "--override", "sasl.enabled.mechanisms=SCRAM-SHA-256",
                               "--override", f"ssl.keystore.location={directory}/keystore.pem"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", ports["PLAINTEXT"]), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{ports['PLAINTEXT']}"})
        upsert = UserScramCredentialUpsertion(USER, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), PASSWORD.encode(),
                                              b"bench-salt-0123456789")
        for future in admin.alter_user_scram_credentials([upsert]).values():
            future.result(20)
        configs = {
            "PLAINTEXT": {"bootstrap.servers": f"127.0.0.1:{ports['PLAINTEXT']}"},
            "SASL_PLAINTEXT": {"bootstrap.servers": f"127.0.0.1:{ports['SASL_PLAINTEXT']}", "security.protocol": "SASL_PLAINTEXT",
                               "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": USER, "sasl.password": PASSWORD},
            "SASL_SSL": {"bootstrap.servers": f"127.0.0.1:{ports['SASL_SSL']}", "security.protocol": "SASL_SSL",
                         "ssl.ca.location": f"{directory}/ca.pem", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": USER,
                         "sasl.password": PASSWORD},
        }
        print(f"records per run: {args.records}; broker {args.binary}")
        print(f"{'listener':<16}{'size':>6}{'produce rec/s':>15}{'MB/s':>8}{'µs CPU/rec':>12}{'client µs':>11}"
              f"{'consume rec/s':>15}{'µs CPU/rec':>12}")
        # Each round runs the listeners in another order, on a topic of its own deleted afterwards: the log of
        # one run must not weigh on the next (the last listener of a fixed order ran on the most data).
        results = {}
        names = list(configs)
        for size in (100, 1024):
            for round_index in range(args.rounds):
                order = names[round_index % len(names):] + names[:round_index % len(names)]
                for name in order:
                    topic = f"bench-{name.lower()}-{size}-{round_index}"
                    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
                    rate, mbps, cpu, client_cpu = produce(configs[name], topic, args.records, size, broker.pid)
                    consume_rate, consume_cpu = consume(configs[name], topic, args.records, broker.pid)
                    results.setdefault((name, size), []).append((rate, mbps, cpu, client_cpu, consume_rate, consume_cpu))
                    admin.delete_topics([topic])[topic].result(20)
            for name in names:
                rate, mbps, cpu, client_cpu, consume_rate, consume_cpu = (
                    statistics.median(run[i] for run in results[(name, size)]) for i in range(6))
                print(f"{name:<16}{size:>6}{rate:>15,.0f}{mbps:>8.1f}{cpu:>12.2f}{client_cpu:>11.2f}{consume_rate:>15,.0f}{consume_cpu:>12.2f}")
        for size in (100, 1024):
            ratios = [ssl_run[0] / plain_run[0] for ssl_run, plain_run in zip(results[("SASL_SSL", size)], results[("PLAINTEXT", size)])]
            consume_ratios = [ssl_run[4] / plain_run[4] for ssl_run, plain_run in zip(results[("SASL_SSL", size)], results[("PLAINTEXT", size)])]
            print(f"SASL_SSL / PLAINTEXT at {size} B: produce {statistics.median(ratios):.2f}x "
                  f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}), consume {statistics.median(consume_ratios):.2f}x")
        context = ssl.create_default_context(cafile=f"{directory}/ca.pem")
        salt = b"bench-salt-0123456789"
        print(f"new SCRAM-SHA-256 connections/s (4096 iterations, {args.connections} in a row): "
              f"SASL_PLAINTEXT {connections_per_second(ports['SASL_PLAINTEXT'], args.connections, salt):,.0f}, "
              f"SASL_SSL {connections_per_second(ports['SASL_SSL'], args.connections, salt, context):,.0f}")
    finally:
        broker.kill()
        broker.wait()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
