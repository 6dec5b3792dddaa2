#!/usr/bin/env python3
"""Idle RSS of `vltava serve`: the broker alone (without and with the console/metrics listener), with Kafka Connect,
with the registry and Connect, and with every service after each console page was opened once (3 runs each).

Usage: scripts/bench_idle_rss.py BINARY

Most of an idle process's RSS is the binary's own code mapped from the page cache (RssFile), and how much of it is
mapped depends on what the page cache holds: a binary that was just built (or read whole) is mapped in large
neighbourhoods of every page touched (the kernel's fault-around), one started from disk only where it was read.
So each configuration is measured twice: "cold", with the binary's pages dropped from the page cache before each
start (as after a deployment or a reboot), and "hot", with the whole binary in the page cache (as right after a
build). Prints total RSS, and its anonymous part (the process's own memory), in MB.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_broker import free_port  # noqa: E402


def status_mb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def drop_from_page_cache(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def read_whole(path):
    with open(path, "rb") as file:
        while file.read(1 << 20):
            pass


CONSOLE_PAGES = ("/", "/topics", "/groups", "/schemas", "/connectors", "/security", "/metrics")


def measure(binary, extra, cold, visit=None):
    if cold:
        drop_from_page_cache(binary)
    else:
        read_whole(binary)
    data = tempfile.mkdtemp(prefix="vltava-idle-rss.")
    process = subprocess.Popen([binary, "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{free_port()}",
                                "--data-dir", data, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)
        if visit:
            import urllib.request
            for page in CONSOLE_PAGES:
                with urllib.request.urlopen(visit + page, timeout=10) as answer:
                    answer.read()
            time.sleep(6)  # a sample of the console's history taken meanwhile
        return status_mb(process.pid, "VmRSS"), status_mb(process.pid, "RssAnon")
    finally:
        process.kill()
        process.wait()
        subprocess.run(["rm", "-rf", data])


def main():
    binary = sys.argv[1]
    console = free_port()
    configurations = (
        ("broker only", ["--connect-listeners", "none", "--schema-registry-listeners", "none", "--console-listeners", "none"], None),
        ("broker + console/metrics listener", ["--connect-listeners", "none", "--schema-registry-listeners", "none",
                                               "--console-listeners", f"http://127.0.0.1:{free_port()}"], None),
        ("broker + connect", ["--connect-listeners", f"http://127.0.0.1:{free_port()}", "--schema-registry-listeners", "none",
                              "--console-listeners", "none"], None),
        ("broker + registry + connect", ["--connect-listeners", f"http://127.0.0.1:{free_port()}",
                                         "--schema-registry-listeners", f"http://127.0.0.1:{free_port()}", "--console-listeners", "none"], None),
        ("every service, each console page opened", ["--connect-listeners", f"http://127.0.0.1:{free_port()}",
                                                     "--schema-registry-listeners", f"http://127.0.0.1:{free_port()}",
                                                     "--console-listeners", f"http://127.0.0.1:{console}"],
         f"http://127.0.0.1:{console}"),
    )
    print(f"idle RSS of {binary} (MB; anonymous part in brackets)")
    for label, extra, visit in configurations:
        for cold in (True, False):
            runs = [measure(binary, extra, cold, visit) for _ in range(3)]
            figures = ", ".join(f"{total:.1f} [{anonymous:.1f}]" for total, anonymous in runs)
            print(f"  {label}, {'cold' if cold else 'hot'} page cache: {figures}")


if __name__ == "__main__":
    main()
