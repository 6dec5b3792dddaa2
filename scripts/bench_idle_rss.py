#!/usr/bin/env python3
"""Idle RSS of `vltava serve BINARY`: the broker alone, with Kafka Connect, with the registry and Connect (3 runs each).

Usage: scripts/bench_idle_rss.py BINARY
"""
import subprocess, tempfile, time, sys
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from bench_broker import free_port, proc_rss_mb
b = sys.argv[1]
for label, extra in (("broker only", ["--connect-listeners", "none", "--schema-registry-listeners", "none"]),
                     ("broker + connect", ["--connect-listeners", f"http://127.0.0.1:{free_port()}", "--schema-registry-listeners", "none"]),
                     ("broker + registry + connect", ["--connect-listeners", f"http://127.0.0.1:{free_port()}", "--schema-registry-listeners", f"http://127.0.0.1:{free_port()}"])):
    vals = []
    for _ in range(3):
        d = tempfile.mkdtemp(); port = free_port()
        p = subprocess.Popen([b, "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{port}", "--data-dir", d, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(4); vals.append(proc_rss_mb(p.pid)); p.kill(); p.wait()
    print(label, "idle RSS MB", [round(v,1) for v in vals])
