"""Fixtures: a Redis for the session (``REDIS_URL`` or an embedded one), a clean client per test, and a
Redis Sentinel set for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from worker.rehearsal.redis_server import EmbeddedRedis, EmbeddedSentinelSet

#: The shared Sentinel set's master name (not the default one: the setting must carry it) and password.
SENTINEL_MASTER = "lync-test"
SENTINEL_PASSWORD = "sentinel-test-pass"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis the tests may flush: ``REDIS_URL`` from the environment, else an embedded server."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    with EmbeddedRedis() as url:
        yield url


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
