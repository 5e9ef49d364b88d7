"""A whole runner for one lab scenario: Redis, one Celery worker per queue, the lab, and both triggers."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from plugins.kit.model import StepCall
from tasks.record import get_run, read_journal
from tasks.run import JournalEntry, Report, Run, StepEntry
from tests.fixtures_celery import StartWorkers
from tests.fixtures_lab import RunningLab
from worker.rehearsal.stack import ChildProcess, WorkerSet

RESULT_DEADLINE_S = 45.0
#: What Runner.commands() leaves out: session set-up, and polls whose number depends on timing.
UNCOUNTED = ("Import-Module", "Get-ScheduledTaskInfo")
TASK_ID = re.compile(r"lync-failover-[0-9a-f]{32}")
LONG_TEXT = 120
EVENTS_ENV = "LYNC_FAILOVER_EXAMPLE_EVENTS"
#: The cmdlets that change nothing: all a dry run may send.
READ_ONLY = {
    "Import-Module",
    "Get-CsPool",
    "Get-CsService",
    "Get-CsPoolBackupRelationship",
    "Get-CsManagementStoreReplicationStatus",
    "Get-CsDatabaseMirrorState",
    "Get-CsRegistrarConfiguration",
    "Test-Path",
    "Get-CsWindowsService",
    "Get-CsUser",
    "Get-CsUserPoolInfo",
    "Get-CsBackupServiceStatus",
    "Get-ScheduledTaskInfo",
    "Get-Content",
}


#: How a command that must run locally gets there (worker/run_locally.py): not a change the plan lists.
RUN_LOCALLY = {"Set-Content", "Register-ScheduledTask", "Start-ScheduledTask", "Unregister-ScheduledTask"}


def is_run_locally(line: str) -> bool:
    """Whether a command line is the run-locally mechanism's own (the task, its script)."""
    return line.split()[1] in RUN_LOCALLY


def is_read_only(line: str) -> bool:
    """Whether a command line (``server cmdlet params``) changes nothing."""
    words = line.split()
    return words[1] in READ_ONLY or words[-1] == "-WhatIf"


@dataclass
class Runner:
    """Trigger runs and read what happened: the run record, the lab's journal and the plugin's events."""

    lab: RunningLab
    workers: WorkerSet
    env: dict[str, str]
    events_path: Path
    redis: redis.Redis

    def call(self, **kwargs: Any) -> str:
        """``celery -A worker call lync.failover --kwargs ...``; the printed task id (= the run id)."""
        return self.call_task("lync.failover", **kwargs)

    def call_task(self, name: str, *args: Any, **kwargs: Any) -> str:
        """``celery -A worker call NAME --args ... --kwargs ...`` (any launcher); the printed task id (= the
        run id)."""
        out = self._celery("call", name, "--args", json.dumps(args), "--kwargs", json.dumps(kwargs))
        return out.stdout.strip()

    def api(self, **kwargs: Any) -> str:
        """``tasks.runbook.start_failover(...)`` in this process; the run id."""
        from tasks.runbook import start_failover

        control = json.loads(self.lab.inventory_path.read_text())["control_queue"]
        return str(start_failover(**kwargs, queue=control).id)

    def wait(self, run_id: str, deadline_s: float = RESULT_DEADLINE_S) -> Report | Exception:
        """The run's final result: the report, or the exception that stopped it."""
        from worker.celery_app import app

        try:
            return Report.model_validate(app.AsyncResult(run_id).get(timeout=deadline_s, propagate=True))
        except Exception as error:
            if type(error).__name__ == "TimeoutError":
                pytest.fail(f"run {run_id} did not finish:\n{self.workers.logs()[-6000:]}")
            return error

    def celery_result(self, run_id: str) -> subprocess.CompletedProcess[str]:
        """``celery -A worker result <id>`` (after the run finished)."""
        return self._celery("result", run_id, check=False)

    def steps(self, run_id: str) -> list[StepEntry]:
        """The run's step entries so far (none before its record exists)."""
        run = get_run(run_id, self.redis)
        return run.steps if run is not None else []

    def until(self, condition: Callable[[], bool], what: str, deadline_s: float = RESULT_DEADLINE_S) -> None:
        """Poll ``condition`` until true; fail with the workers' logs after ``deadline_s``."""
        deadline = time.monotonic() + deadline_s
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n{self.workers.logs()[-4000:]}")
            time.sleep(0.05)

    def run(self, run_id: str) -> Run:
        """The run record."""
        record = get_run(run_id, self.redis)
        assert record is not None, f"no run record for {run_id}"
        return record

    def waits_before(self, run_id: str, phase: str) -> bool:
        """Whether the run waits for approval before ``phase`` (once its record exists)."""
        record = get_run(run_id, self.redis)
        gate = record.waiting_gate if record is not None else None
        return gate is not None and gate.phase == phase

    def journal(self, run_id: str) -> list[JournalEntry]:
        """The run's journal of remote commands."""
        return read_journal(run_id, client=self.redis)

    def commands(self, since: int = 0, *, failed_too: bool = False) -> list[str]:
        """What the lab received and completed (or also failed, with ``failed_too``) after journal sequence
        ``since``, as ``server cmdlet params`` lines.

        ``Import-Module`` (the executor's session set-up, once per worker process and server) is left out,
        and so are the polls of a run-locally task's state (``Get-ScheduledTaskInfo``), whose number depends
        on timing.
        """
        return [
            _line(entry)
            for entry in self.lab.engine.journal(since)
            if entry["cmdlet"] not in UNCOUNTED and (failed_too or entry["outcome"] == "ok")
        ]

    def events(self) -> list[dict[str, Any]]:
        """The events the example site plugin wrote."""
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines()]

    def _celery(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "celery", "-A", "worker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RESULT_DEADLINE_S,
            check=check,
        )


FLOWER_AUTH = "auditor:flower-test-pass"
FLOWER_DEADLINE_S = 60.0


class Flower:
    """A running Flower and an authenticated client for its JSON API."""

    def __init__(self, child: ChildProcess, url: str) -> None:
        self.child = child
        self.url = url

    def get(self, path: str) -> Any:
        """GET an API path with basic auth and decode the JSON."""
        return json.loads(self.page(path))

    def page(self, path: str) -> str:
        """GET a path with basic auth, as text (a page as an operator's browser gets it)."""
        request = urllib.request.Request(self.url + path)
        token = base64.b64encode(FLOWER_AUTH.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode("utf-8"))

    def wait_for(self, path: str, ready: Callable[[Any], bool]) -> Any:
        """GET ``path`` until ``ready`` accepts the answer: Flower learns from events, a little later."""
        deadline = time.monotonic() + FLOWER_DEADLINE_S
        while True:
            answer = self.get(path)
            if ready(answer):
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"Flower's {path} never became ready: {answer}\n{self.child.tail(50)}")
            time.sleep(0.2)


def planned_lines(plan: list[StepCall], purpose: str = "act") -> list[str]:
    """The ``purpose`` commands a plan lists, in order, as ``server cmdlet params`` lines (see commands())."""
    return [
        _line({"server": call.server, "cmdlet": command.cmdlet, "parameters": command.parameters})
        for call in plan
        for command in call.commands
        if command.purpose == purpose
    ]


def _shown(value: object) -> str:
    """A parameter value as a line shows it: a long text (a script, a task's XML) as ``<text>``, a
    run-locally task's random id as ``<id>``."""
    text = TASK_ID.sub("lync-failover-<id>", str(value))
    return "<text>" if len(text) > LONG_TEXT else text


def _line(entry: dict[str, Any]) -> str:
    server = entry["server"].removesuffix(".contoso.com")
    params = " ".join(
        f"-{name}" if value is True else f"-{name} {_shown(value)}"
        for name, value in entry["parameters"].items()
    )
    program = entry["cmdlet"].strip('"').rsplit(chr(92), 1)[-1]  # Bootstrapper's quoted full path
    return f"{server} {program} {params}".strip()


@pytest.fixture
def start_runner(
    lab_factory: Callable[..., RunningLab],
    celery_workers: StartWorkers,
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> Iterator[Callable[..., Runner]]:
    """``start_runner("cms-2013-primary", faults={...}, env={...}, worker_pool=..., transport="https")``: lab
    (with these lab options), workers (``-P worker_pool``, else the app's pool), and this process's app."""
    from worker.celery_app import app, configure
    from worker.settings import Settings

    def start(
        scenario: str,
        faults: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        worker_pool: str | None = None,
        **lab_options: Any,
    ) -> Runner:
        lab = lab_factory(scenario, **lab_options)
        lab.engine.set_faults({"replication_lag_seconds": 0, **(faults or {})})
        events_path = tmp_path / f"events-{scenario}.jsonl"
        worker_env = {**lab.password_env, EVENTS_ENV: str(events_path), **(env or {})}
        workers = celery_workers(lab.inventory_path, lab.queues, worker_env, worker_pool)
        configure(app, Settings(redis_url=redis_url, inventory_path=lab.inventory_path))
        cli_env = {**os.environ, "REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path)}
        return Runner(lab, workers, cli_env, events_path, redis_client)

    yield start
