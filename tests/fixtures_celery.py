"""Fixture: real Celery worker processes (one per queue) against the test Redis, stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from worker.rehearsal.stack import WorkerSet, start_workers

StartWorkers = Callable[[Path, list[str], Mapping[str, str]], WorkerSet]


@pytest.fixture
def celery_workers(redis_url: str, tmp_path: Path) -> Iterator[StartWorkers]:
    """A factory ``start(inventory_path, queues, env) -> WorkerSet``; started workers stop at teardown."""
    started: list[WorkerSet] = []

    def start(inventory_path: Path, queues: list[str], env: Mapping[str, str]) -> WorkerSet:
        workers = start_workers(redis_url, inventory_path, queues, tmp_path / f"workers-{len(started)}", env)
        started.append(workers)
        return workers

    yield start
    for workers in started:
        workers.stop()
