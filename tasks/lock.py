"""One operation per pool at a time: a Redis key per pool holds the run id, with an expiry if a run dies.

The launcher takes the locks of its pools (one, or every pool of a site at once) for ``lock_ttl_s``; the
planner and every step extend them (``keep``), so a run longer than that keeps its pools while it makes
progress, and a dead run's locks still expire. A site run hands each pool's lock to that pool's own run.
"""

from __future__ import annotations

import redis

from plugins.kit.model import Context
from plugins.kit.requests import FailbackRequest, Request, SiteRequest
from tasks.record import get_run, redis_client
from worker.refusals import RunFailed
from worker.settings import get_settings


class LockLost(RunFailed):
    """The run no longer holds its pool: it stops."""


#: Take every key for ARGV[1] unless another holds one; return "" on success, else the first other holder.
_ACQUIRE = """
for _, key in ipairs(KEYS) do
  local holder = redis.call('get', key)
  if holder and holder ~= ARGV[1] then return holder end
end
for _, key in ipairs(KEYS) do redis.call('set', key, ARGV[1], 'EX', ARGV[2]) end
return ''
"""
#: Hand a key held by ARGV[1] (or by nobody, or already by ARGV[2]) to ARGV[2]; return "" on success, else
#: the holder.
_HANDOVER = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[2] then return '' end
if holder and holder ~= ARGV[1] then return holder end
redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
return ''
"""
#: Pass every key held by ARGV[1] (a dead run) to ARGV[2]; return how many.
_TAKE_OVER = """
local taken = 0
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then
    redis.call('set', key, ARGV[2], 'EX', ARGV[3])
    taken = taken + 1
  end
end
return taken
"""
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
    return acquire_all(client, [pool], run_id, ttl_s)


def acquire_all(client: redis.Redis, pools: list[str], run_id: str, ttl_s: int) -> str | None:
    """Take the locks of all ``pools`` for ``run_id`` at once, or none; None on success, else a holder.

    A redelivered launcher finds the locks already its own.
    """
    keys = [lock_key(pool) for pool in pools]
    holder = str(client.eval(_ACQUIRE, len(keys), *keys, run_id, ttl_s))
    return holder or None


def handover(client: redis.Redis, pool: str, parent: str, run_id: str, ttl_s: int) -> str | None:
    """Pass the pool's lock from the site run ``parent`` to the pool's own run; None on success, else the
    run that holds it (a redelivered launcher finds it already handed over)."""
    holder = str(client.eval(_HANDOVER, 1, lock_key(pool), parent, run_id, ttl_s))
    return holder or None


def take_over(client: redis.Redis, pools: list[str], dead: str, run_id: str, ttl_s: int) -> int:
    """Pass the locks the dead run ``dead`` holds among ``pools`` to ``run_id``; how many it held."""
    keys = [lock_key(pool) for pool in pools]
    return int(client.eval(_TAKE_OVER, len(keys), *keys, dead, run_id, ttl_s))


def release(client: redis.Redis, pool: str, run_id: str) -> None:
    """Release the pool's lock if ``run_id`` holds it (a late duplicate never frees another run's lock)."""
    client.eval(_RELEASE, 1, lock_key(pool), run_id)


def extend(client: redis.Redis, pool: str, run_id: str, ttl_s: int) -> bool:
    """Make the lock live at least ``ttl_s`` more seconds if ``run_id`` holds it; whether it does (atomic)."""
    return bool(client.eval(_EXTEND, 1, lock_key(pool), run_id, ttl_s * 1000))


def locked_pools(context: Context) -> list[str]:
    """The pools a run holds the locks of: its pool, or its site's pools; none for a dry run or a check."""
    request = context.request
    if request.dry_run or not isinstance(request, Request | FailbackRequest | SiteRequest):
        return []
    return context.failed_pools() if isinstance(request, SiteRequest) else [request.pool]


def keep(context: Context) -> None:
    """Extend the run's locks to outlive the longest step and the silence after it: max(lock_ttl_s, step
    timeout + run_alive_s). A lock that expired is taken again; a run that finds another run holding one (it
    was taken for dead) stops. A site run's pools handed to their own runs are theirs."""
    settings = get_settings()
    ttl_s = max(settings.lock_ttl_s, settings.step_timeout_s + settings.run_alive_s)
    client = redis_client()
    for pool in locked_pools(context):
        if extend(client, pool, context.run_id, ttl_s) or pool in _handed_over(context):
            continue
        holder = acquire(client, pool, context.run_id, ttl_s)
        if holder is not None:
            raise LockLost(
                f"run {context.run_id} no longer holds the lock of {pool}: run {holder} holds it (this run "
                "was taken for dead). It stops here and changes nothing more"
            )


def _handed_over(context: Context) -> set[str]:
    """The pools a site run has handed to their own runs."""
    if not isinstance(context.request, SiteRequest):
        return set()
    run = get_run(context.run_id)
    return set(run.children) if run is not None else set()


def release_all(context: Context) -> None:
    """Release the locks the run still holds (a site run's pools it has not handed over)."""
    for pool in locked_pools(context):
        release(redis_client(), pool, context.run_id)
