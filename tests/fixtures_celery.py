"""Fixture: real Celery worker processes (one per queue) against the test Redis, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from worker.rehearsal.stack import WorkerSet, start_workers


class StartWorkers(Protocol):
    """``start(inventory_path, queues, env, pool=None) -> WorkerSet``."""

    def __call__(
        self, inventory_path: Path, queues: list[str], env: Mapping[str, str], pool: str | None = None
    ) -> WorkerSet: ...


@pytest.fixture
def celery_workers(redis_url: str, tmp_path: Path) -> Iterator[StartWorkers]:
    """A factory ``start(inventory_path, queues, env, pool=None) -> WorkerSet`` (``pool``: an execution pool
    other than the app's); started workers stop at teardown."""
    started: list[WorkerSet] = []

    def start(
        inventory_path: Path, queues: list[str], env: Mapping[str, str], pool: str | None = None
    ) -> WorkerSet:
        directory = tmp_path / f"workers-{len(started)}"
        workers = start_workers(redis_url, inventory_path, queues, directory, env, pool)
        started.append(workers)
        return workers

    yield start
    for workers in started:
        workers.stop()
