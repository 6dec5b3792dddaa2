"""The web console's access rules and its standalone form, without a browser: HTTP Basic users with an admin and a
read-only role, CSRF tokens bound to their cookie, `vltava console` against a running broker, and the Connect task
record counters the console's neighbour `/metrics` serves."""
import re
import subprocess
import time

import pytest
import requests

from conftest import BrokerProcess, free_port, unique_topic
from test_connect import STRING, ConnectServe, lines_of, wait_until


def csrf_of(html):
    found = re.search(r'name="_csrf" value="([0-9a-f]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def notice_or_error(html):
    found = re.search(r'id="(notice|error)">(.*?)</p>', html, re.S)
    return (found.group(1), found.group(2)) if found else (None, None)


@pytest.fixture(scope="module")
def console_with_users(vltava_bin, tmp_path_factory):
    directory = tmp_path_factory.mktemp("console-users")
    users = directory / "users.properties"
    users.write_text("admin: admin-secret,admin\nviewer: viewer-secret,read-only\n")
    port = free_port()
    broker = BrokerProcess(vltava_bin, directory / "data", free_port(),
                           extra_args=["--console-listeners", f"http://127.0.0.1:{port}", "--console-users-file", str(users)])
    broker.start()
    broker.console = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(broker.console + "/livez", timeout=1).status_code == 200, 20, "console did not start")
    yield broker
    broker.kill9()


def test_pages_ask_for_a_login_and_health_does_not(console_with_users):
    url = console_with_users.console
    answer = requests.get(url + "/topics", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert requests.get(url + "/topics", auth=("admin", "wrong"), timeout=10).status_code == 401
    assert requests.get(url + "/topics", auth=("nobody", "admin-secret"), timeout=10).status_code == 401
    # Health and metrics stay open for probes and Prometheus.
    assert requests.get(url + "/livez", timeout=10).status_code == 200
    assert requests.get(url + "/metrics", timeout=10).status_code == 200
    assert requests.get(url + "/topics", auth=("viewer", "viewer-secret"), timeout=10).status_code == 200


def test_a_read_only_user_sees_no_forms_and_cannot_post(console_with_users):
    url = console_with_users.console
    viewer = requests.Session()
    viewer.auth = ("viewer", "viewer-secret")
    page = viewer.get(url + "/topics", timeout=10)
    assert page.status_code == 200
    assert 'id="create-topic"' not in page.text
    token = csrf_of(page.text)  # the theme form is there for everyone
    topic = unique_topic("ro")
    refused = viewer.post(url + "/topics", data={"_csrf": token, "name": topic}, allow_redirects=False, timeout=10)
    assert refused.status_code == 403
    admin = requests.Session()
    admin.auth = ("admin", "admin-secret")
    page = admin.get(url + "/topics", timeout=10)
    assert 'id="create-topic"' in page.text
    created = admin.post(url + "/topics", data={"_csrf": csrf_of(page.text), "name": topic, "partitions": "2"},
                         allow_redirects=True, timeout=10)
    assert notice_or_error(created.text) == ("notice", f"Created topic {topic}."), created.text[:3000]
    assert f'data-topic="{topic}"' in viewer.get(url + "/topics", timeout=10).text
    # The viewer's CSRF token is bound to the viewer's cookie: it does not pass with the admin's.
    stolen = admin.post(url + f"/topics/{topic}/delete", data={"_csrf": token, "confirm": topic}, allow_redirects=False, timeout=10)
    assert stolen.status_code == 403


def test_forms_check_their_input_and_say_what_is_wrong(console_with_users):
    url = console_with_users.console
    admin = requests.Session()
    admin.auth = ("admin", "admin-secret")
    token = csrf_of(admin.get(url + "/topics", timeout=10).text)
    bad = admin.post(url + "/topics", data={"_csrf": token, "name": unique_topic(), "partitions": "many"}, timeout=10)
    assert notice_or_error(bad.text) == ("error", "Partitions must be a whole number from 1 to 1000000, not &#39;many&#39;")
    topic = unique_topic("confirm")
    admin.post(url + "/topics", data={"_csrf": token, "name": topic}, timeout=10)
    wrong = admin.post(url + f"/topics/{topic}/delete", data={"_csrf": token, "confirm": "something else"}, timeout=10)
    assert notice_or_error(wrong.text)[0] == "error"
    assert f"Type {topic} into the confirmation field" in wrong.text
    assert admin.get(url + f"/topics/{topic}", timeout=10).status_code == 200
    missing = admin.get(url + "/topics/no-such-topic", timeout=10)
    assert missing.status_code == 404
    assert "UNKNOWN_TOPIC_OR_PARTITION" in missing.text
    too_big = admin.get(url + f"/topics/{topic}/messages?limit=100000", timeout=10)
    assert too_big.status_code == 400 and "from 1 to 1000" in too_big.text
    # A form body beyond the limit is refused without being read whole.
    huge = admin.post(url + "/topics", data={"_csrf": token, "name": "x" * (9 << 20)}, timeout=30)
    assert huge.status_code == 413


def test_standalone_console_serves_a_running_broker(vltava_bin, broker, tmp_path):
    port = free_port()
    log = open(tmp_path / "console.log", "wb")
    process = subprocess.Popen([str(vltava_bin), "console", "--bootstrap-server", broker.bootstrap,
                                "--listen", f"http://127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(url + "/"), 20, lambda: (tmp_path / "console.log").read_text())
        session = requests.Session()
        page = session.get(url + "/topics", timeout=10)
        topic = unique_topic("standalone")
        created = session.post(url + "/topics", data={"_csrf": csrf_of(page.text), "name": topic}, timeout=10)
        assert notice_or_error(created.text) == ("notice", f"Created topic {topic}.")
        from kafka import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        assert topic in admin.list_topics()
        admin.close()
        # Without a registry or Connect, their pages say so instead of failing.
        schemas = session.get(url + "/schemas", timeout=10)
        assert schemas.status_code == 503 and "No schema registry is configured" in schemas.text
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0


def test_standalone_console_exits_when_its_port_is_taken(vltava_bin, broker, tmp_path):
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        result = subprocess.run([str(vltava_bin), "console", "--bootstrap-server", broker.bootstrap,
                                 "--listen", f"http://127.0.0.1:{taken.getsockname()[1]}"], capture_output=True, timeout=30)
        assert result.returncode != 0
        assert b"not serving" in result.stdout + result.stderr
    finally:
        taken.close()


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def test_connect_task_record_counters(vltava_bin, tmp_path):
    console_port = free_port()
    worker = ConnectServe(vltava_bin, tmp_path / "data", env={"CONSOLE_LISTENERS": f"http://127.0.0.1:{console_port}"}).start()
    try:
        source_file = tmp_path / "in.txt"
        source_file.write_text("".join(f"line {n}\n" for n in range(25)))
        topic = unique_topic("records")
        sink_file = tmp_path / "out.txt"
        assert worker.post("/connectors", {"name": "src", "config": {
            "connector.class": "FileStreamSource", "file": str(source_file), "topic": topic,
            "key.converter": STRING, "value.converter": STRING}}).status_code == 201
        assert worker.post("/connectors", {"name": "snk", "config": {
            "connector.class": "FileStreamSink", "file": str(sink_file), "topics": topic,
            "key.converter": STRING, "value.converter": STRING}}).status_code == 201
        wait_until(lambda: len(lines_of(sink_file)) == 25, 30, lambda: lines_of(sink_file))

        def counters():
            text = requests.get(f"http://127.0.0.1:{console_port}/metrics", timeout=10).text
            return {m.group(1): int(float(m.group(2))) for m in re.finditer(
                r'^vltava_connect_task_records_total\{connector="(\w+)",task="0"\} (\S+)$', text, re.M)}
        wait_until(lambda: counters() == {"src": 25, "snk": 25}, 20, lambda: counters())
        # The console lists both connectors with their state.
        page = requests.get(f"http://127.0.0.1:{console_port}/connectors", timeout=10).text
        assert 'data-connector="src"' in page and 'data-connector="snk"' in page
    finally:
        worker.broker.kill9()
