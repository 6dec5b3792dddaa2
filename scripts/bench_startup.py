#!/usr/bin/env python3
"""Start-up time of `vltava serve` binaries (the broker alone: registry and Connect off), alternated: time from exec
to the first accepted connection.

Usage: scripts/bench_startup.py BINARY [BINARY ...]   (7 runs each, medians printed)
"""
import socket, subprocess, tempfile, time, sys, statistics
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from bench_broker import broker_only_options, free_port
def once(binary):
    data = tempfile.mkdtemp(); port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{port}", "--data-dir", data, "--schema-registry-listeners", "none", *broker_only_options(binary)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1); s.close(); break
        except OSError: time.sleep(0.001)
    t = (time.monotonic() - t0) * 1000
    p.kill(); p.wait()
    return t
bins = sys.argv[1:]
res = {b: [] for b in bins}
for _ in range(7):
    for b in bins: res[b].append(once(b))
for b in bins: print(b, "median ms", round(statistics.median(res[b]), 1), [round(x,1) for x in res[b]])
