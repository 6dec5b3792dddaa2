"""Running the Java test programs of Tests/interop/java (Apache Kafka's Java client, kafka-clients 3.9.1).

scripts/java-clients fetches the jars and compiles the programs into .java-clients/ (env JAVA_CLIENTS_DIR);
scripts/test runs it before the interop suite, and the `java` fixture runs it again (a no-op when up to date) so
that pytest alone works too. Java missing is a failure, not a skip: CI machines have Java 17.

A program prints "name=value" facts on stdout and exits 0 when all its checks held, 1 when one failed
("FAILED: ..." on stderr), 2 on any other exception (see Tests/interop/java/Support.java).
"""

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
JAVA_CLIENTS_DIR = Path(os.environ.get("JAVA_CLIENTS_DIR", REPO_ROOT / ".java-clients"))
SETUP_SCRIPT = REPO_ROOT / "scripts" / "java-clients"
# Short programs: the C1 compiler alone and the serial collector start fastest.
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto",
               "-Djava.net.preferIPv4Stack=true"]


@dataclass
class JavaResult:
    command: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    facts: dict = field(default_factory=dict)

    def all(self, name):
        """Every value printed for a fact name, in order."""
        return [line.split("=", 1)[1] for line in self.stdout.splitlines()
                if "=" in line and line.split("=", 1)[0] == name]

    def describe(self) -> str:
        stderr = "\n".join(line for line in self.stderr.splitlines()
                           if not line.startswith("SLF4J:") and not line.lstrip().startswith("at "))
        program_and_args = self.command[self.command.index("-cp") + 2:]
        return (f"java {' '.join(program_and_args)}\nexit {self.returncode} after {self.seconds:.1f}s\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr (stack frames left out)\n{stderr[-4000:]}")


class JavaRunner:
    def __init__(self, java: str, classpath: str):
        self.java = java
        self.classpath = classpath

    def run(self, program: str, *args, timeout: float = 120) -> JavaResult:
        """Runs `program` (a class of Tests/interop/java) with the arguments; never raises on a non-zero exit."""
        command = [self.java, *JVM_OPTIONS, "-cp", self.classpath, program, *map(str, args)]
        start = time.monotonic()
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout.decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
            err = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else (expired.stderr or "")
            pytest.fail(f"{program} {' '.join(map(str, args))} still ran after {timeout}s\n--- stdout\n{out[-3000:]}"
                        f"\n--- stderr\n{err[-3000:]}")
        facts = {}
        for line in completed.stdout.splitlines():
            if "=" in line:
                name, value = line.split("=", 1)
                facts[name] = value
        return JavaResult(command, completed.returncode, completed.stdout, completed.stderr,
                          time.monotonic() - start, facts)

    def ok(self, program: str, *args, broker=None, timeout: float = 120) -> JavaResult:
        """Runs `program` and fails the test unless every check of it held (exit 0); returns its result."""
        result = self.run(program, *args, timeout=timeout)
        if result.returncode != 0 or result.facts.get("result") != "ok":
            log = f"\n--- broker log (tail)\n{broker.log()[-3000:]}" if broker is not None else ""
            pytest.fail(f"Java program failed: {result.describe()}{log}", pytrace=False)
        return result


def prepare() -> JavaRunner:
    """Finds Java, makes sure the jars and compiled programs are in place; fails (never skips) otherwise."""
    java = shutil.which("java")
    if java is None or shutil.which("javac") is None:
        pytest.fail("Java 17 (java and javac) is needed by the Java client interop tests and was not found on PATH; "
                    "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)", pytrace=False)
    try:
        setup = subprocess.run([str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=900,
                               env={**os.environ, "JAVA_CLIENTS_DIR": str(JAVA_CLIENTS_DIR)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{SETUP_SCRIPT} did not finish within 900 s", pytrace=False)
    if setup.returncode != 0:
        pytest.fail(f"{SETUP_SCRIPT} failed (exit {setup.returncode}):\n{setup.stdout}\n{setup.stderr}", pytrace=False)
    classes = JAVA_CLIENTS_DIR / "classes"
    lib = JAVA_CLIENTS_DIR / "lib"
    if not (classes / "Support.class").is_file() or not (lib / "kafka-clients.jar").is_file():
        pytest.fail(f"{SETUP_SCRIPT} succeeded but {classes}/Support.class or {lib}/kafka-clients.jar is missing",
                    pytrace=False)
    return JavaRunner(java, f"{classes}{os.pathsep}{lib}/*")


def batch_headers(partition_dir: Path):
    """The record batch headers of every segment of a partition folder, in order: dicts with base_offset,
    attributes, codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), transactional, control, producer_id,
    producer_epoch, base_sequence and records."""
    import struct

    batches = []
    for segment in sorted(partition_dir.glob("*.log")):
        data = segment.read_bytes()
        position = 0
        while position + 61 <= len(data):
            base_offset, length = struct.unpack_from(">qi", data, position)
            (attributes,) = struct.unpack_from(">h", data, position + 21)
            producer_id, producer_epoch, base_sequence, records = struct.unpack_from(">qhii", data, position + 43)
            batches.append({"base_offset": base_offset, "attributes": attributes, "codec": attributes & 0x7,
                            "transactional": bool(attributes & 0x10), "control": bool(attributes & 0x20),
                            "producer_id": producer_id, "producer_epoch": producer_epoch,
                            "base_sequence": base_sequence, "records": records})
            position += 12 + length
    return batches
