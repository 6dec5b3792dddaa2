"""A real PostgreSQL for the connector tests: Debian's server binaries, a new data directory in a temporary folder,
run as the unprivileged user `nobody` on a free loopback port with wal_level=logical (logical replication for the
CDC connector), stopped after the test session. scripts/test installs Debian's `postgresql` package when missing."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pg8000.native
import pytest

from conftest import free_port

USER = "nobody"


def postgres_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        pytest.fail("PostgreSQL's server is not installed (Debian's postgresql package; scripts/test installs it)")
    return Path(candidates[-1]).parent


def as_user(args, **kwargs):
    prefix = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + [str(a) for a in args], check=True, capture_output=True, **kwargs)


class PostgresServer:
    """One PostgreSQL cluster: superuser `postgres` (password `secret`, scram-sha-256 on TCP), database `postgres`."""

    password = "secret"

    def __init__(self, ssl=False):
        self.ssl = ssl
        self.bin = postgres_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="vltava-pg-"))
        os.chmod(self.root, 0o777)
        self.data = self.root / "data"
        self.port = free_port()
        self.process = None

    def start(self):
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        os.chmod(pwfile, 0o644)
        as_user([self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                 "--pwfile", pwfile, "-E", "UTF8", "--no-sync"])
        log = open(self.root / "postgres.log", "ab")
        prefix = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
        ssl_options = self.certificate() if self.ssl else []
        self.process = subprocess.Popen(
            prefix + [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.root),
                      "-c", "listen_addresses=127.0.0.1", "-c", "wal_level=logical", "-c", "max_replication_slots=20",
                      "-c", "max_wal_senders=20", "-c", "fsync=off", "-c", "synchronous_commit=off",
                      "-c", "full_page_writes=off", "-c", "max_connections=200", *ssl_options],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                self.connect().close()
                return self
            except Exception:
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError("PostgreSQL did not start: " + (self.root / "postgres.log").read_text()[-2000:])
                time.sleep(0.1)

    def certificate(self):
        """A self-signed certificate for 127.0.0.1, readable only by the server's user; the options that turn TLS on."""
        cert, key = self.root / "server.crt", self.root / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(USER)
            for path in (cert, key):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(key, 0o600)
        return ["-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}"]

    def connect(self, database="postgres") -> pg8000.native.Connection:
        return pg8000.native.Connection("postgres", host="127.0.0.1", port=self.port, password=self.password, database=database)

    def run(self, sql, **params):
        connection = self.connect()
        try:
            return connection.run(sql, **params)
        finally:
            connection.close()

    def execute(self, database, *statements):
        """Runs statements in `database`, each in its own transaction."""
        connection = self.connect(database)
        try:
            for statement in statements:
                connection.run(statement)
        finally:
            connection.close()

    def jdbc_url(self, database="postgres") -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self.run(f'CREATE DATABASE "{name}"')
        return name

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


_database_counter = [0]


@pytest.fixture
def database(postgres, request):
    """A fresh database of its own for one test, its name derived from the test's."""
    _database_counter[0] += 1
    name = f"t{_database_counter[0]}_{request.node.name[:40]}".lower()
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    postgres.create_database(name)
    return name
