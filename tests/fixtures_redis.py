"""Fixtures: a Redis for the session (``REDIS_URL`` or an embedded one), a clean client per test, and a
Redis Sentinel set for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from worker.rehearsal.redis_server import EmbeddedRedis, EmbeddedSentinelSet

#: The shared Sentinel set's master name (not the default one: the setting must carry it) and password.
SENTINEL_MASTER = "lync-test"
SENTINEL_PASSWORD = "sentinel-test-pass"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis the tests may flush: ``REDIS_URL`` from the environment, else an embedded server.
    Each pytest-xdist worker (``./dev test`` runs several) gets a database of its own on a configured one."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield own_database(configured, os.environ.get("PYTEST_XDIST_WORKER", ""))
        return
    with EmbeddedRedis() as url:
        yield url


def own_database(url: str, worker: str) -> str:
    """``url`` with the database of xdist worker ``gwN`` (N + 1; database 0 for no worker)."""
    if not worker.startswith("gw") or not url.startswith(("redis://", "rediss://")):
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{int(worker[2:]) + 1}"))


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the session's Redis, its database flushed before the test."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def sentinel_url() -> Iterator[str]:
    """The URL of a Sentinel set (primary, replica, three sentinels) the tests share; none fails it over."""
    with EmbeddedSentinelSet(SENTINEL_MASTER, password=SENTINEL_PASSWORD) as url:
        yield url
