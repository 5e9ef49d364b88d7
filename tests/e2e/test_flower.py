"""Flower against the test Redis: a failover's steps show under readable names, with secret-free arguments."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.run import Report
from tests.e2e.harness import FLOWER_AUTH, Flower, Runner
from worker.rehearsal.stack import start_flower


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


def test_flower_shows_a_refused_request_as_its_message_without_a_traceback(
    start_runner: Callable[..., Runner], flower: Flower
) -> None:
    runner = start_runner("cms-2013-primary")
    refused = runner.call(pool="pool1.contoso.com", dryrun=True)
    assert type(runner.wait(refused)).__name__ == "RequestError"

    tasks = flower.wait_for("/api/tasks", lambda answer: answer.get(refused, {}).get("state") == "FAILURE")
    task = tasks[refused]
    assert "lync.failover has no argument 'dryrun'" in task["exception"], task
    assert task["traceback"] is None, task["traceback"]
    page = flower.page(f"/task/{refused}")
    assert "has no argument" in page and "Traceback" not in page
