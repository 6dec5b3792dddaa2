#!/usr/bin/env python3
"""Which parts of the `vltava` executable an idle broker keeps in memory: starts `vltava serve` (registry and
Connect off) on a free port in a temporary folder, waits, then reads /proc/PID/pagemap for the executable's
mappings (root needed for page frame flags; presence bits are enough here) and attributes each resident page to its
ELF section (`readelf -S`). Prints kB per section, largest first, and the total — what idle RSS is made of.

    scripts/rss_by_section.py .build-release/release/vltava [--wait 2]
"""

import argparse
import os
import re
import struct
import subprocess
import tempfile
import time


def sections(binary):
    result = []
    for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if match and int(match.group(2), 16):
            result.append((match.group(1), int(match.group(2), 16), int(match.group(4), 16)))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--wait", type=float, default=2.0, help="seconds after start-up before measuring")
    args = parser.parse_args()
    binary = os.path.realpath(args.binary)
    folder = tempfile.mkdtemp(prefix="rss-by-section-")
    environment = dict(os.environ, SCHEMA_REGISTRY_LISTENERS="none", CONNECT_LISTENERS="none", CONSOLE_LISTENERS="none")
    broker = subprocess.Popen([binary, "serve", "--listeners", "PLAINTEXT://127.0.0.1:0", "--data-dir", folder + "/data"],
                              env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(args.wait)
        base, regions = None, []
        for line in open(f"/proc/{broker.pid}/maps").read().splitlines():
            parts = line.split()
            if len(parts) >= 6 and os.path.realpath(parts[-1]) == binary:
                low, high = (int(value, 16) for value in parts[0].split("-"))
                if base is None:
                    base = low - int(parts[2], 16)
                regions.append((low, high))
        known = sections(binary)
        kilobytes = {}
        with open(f"/proc/{broker.pid}/pagemap", "rb") as pagemap:
            for low, high in regions:
                for page in range(low, high, 4096):
                    pagemap.seek(page // 4096 * 8)
                    if struct.unpack("Q", pagemap.read(8))[0] >> 63 & 1:
                        address = page - base
                        name = next((n for n, start, size in known if start <= address < start + size), "(other)")
                        kilobytes[name] = kilobytes.get(name, 0) + 4
        rss = next(int(line.split()[1]) for line in open(f"/proc/{broker.pid}/status") if line.startswith("VmRSS:"))
    finally:
        broker.kill()
        broker.wait()
    for name, size in sorted(kilobytes.items(), key=lambda item: -item[1]):
        if size >= 16:
            print(f"{name:32}{size:>9} kB")
    print(f"{'executable, resident':32}{sum(kilobytes.values()):>9} kB")
    print(f"{'whole process (VmRSS)':32}{rss:>9} kB")


if __name__ == "__main__":
    main()
