"""One failover per pool at a time: a Redis key holding the run id, with an expiry in case a run dies.

The launcher takes the lock for ``lock_ttl_s``; the planner and every step extend it (``keep``), so a run
longer than that keeps its pool while it makes progress, and a dead run's lock still expires.
"""

from __future__ import annotations

import logging

import redis

from plugins.kit.model import Context
from tasks.record import redis_client
from worker.settings import get_settings

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('pttl', KEYS[1]) < tonumber(ARGV[2]) then redis.call('pexpire', KEYS[1], ARGV[2]) end
return 1
"""


def lock_key(pool: str) -> str:
    """The lock's key for a pool."""
    return f"lync:lock:pool:{pool.lower()}"


def acquire(client: redis.Redis, pool: str, run_id: str, ttl_s: int) -> str | None:
    """Take the pool's lock for ``run_id``; return None on success, else the run id that holds it."""
    if client.set(lock_key(pool), run_id, nx=True, ex=ttl_s):
        return None
    holder = client.get(lock_key(pool))
    if holder == run_id:  # a redelivered launcher: the lock is already ours
        return None
    return str(holder) if holder is not None else acquire(client, pool, run_id, ttl_s)


def release(client: redis.Redis, pool: str, run_id: str) -> None:
    """Release the pool's lock if ``run_id`` holds it (a late duplicate never frees another run's lock)."""
    client.eval(_RELEASE, 1, lock_key(pool), run_id)


def extend(client: redis.Redis, pool: str, run_id: str, ttl_s: int) -> bool:
    """Make the lock live at least ``ttl_s`` more seconds if ``run_id`` holds it; whether it does (atomic)."""
    return bool(client.eval(_EXTEND, 1, lock_key(pool), run_id, ttl_s * 1000))


def keep(context: Context) -> None:
    """Extend the run's lock to outlive a step and its redelivery: max(lock_ttl_s, the visibility timeout).

    A dry run changes nothing and holds no lock.
    """
    if context.request.dry_run:
        return
    pool, run_id = context.failed_pool, context.run_id
    settings = get_settings()
    if not extend(redis_client(), pool, run_id, max(settings.lock_ttl_s, settings.visibility_timeout_s)):
        log.warning("run %s no longer holds the lock of %s (it expired or was deleted)", run_id, pool)
