"""The `vltava` command line, run as a user would."""

import subprocess


def test_version_prints_version_and_exits_zero(vltava_bin):
    result = subprocess.run([str(vltava_bin), "version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "vltava 0.1.0"


def test_unknown_subcommand_fails(vltava_bin):
    result = subprocess.run([str(vltava_bin), "no-such-command"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0


def test_free_port_is_bindable():
    import socket

    from conftest import free_port

    p = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", p))
