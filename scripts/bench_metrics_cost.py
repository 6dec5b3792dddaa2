#!/usr/bin/env python3
"""Broker CPU per record with and without the metrics (issue 15: the metrics add <= 3 %).

Runs scripts/bench_broker.py (the produce/consume phases of scripts/bench, Vltava only) against two release binaries
in alternation — a build without the metrics (--base, e.g. e859710, the commit before them) and one with them
(--metrics) — --rounds times each, and prints the broker's CPU seconds per million records of each produce and
consume phase: the median over the rounds for each binary and the difference. Broker CPU is utime+stime of the
broker process (/proc/PID/stat), which other load on the machine disturbs less than wall time.

    .venv/bin/python scripts/bench_metrics_cost.py --base /tmp/vltava-base --metrics .build-release/release/vltava

Needs kcat and confluent-kafka (the interop venv); everything runs on 127.0.0.1.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PHASES = ["p100-acks1", "p100-acksall", "p1k-acks1", "p1k-acksall", "c100", "c1k"]


def rdkafka_dir(workdir):
    """A folder with confluent-kafka's bundled librdkafka as librdkafka.so.1 for kcat (Debian's kcat links an older
    librdkafka that does not know the consume options bench_broker.py sets), as scripts/bench does."""
    import confluent_kafka

    bundled = sorted((Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob("librdkafka*.so*"))
    if not bundled:
        return ""
    folder = Path(workdir) / "rdkafka"
    folder.mkdir(exist_ok=True)
    (folder / "librdkafka.so.1").symlink_to(bundled[0])
    return str(folder)


def run(binary, scale, workdir):
    output = Path(workdir) / "result.json"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bench_broker.py"), "--vltava", str(binary), "--tansu", "/bin/false",
         "--brokers", "vltava", "--workdir", workdir, "--scale", str(scale), "--json", str(output),
         "--rdkafka-dir", rdkafka_dir(workdir)],
        check=True, stdout=subprocess.DEVNULL)
    phases = json.loads(output.read_text())["results"]["vltava"]["phases"]
    return {phase: phases[phase]["broker_cpu_per_M"] for phase in PHASES if phase in phases}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="release binary without the metrics")
    parser.add_argument("--metrics", required=True, help="release binary with the metrics")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.5, help="multiplies bench_broker.py's record counts")
    args = parser.parse_args()

    figures = {"base": [], "metrics": []}
    for round_number in range(args.rounds):
        for name in ("base", "metrics"):
            with tempfile.TemporaryDirectory(prefix="vltava-cost-") as workdir:
                result = run(getattr(args, name), args.scale, workdir)
            figures[name].append(result)
            print(f"round {round_number + 1} {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()), file=sys.stderr)

    print(f"Broker CPU seconds per million records, median of {args.rounds} rounds (scale {args.scale:g}):")
    print(f"| phase | without metrics | with metrics | difference |")
    print(f"|---|---|---|---|")
    for phase in PHASES:
        base = [r[phase] for r in figures["base"] if phase in r]
        metrics = [r[phase] for r in figures["metrics"] if phase in r]
        if not base or not metrics:
            continue
        b, m = statistics.median(base), statistics.median(metrics)
        print(f"| {phase} | {b:.3f} | {m:.3f} | {100 * (m - b) / b:+.1f} % |")


if __name__ == "__main__":
    main()
