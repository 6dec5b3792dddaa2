"""Two `vltava connect distributed` workers in one Connect cluster (the `connect` worker group protocol): both
answer the REST API, a follower forwards changes to the leader, connectors and tasks are spread over the workers,
and after one worker is killed its work moves to the other, every source line reaching the sink."""

import os
import signal
import subprocess
import time
import uuid

import requests
from conftest import GROUP_BROKER_ARGS, BrokerProcess, free_port
from test_connect import lines_of, sink_config, source_config, wait_until


class Worker:
    """A `vltava connect distributed` process on a free REST port."""

    def __init__(self, vltava_bin, tmp_path, name, bootstrap):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.worker_id = f"127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"{name}.log"
        properties = tmp_path / f"{name}.properties"
        properties.write_text("\n".join([
            f"bootstrap.servers={bootstrap}", "group.id=two-workers", f"listeners=http://127.0.0.1:{self.port}",
            "config.storage.topic=two-configs", "offset.storage.topic=two-offsets", "status.storage.topic=two-status",
            "config.storage.replication.factor=1", "offset.storage.replication.factor=1",
            "status.storage.replication.factor=1", "offset.flush.interval.ms=500",
            "scheduled.rebalance.max.delay.ms=3000", "heartbeat.interval.ms=500", "session.timeout.ms=6000", ""]))
        self.process = subprocess.Popen([str(vltava_bin), "connect", "distributed", str(properties)],
                                        stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT, env=dict(os.environ))
        wait_until(self.healthy, 30, lambda: self.log())

    def healthy(self):
        try:
            return requests.get(self.url + "/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log(self):
        return self.log_path.read_text(errors="replace")

    def get(self, path):
        return requests.get(self.url + path, timeout=10)

    def create(self, name, config):
        """POST /connectors, retried while the group rebalances (409)."""
        deadline = time.monotonic() + 30
        while True:
            response = requests.post(self.url + "/connectors", json={"name": name, "config": config}, timeout=30)
            if response.status_code != 409 or time.monotonic() > deadline:
                return response
            time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def running_workers(worker, name):
    """The workers running a connector's tasks, once every task runs; None before."""
    response = worker.get(f"/connectors/{name}/status")
    if response.status_code != 200:
        return None
    tasks = response.json().get("tasks", [])
    if not tasks or any(task["state"] != "RUNNING" for task in tasks):
        return None
    return {task["worker_id"] for task in tasks}


def test_two_workers_share_connectors_and_take_over_after_a_kill(vltava_bin, tmp_path):
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=[*GROUP_BROKER_ARGS, "--connect-listeners", "none"]).start()
    first = second = None
    try:
        first = Worker(vltava_bin, tmp_path, "first", broker.bootstrap)
        second = Worker(vltava_bin, tmp_path, "second", broker.bootstrap)
        workers = {first.worker_id: first, second.worker_id: second}
        source_file, other_file, sink_file = tmp_path / "in.txt", tmp_path / "other.txt", tmp_path / "out.txt"
        lines = [f"line {i} {uuid.uuid4().hex}" for i in range(500)]
        source_file.write_text("\n".join(lines) + "\n")
        other_file.write_text("")
        topic = "two-workers-lines"

        created = first.create("lines-in", source_config(source_file, topic, **{"tasks.max": "1"}))
        assert created.status_code == 201, created.text
        created = first.create("lines-out", sink_config(sink_file, topic))
        assert created.status_code == 201, created.text
        # Sent to whichever worker; a follower forwards it to the leader.
        for worker in (second, first):
            created = worker.create(f"other-in-{worker.port}", source_config(other_file, "two-workers-other"))
            assert created.status_code == 201, created.text

        names = sorted(["lines-in", "lines-out", f"other-in-{first.port}", f"other-in-{second.port}"])
        for worker in (first, second):
            wait_until(lambda: sorted(worker.get("/connectors").json()) == names, 30,
                       lambda: f"{worker.get('/connectors').text} {worker.log()}")
        for name in names:
            wait_until(lambda: running_workers(first, name) is not None, 60,
                       lambda: f"{name}: {first.get(f'/connectors/{name}/status').text} {first.log()} {second.log()}")

        def spread(worker):
            used = set()
            for name in names:
                used |= running_workers(worker, name) or set()
            return used

        # Each worker shows the tasks the other runs (statuses followed in connect-status), spread over both.
        for worker in (first, second):
            wait_until(lambda: spread(worker) == set(workers), 30, lambda: f"tasks run on {spread(worker)}, not on both")
        # Both workers report the same statuses (each reads what the other wrote to connect-status).
        for name in names:
            wait_until(lambda: first.get(f"/connectors/{name}/status").json() == second.get(f"/connectors/{name}/status").json(), 30,
                       lambda: f"{first.get(f'/connectors/{name}/status').text} != {second.get(f'/connectors/{name}/status').text}" + first.log() + second.log())
        wait_until(lambda: len(lines_of(sink_file)) >= len(lines), 60,
                   lambda: f"sink has {len(lines_of(sink_file))} lines: {first.log()}")

        # A restart sent to either worker reaches the worker running the task (a restart request in connect-configs).
        restarted = requests.post(second.url + "/connectors/lines-in/restart", params={"includeTasks": "true"}, timeout=30)
        assert restarted.status_code == 202, restarted.text
        wait_until(lambda: running_workers(first, "lines-in") is not None, 30,
                   lambda: f"{first.get('/connectors/lines-in/status').text} {first.log()} {second.log()}")

        # A task restart goes to the worker running the task, whichever worker gets it.
        for worker in (first, second):
            restarted = requests.post(worker.url + "/connectors/lines-out/tasks/0/restart", timeout=30)
            assert restarted.status_code == 204, (
                f"{worker.worker_id}: {restarted.text}; as {first.worker_id} sees it: {first.get('/connectors/lines-out/status').text}; "
                f"as {second.worker_id} sees it: {second.get('/connectors/lines-out/status').text} {first.log()} {second.log()}")
        wait_until(lambda: running_workers(first, "lines-out") is not None, 30,
                   lambda: f"{first.get('/connectors/lines-out/status').text} {first.log()} {second.log()}")

        # Kill the worker that runs the source's task: after the delay the other runs everything.
        victim = workers[next(iter(wait_until(lambda: running_workers(first, "lines-in"), 30, "lines-in does not run")))]
        survivor = first if victim is second else second
        victim.process.kill()
        victim.process.wait()
        more = [f"after {i} {uuid.uuid4().hex}" for i in range(300)]
        with open(source_file, "a") as f:
            f.write("\n".join(more) + "\n")
        for name in names:
            wait_until(lambda: running_workers(survivor, name) == {survivor.worker_id}, 60,
                       lambda: f"{name}: {survivor.get(f'/connectors/{name}/status').text} {survivor.log()}")
        expected = set(lines + more)
        wait_until(lambda: expected <= set(lines_of(sink_file)), 60,
                   lambda: f"sink misses {len(expected - set(lines_of(sink_file)))} lines: {survivor.log()}")
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        broker.kill9()
