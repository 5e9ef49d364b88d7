"""The worker's settings, read once per process from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_SENTINEL_MASTER = "mymaster"
DAY_S = 24 * 3600
#: The longest a retry waits before it runs again (the backoff's ceiling): a worker holds the message that
#: long, so Redis must not hand it out again sooner.
LONGEST_COUNTDOWN_S = 30


@dataclass(frozen=True)
class Settings:
    """Where Redis and the inventory are, and the runner's time budgets (seconds)."""

    redis_url: str = DEFAULT_REDIS_URL
    #: The name the sentinels monitor the master under, when ``redis_url`` names a Sentinel set
    #: (``sentinel://h1:26379;sentinel://h2:26379;...``).
    sentinel_master: str = DEFAULT_SENTINEL_MASTER
    inventory_path: Path | None = None
    #: The longest one step may run before its pipeline is stopped.
    step_timeout_s: int = 1800
    #: How long a step keeps retrying transient failures before it gives up.
    retry_deadline_s: int = 1800
    #: How long the per-pool lock lives if a run never releases it.
    lock_ttl_s: int = 7200
    #: How long run records and journals stay in Redis.
    record_ttl_s: int = 90 * DAY_S
    #: How many characters of a command's output the journal keeps.
    journal_max_output: int = 2000
    #: How often celery beat starts a readiness check of every pool (``lync.readiness``).
    readiness_interval_s: int = 6 * 3600
    #: A running step's lease: without renewal for this long, its worker is taken for gone and the step is
    #: sent again (tasks/lease.py).
    lease_s: int = 15
    #: A run with no sign of life (a step running or waiting to retry) for this long is taken for dead: a new
    #: run may take its pools' locks.
    run_alive_s: int = 120

    #: Redis hands out again a message no worker acknowledged within this (its worker died): above the
    #: longest retry countdown (30 s). A long step outlives it: the copy that arrives stands by on the step's
    #: lease while the step runs (tasks/lease.py).
    visibility_timeout_s: int = 45

    def __post_init__(self) -> None:
        if self.visibility_timeout_s <= max(LONGEST_COUNTDOWN_S, self.lease_s / 2):
            raise ValueError(
                f"LYNC_FAILOVER_VISIBILITY_TIMEOUT={self.visibility_timeout_s} must be above "
                f"{max(LONGEST_COUNTDOWN_S, self.lease_s // 2)} s, the longest a worker holds a waiting "
                "message, or Redis hands out copies of retries that are still waiting"
            )
        if self.run_alive_s <= self.visibility_timeout_s + self.lease_s:
            raise ValueError(
                f"LYNC_FAILOVER_RUN_ALIVE={self.run_alive_s} must be above the visibility timeout plus the "
                f"lease ({self.visibility_timeout_s + self.lease_s} s), or a run whose worker died is taken "
                "for dead before its step comes back"
            )


@cache
def get_settings() -> Settings:
    """The settings of this process (the environment is read once; ``get_settings.cache_clear()`` rereads)."""
    return read_settings(os.environ)


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The settings a process with the environment ``environ`` runs with."""
    inventory = environ.get("LYNC_FAILOVER_INVENTORY")

    def seconds(name: str, default: int) -> int:
        return _int_env(environ, name, default)

    return Settings(
        redis_url=environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        sentinel_master=environ.get("LYNC_FAILOVER_SENTINEL_MASTER") or DEFAULT_SENTINEL_MASTER,
        inventory_path=Path(inventory) if inventory else None,
        step_timeout_s=seconds("LYNC_FAILOVER_STEP_TIMEOUT", Settings.step_timeout_s),
        retry_deadline_s=seconds("LYNC_FAILOVER_RETRY_DEADLINE", Settings.retry_deadline_s),
        lock_ttl_s=seconds("LYNC_FAILOVER_LOCK_TTL", Settings.lock_ttl_s),
        readiness_interval_s=seconds("LYNC_FAILOVER_READINESS_INTERVAL", Settings.readiness_interval_s),
        lease_s=seconds("LYNC_FAILOVER_LEASE", Settings.lease_s),
        run_alive_s=seconds("LYNC_FAILOVER_RUN_ALIVE", Settings.run_alive_s),
        visibility_timeout_s=seconds("LYNC_FAILOVER_VISIBILITY_TIMEOUT", Settings.visibility_timeout_s),
    )


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be a positive number of seconds")
    return value
