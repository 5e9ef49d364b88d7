"""Redis interrupted while a step's act runs: restarted (a stop, SIGTERM, and a crash, SIGKILL, with its
append-only file), or, as a Sentinel set, its primary killed so that a replica takes over."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from kombu import pools

from benchmarks.reliability.rig import ProbeError, rig, until
from benchmarks.reliability.table import Row, judged, progress
from worker.rehearsal.redis_server import EmbeddedRedis, EmbeddedSentinelSet
from worker.rehearsal.stack import StackError

SCENARIO = "cms-2013-primary"
ACT = "Invoke-CsPoolFailover"
#: The act runs this long on the server: Redis is interrupted (and a replica promoted) while it does.
ACT_LATENCY_S = 5.0
ACT_DEADLINE_S = 120.0
GOAL = "run succeeds; declared end state; each act once"
SENTINEL_MASTER = "lync-reliability"


def redis_restart_rows(server: EmbeddedRedis, root: Path, quick: bool) -> list[Row]:
    """A run per signal (``quick``: the crash only), the suite's Redis restarted while the act runs."""
    try:
        return [
            interrupted(
                server.url,
                root,
                f"Redis restarted mid-run ({how.name}, append-only file)",
                partial(server.restart, how),
            )
            for how in ([signal.SIGKILL] if quick else [signal.SIGTERM, signal.SIGKILL])
        ]
    finally:
        # kombu keeps this process's broker connections per URL, across Celery apps: after a restart the
        # next probe's first command would be sent on a connection the old server closed.
        pools.reset()  # type: ignore[no-untyped-call]


def sentinel_rows(server: EmbeddedRedis, root: Path, quick: bool) -> list[Row]:
    """A run against a Sentinel set of its own whose primary is SIGKILLed while the act runs."""
    sentinels = EmbeddedSentinelSet(SENTINEL_MASTER, password=secrets.token_urlsafe(12))
    sentinels.start()
    try:
        probe = "Sentinel primary killed mid-run (SIGKILL)"
        setting = {"LYNC_FAILOVER_SENTINEL_MASTER": SENTINEL_MASTER}
        return [interrupted(sentinels.url, root, probe, partial(kill_primary, sentinels), setting)]
    finally:
        sentinels.stop()


def interrupted(
    redis_url: str,
    root: Path,
    probe: str,
    interrupt: Callable[[], object],
    env: Mapping[str, str] | None = None,
) -> Row:
    """``interrupt`` Redis while the run's act runs on the server; judge the run."""
    try:
        with rig(redis_url, SCENARIO, root, faults={"latency": {ACT: ACT_LATENCY_S}}, env=env) as stack:
            since = stack.journal_mark()
            run_id = stack.start(stack.request())
            until(
                lambda: any(e["cmdlet"] == ACT for e in stack.journal(since)),
                f"{ACT} in the lab",
                ACT_DEADLINE_S,
            )
            interrupt()
            outcome = stack.outcome(run_id, since)
    except (ProbeError, StackError) as error:
        progress(f"{probe}: not carried out: {error}")
        return judged(probe, 1, GOAL, f"not carried out: {error}", False)
    progress(f"{probe}: {outcome.describe()}")
    return judged(probe, 1, GOAL, outcome.describe(), outcome.correct)


def kill_primary(sentinels: EmbeddedSentinelSet) -> None:
    """SIGKILL the master, and wait until the sentinels have promoted the replica."""
    old = sentinels.master()
    old.end(signal.SIGKILL)
    sentinels.wait_for_new_master(old)
