"""Fixtures of the worker tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.worker.inventory_data import inventory_data, write_inventory
from worker.inventory import inventory_at
from worker.settings import get_settings


@pytest.fixture
def on_test_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """This process's settings on the test's Redis, with a small inventory (read afresh, forgotten after)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LYNC_FAILOVER_INVENTORY", str(write_inventory(tmp_path, inventory_data())))
    forget_settings()
    yield
    monkeypatch.undo()
    forget_settings()


def forget_settings() -> None:
    """Drop what this process read from its environment (settings, inventory)."""
    get_settings.cache_clear()
    inventory_at.cache_clear()
