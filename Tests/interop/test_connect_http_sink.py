"""Confluent's HTTP sink (`io.confluent.connect.http.HttpSinkConnector`) in `vltava serve`, against an HTTP server of
the test's own on a free loopback port: exact bodies of string and JSON batches, headers (Basic and bearer
authentication, custom headers), retries of failed requests, a task that fails with a readable trace when its
retries run out, a 400 that is not retried, `behavior.on.error=log` with a dead-letter queue, validation of bad
configurations, and a task that stops at once while it waits to retry."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import free_port
from test_connect import connect, first_message, task_state, wait_until  # noqa: F401 (connect: a fixture)

STRING = "org.apache.kafka.connect.storage.StringConverter"
JSON = "org.apache.kafka.connect.json.JsonConverter"


class RecordingServer:
    """An HTTP/1.1 server on 127.0.0.1 that records every request and answers each path with the statuses queued
    for it (then 200), or always with a path's fixed failure."""

    def __init__(self):
        self.requests = []
        self.queued = {}
        self.always = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                with outer.lock:
                    outer.requests.append({"method": self.command, "path": self.path, "body": body,
                                           "headers": {k.lower(): v for k, v in self.headers.items()}})
                    if self.path in outer.always:
                        status, text = outer.always[self.path]
                    elif outer.queued.get(self.path):
                        status, text = outer.queued[self.path].pop(0)
                    else:
                        status, text = 200, "ok"
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_PATCH = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path):
        with self.lock:
            return [request for request in self.requests if request["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    recording = RecordingServer()
    yield recording
    recording.close()


def produce(connect, topic, values):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": connect.broker.bootstrap})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(10) == 0


def create(connect, name, config):
    response = connect.post("/connectors", {"name": name, "config": {
        "connector.class": "io.confluent.connect.http.HttpSinkConnector", "key.converter": STRING,
        "value.converter": STRING, "retry.backoff.policy": "CONSTANT_VALUE", "retry.backoff.ms": "50", **config}})
    assert response.status_code == 201, response.text


def trace_of(connect, name):
    tasks = connect.status(name).get("tasks", [])
    return tasks[0].get("trace", "") if tasks and tasks[0]["state"] == "FAILED" else None


def test_batches_headers_basic_auth_and_retries(connect, server):
    values = [f"r{i}" for i in range(7)]
    produce(connect, "http-lines", values)
    server.queued["/ingest"] = [(503, "busy"), (503, "busy")]
    create(connect, "http-lines", {
        "topics": "http-lines", "http.api.url": server.url("/ingest"), "batch.max.size": "3",
        "batch.prefix": "[", "batch.suffix": "]", "batch.separator": ";",
        "headers": "X-Custom:yes|X-Trace : a:b", "auth.type": "BASIC", "connection.user": "alice",
        "connection.password": "s3cret", "max.retries": "3"})
    wait_until(lambda: len(server.to("/ingest")) >= 5, 30,
               lambda: f"{server.to('/ingest')} {connect.status('http-lines')} {connect.broker.log()}")
    time.sleep(0.5)
    requests = server.to("/ingest")
    # The first batch failed twice with 503 and was sent again, then the others went through.
    assert [r["body"] for r in requests] == ["[r0;r1;r2]"] * 3 + ["[r3;r4;r5]", "[r6]"]
    for request in requests:
        assert request["method"] == "POST"
        assert request["headers"]["authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
        assert request["headers"]["x-custom"] == "yes"
        assert request["headers"]["x-trace"] == "a:b"
        assert request["headers"]["content-type"] == "text/plain; charset=UTF-8"
    assert task_state(connect, "http-lines") == "RUNNING"
    # The validation view hides the password.
    config = connect.get("/connectors/http-lines/config").json()
    validated = connect.put("/connector-plugins/HttpSinkConnector/config/validate", {**config, "name": "http-lines"}).json()
    assert validated["error_count"] == 0
    password = [c for c in validated["configs"] if c["definition"]["name"] == "connection.password"][0]
    assert password["value"]["value"] == "[hidden]"


def test_json_batches_as_an_array_with_a_bearer_token(connect, server):
    produce(connect, "http-json", [b'{"a":1}', b'{"b":"x\\"y"}', b"[1,2]", b'"text"'])
    create(connect, "http-json", {
        "topics": "http-json", "http.api.url": server.url("/json/${topic}"), "request.method": "PUT",
        "value.converter": JSON, "value.converter.schemas.enable": "false", "request.body.format": "json",
        "batch.json.as.array": "true", "batch.max.size": "10", "auth.type": "BEARER", "bearer.token": "tok-123"})
    wait_until(lambda: server.to("/json/http-json"), 30, lambda: f"{connect.status('http-json')} {connect.broker.log()}")
    time.sleep(0.5)
    requests = server.to("/json/http-json")
    assert [r["body"] for r in requests] == ['[{"a":1},{"b":"x\\"y"},[1,2],"text"]']
    assert json.loads(requests[0]["body"]) == [{"a": 1}, {"b": 'x"y'}, [1, 2], "text"]
    assert requests[0]["method"] == "PUT"
    assert requests[0]["headers"]["authorization"] == "Bearer tok-123"
    assert requests[0]["headers"]["content-type"] == "application/json"


def test_exhausted_retries_fail_the_task_with_a_readable_trace(connect, server):
    produce(connect, "http-down", ["only"])
    server.always["/down"] = (503, "upstream down")
    create(connect, "http-down", {"topics": "http-down", "http.api.url": server.url("/down"), "max.retries": "2"})
    trace = wait_until(lambda: trace_of(connect, "http-down"), 30,
                       lambda: f"{connect.status('http-down')} {connect.broker.log()}")
    assert f"HTTP POST {server.url('/down')} failed after 2 retries: 503 Service Unavailable: upstream down" in trace
    assert [r["body"] for r in server.to("/down")] == ["only"] * 3
    closed = f"http://127.0.0.1:{free_port()}/x"
    create(connect, "http-closed", {"topics": "http-down", "http.api.url": closed, "max.retries": "1"})
    trace = wait_until(lambda: trace_of(connect, "http-closed"), 30, lambda: str(connect.status("http-closed")))
    assert f"HTTP POST {closed} failed after 1 retry: cannot connect to 127.0.0.1:" in trace, trace


def test_a_400_is_not_retried_unless_configured(connect, server):
    produce(connect, "http-bad", ["x"])
    server.always["/bad"] = (400, '{"error":"no such field"}')
    create(connect, "http-bad", {"topics": "http-bad", "http.api.url": server.url("/bad"),
                                 "retry.on.status.codes": "500-", "max.retries": "5"})
    trace = wait_until(lambda: trace_of(connect, "http-bad"), 30, lambda: str(connect.status("http-bad")))
    assert f'HTTP POST {server.url("/bad")} failed: 400 Bad Request: {{"error":"no such field"}}' in trace
    assert len(server.to("/bad")) == 1


def test_behavior_on_error_log_sends_failed_records_to_the_dead_letter_queue(connect, server):
    produce(connect, "http-dlq", ["good", "rejected"])
    server.queued["/dlq"] = [(200, "ok"), (422, "rejected")]
    create(connect, "http-dlq", {
        "topics": "http-dlq", "http.api.url": server.url("/dlq"), "retry.on.status.codes": "500-",
        "behavior.on.error": "log", "errors.tolerance": "all", "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": "http-dlq-errors", "errors.deadletterqueue.context.headers.enable": "true"})
    message = first_message(connect.broker.bootstrap, "http-dlq-errors", "http-dlq-check", timeout=30)
    assert message is not None, f"{server.to('/dlq')} {connect.status('http-dlq')} {connect.broker.log()}"
    assert message.value() == b"rejected"
    headers = {key: value.decode() for key, value in message.headers()}
    assert headers["__connect.errors.stage"] == "TASK_PUT" and headers["__connect.errors.offset"] == "1"
    assert headers["__connect.errors.exception.message"] == \
        f"HTTP POST {server.url('/dlq')} failed: 422 Unprocessable Entity: rejected"
    assert [r["body"] for r in server.to("/dlq")] == ["good", "rejected"]
    assert task_state(connect, "http-dlq") == "RUNNING"


def test_validation_reports_bad_configurations_by_key(connect):
    base = {"connector.class": "io.confluent.connect.http.HttpSinkConnector", "name": "v", "topics": "t"}

    def errors(config):
        answer = connect.put("/connector-plugins/HttpSinkConnector/config/validate", {**base, **config})
        assert answer.status_code == 200, answer.text
        return {c["definition"]["name"]: c["value"]["errors"] for c in answer.json()["configs"] if c["value"]["errors"]}

    assert list(errors({})) == ["http.api.url"]
    assert "an http:// or https:// URL is expected" in errors({"http.api.url": "ftp://host/x"})["http.api.url"][0]
    assert errors({"http.api.url": "http://h/x", "retry.on.status.codes": "5xx"})["retry.on.status.codes"] == [
        "Invalid value 5xx for configuration retry.on.status.codes: "
        "5xx is not a status code or a range of them such as 500-599 or 400-"]
    assert errors({"http.api.url": "http://h/x", "request.method": "GET"})["request.method"] == [
        "Invalid value GET for configuration request.method: String must be one of: POST, PUT, PATCH"]
    assert list(errors({"http.api.url": "https://h/x", "request.method": "patch", "retry.on.status.codes": "404,500-"})) == []
    response = connect.post("/connectors", {"name": "v", "config": {**base, "http.api.url": "http://h:0/x"}})
    assert response.status_code == 400 and "http.api.url" in response.text


def test_a_task_waiting_to_retry_stops_at_once(connect, server):
    produce(connect, "http-stop", ["wait"])
    server.always["/slow"] = (503, "")
    create(connect, "http-stop", {"topics": "http-stop", "http.api.url": server.url("/slow"),
                                  "max.retries": "100", "retry.backoff.ms": "600000"})
    wait_until(lambda: server.to("/slow"), 30, lambda: str(connect.status("http-stop")))
    started = time.monotonic()
    assert connect.delete("/connectors/http-stop").status_code == 204
    wait_until(lambda: "sink task stopped before delivering its last batch" in connect.broker.log(), 10,
               lambda: connect.broker.log())
    assert time.monotonic() - started < 3
    assert len(server.to("/slow")) == 1
