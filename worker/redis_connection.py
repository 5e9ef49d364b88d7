"""The one way this project connects to Redis for its own keys (run records, locks, leases, presence)."""

from __future__ import annotations

import redis


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that answers in text."""
    return redis.Redis.from_url(url, decode_responses=True)
