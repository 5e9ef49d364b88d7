"""A site run's pools: after its CMS and Edge changes, each pool fails over in its own run, all at once; the
site run ends when every one of them has, with each one's verdict.

The pools' runs are whole runs of their own (record, lock, report), not a Celery chord: a run that stops
ends its chain early, and a chord waits forever for a member whose chain was cut. The site run waits for
them by re-checking their records: ``lync.site_join`` looks as soon as one of them says it ended, and at
least every JOIN_POLL_S seconds, retrying itself in between.
"""

from __future__ import annotations

from typing import Any

from celery import Task, uuid

from plugins.kit.model import Context
from plugins.kit.requests import POOL_ACTION_PHASES, SiteRequest
from tasks.canvas import control_signature
from tasks.context import load_context
from tasks.control import cancel_of
from tasks.events import emit
from tasks.lease import show_alive
from tasks.lock import keep
from tasks.outcome import cancel_run, finish_run, pool_ended_key, stop_run
from tasks.record import RunRecord, get_run, redis_client
from tasks.run import PoolOutcome
from tasks.runbook import failover
from worker.celery_app import app
from worker.inventory import get_inventory
from worker.refusals import Refusal

#: How long the site run waits for word that one of its pools' runs ended before it looks at them anyway.
JOIN_POLL_S = 1


@app.task(name="lync.site_pools", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def site_pools(self: Task, context: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Start every pool's own run, then wait for them."""
    site = load_context(context)
    keep(site)
    word = cancel_of(site)
    if word is not None:
        cancel_run(site, word.by, f"site run {site.run_id} cancelled by {word.by} before its pools' runs")
    start_pool_runs(site)
    return self.replace(control_signature("lync.site_join", site))


@app.task(name="lync.site_join", bind=True, max_retries=None, throws=(Refusal,))  # type: ignore[untyped-decorator]
def site_join(self: Task, context: dict[str, Any]) -> Any:
    """Until every pool's run has ended, look again later; then end the site run with each pool's verdict."""
    site = load_context(context)
    keep(site)
    outcomes = pool_outcomes(site)
    if any(outcome.state == "running" for outcome in outcomes):
        show_alive(site.run_id, JOIN_POLL_S)
        redis_client().blpop([pool_ended_key(site.run_id)], timeout=JOIN_POLL_S)
        raise self.retry(countdown=0)
    RunRecord(site.run_id).set_outcomes(outcomes)
    word = cancel_of(site)
    if word is not None:
        cancel_run(
            site, word.by, f"site run {site.run_id} cancelled by {word.by}; its pools' runs stopped too"
        )
    failed = [outcome for outcome in outcomes if outcome.state not in ("succeeded", "planned")]
    if failed:
        lines = "; ".join(f"{o.pool} (run {o.run_id}) {o.state}: {o.error}" for o in failed)
        stop_run(
            site, f"site run {site.run_id}: {len(failed)} of {len(outcomes)} pools did not fail over: {lines}"
        )
    return finish_run(site, "planned" if site.request.dry_run else "succeeded")


def start_pool_runs(site: Context) -> None:
    """Each pool's run, its id recorded before it is sent and sent at most once (a redelivered task finds
    the ids and the sent marks)."""
    record = RunRecord(site.run_id)
    run = get_run(site.run_id)
    children = (
        run.children if run is not None and run.children else {pool: uuid() for pool in site.failed_pools()}
    )
    record.set_children(children)
    client, queue = redis_client(), get_inventory().control_queue
    pauses = site.request.pause_before if isinstance(site.request, SiteRequest) else []
    for pool, run_id in children.items():
        if not client.set(f"lync:run:{run_id}:sent", site.run_id, nx=True, ex=record.ttl):
            continue
        failover.apply_async(
            kwargs={
                "pool": pool,
                "target": site.facts.backup_pools.get(pool),
                "dry_run": site.request.dry_run,
                "parent": site.run_id,
                "lost_site": site.failed_site,
                "pause_before": [phase for phase in pauses if phase in POOL_ACTION_PHASES],
            },
            task_id=run_id,
            queue=queue,
        )
    emit(
        "run.planned",
        site.run_id,
        site.request.subject,
        message=f"{len(children)} pools, each in its own run",
    )


def pool_outcomes(site: Context) -> list[PoolOutcome]:
    """How each pool's run stands: its record's state, or ``refused`` when its launcher refused it."""
    run = get_run(site.run_id)
    children = run.children if run is not None else {}
    outcomes = []
    for pool, run_id in children.items():
        child = get_run(run_id)
        if child is not None:
            outcomes.append(
                PoolOutcome(
                    pool=pool,
                    run_id=run_id,
                    state=child.state,
                    target=child.facts.backup_pool,
                    error=child.error,
                )
            )
            continue
        launch = app.AsyncResult(run_id)
        if launch.failed():
            outcomes.append(PoolOutcome(pool=pool, run_id=run_id, state="refused", error=str(launch.result)))
        else:
            outcomes.append(PoolOutcome(pool=pool, run_id=run_id, state="running"))
    return outcomes
