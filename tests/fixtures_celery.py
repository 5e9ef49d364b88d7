"""Fixture: real Celery worker processes (one per queue) against the test Redis, stopped after the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery import Celery

READY_DEADLINE_S = 30.0
STOP_DEADLINE_S = 15.0
REPO = Path(__file__).resolve().parent.parent


@dataclass
class WorkerSet:
    """Running ``celery -A worker worker`` processes, one per queue, with their log files."""

    redis_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def hostnames(self) -> dict[str, str]:
        """Each queue's worker node name, as ``app.control`` addresses it."""
        return {queue: f"{queue}@{socket.gethostname()}" for queue in self.processes}

    def logs(self) -> str:
        """Everything the workers wrote, queue by queue (for assertion messages)."""
        return "\n".join(
            f"----- {queue} -----\n{path.read_text(errors='replace') if path.exists() else '(no log)'}"
            for queue, path in self.log_paths.items()
        )

    def wait_until_ready(self, deadline_s: float = READY_DEADLINE_S) -> None:
        """Wait until every worker answers a ping; fail with the logs if one exits or the deadline passes."""
        client = Celery(broker=self.redis_url, backend=self.redis_url)
        missing = set(self.hostnames.values())
        deadline = time.monotonic() + deadline_s
        try:
            while missing:
                for queue, process in self.processes.items():
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"the worker for {queue} exited with {process.returncode}:\n{self.logs()}"
                        )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no ping answer from {sorted(missing)} in {deadline_s:.0f} s:\n{self.logs()}"
                    )
                for reply in client.control.ping(destination=sorted(missing), timeout=0.5):
                    missing -= set(reply)
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM every worker (a warm shutdown), then kill those still running after the deadline."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_DEADLINE_S
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


StartWorkers = Callable[[Path, list[str], Mapping[str, str]], WorkerSet]


@pytest.fixture
def celery_workers(redis_url: str, tmp_path: Path) -> Iterator[StartWorkers]:
    """A factory ``start(inventory_path, queues, env) -> WorkerSet``; started workers stop at teardown."""
    started: list[WorkerSet] = []

    def start(inventory_path: Path, queues: list[str], env: Mapping[str, str]) -> WorkerSet:
        workers = WorkerSet(redis_url)
        started.append(workers)
        environment = {
            **os.environ,
            "REDIS_URL": redis_url,
            "LYNC_FAILOVER_INVENTORY": str(inventory_path),
            **env,
        }
        for queue in queues:
            log_path = tmp_path / f"worker-{queue}.log"
            command = [
                *(sys.executable, "-m", "celery", "-A", "worker", "worker"),
                *("-Q", queue, "--hostname", f"{queue}@%h", "-P", "prefork", "-c", "2", "-E"),
                *("--loglevel", "INFO", "--without-gossip", "--without-mingle"),
            ]
            with log_path.open("wb") as log:
                workers.processes[queue] = subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            workers.log_paths[queue] = log_path
        workers.wait_until_ready()
        return workers

    yield start
    for workers in started:
        workers.stop()
