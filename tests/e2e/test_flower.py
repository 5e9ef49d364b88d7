"""Flower against the test Redis: a failover's steps show under readable names, with secret-free arguments."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.run import Report
from tests.e2e.harness import Runner
from worker.rehearsal.stack import ChildProcess, start_flower

FLOWER_AUTH = "auditor:flower-test-pass"
DEADLINE_S = 60.0


class Flower:
    """A running Flower and an authenticated client for its JSON API."""

    def __init__(self, child: ChildProcess, url: str) -> None:
        self.child = child
        self.url = url

    def get(self, path: str) -> Any:
        """GET an API path with basic auth and decode the JSON."""
        request = urllib.request.Request(self.url + path)
        token = base64.b64encode(FLOWER_AUTH.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_for(self, path: str, ready: Callable[[Any], bool]) -> Any:
        """GET ``path`` until ``ready`` accepts the answer: Flower learns from events, a little later."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            answer = self.get(path)
            if ready(answer):
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"Flower's {path} never became ready: {answer}\n{self.child.tail(50)}")
            time.sleep(0.2)


@pytest.fixture
def flower(redis_url: str, tmp_path: Path) -> Iterator[Flower]:
    """Flower with basic auth, against the test Redis."""
    child, url = start_flower(redis_url, tmp_path, FLOWER_AUTH)
    try:
        yield Flower(child, url)
    finally:
        child.stop()


def test_flower_shows_each_step_of_a_failover_readably_and_without_secrets(
    start_runner: Callable[..., Runner], flower: Flower
) -> None:
    runner = start_runner("cms-2013-primary")
    workers = set(runner.workers.hostnames.values())
    # Online workers, as Flower knows them from their events: its event stream is live before the run.
    flower.wait_for("/api/workers?status=1", lambda answer: workers <= {w for w, up in answer.items() if up})

    run_id = runner.api(pool="pool1.contoso.com")
    report = runner.wait(run_id)
    assert isinstance(report, Report) and report.state == "succeeded", runner.workers.logs()[-4000:]

    expected = {"lync.finish", "lync.cms2013.fail_over_cms", "lync.pool.fail_over"}

    def settled(answer: dict[str, Any]) -> bool:
        names = {task["name"] for task in answer.values()}
        return expected <= names and answer[run_id]["state"] == "SUCCESS"

    tasks = flower.wait_for("/api/tasks", settled)
    by_name = {task["name"]: task for task in tasks.values()}
    # Task.replace hands the launcher's id down the chain: in Flower the run id is the finishing task.
    assert (tasks[run_id]["name"], tasks[run_id]["state"]) == ("lync.finish", "SUCCESS")
    assert "'state': 'succeeded'" in tasks[run_id]["result"]
    fail_over = by_name["lync.pool.fail_over"]
    assert (fail_over["state"], fail_over["args"]) == ("SUCCESS", "(<context>,)")
    assert "pool.fail_over" in fail_over["kwargs"]
    assert fail_over["worker"].startswith("lync.site.datacenter2@")
    assert by_name["lync.cms2013.fail_over_cms"]["worker"].startswith("lync.site.datacenter2@")
    shown = json.dumps(tasks) + json.dumps(flower.get(f"/api/task/info/{fail_over['uuid']}"))
    assert runner.lab.server.password not in shown
