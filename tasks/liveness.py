"""Signs of life: which sites have a live worker now, and what keeps a running run from going on."""

from __future__ import annotations

import redis

from tasks.lease import is_alive, lease_key
from tasks.record import redis_client
from tasks.run import Run
from worker.inventory import Inventory
from worker.presence import live_workers
from worker.settings import get_settings

#: The step states that still need a worker.
_UNFINISHED = ("pending", "running", "retrying")


def live_sites(inventory: Inventory, client: redis.Redis | None = None) -> list[str]:
    """The sites whose queue at least one live worker consumes."""
    client = client or redis_client()
    return [site.name for site in inventory.sites if live_workers(client, site.queue)]


def run_health(run: Run, client: redis.Redis | None = None) -> list[str]:
    """What holds a running run up, in words for an operator: a step whose worker is gone, a queue no live
    worker consumes, a run with no sign of life (empty when nothing does)."""
    if run.state != "running":
        return []
    client = client or redis_client()
    gate = run.waiting_gate
    waiting = (
        [
            f"waiting for approval before phase {gate.phase} since {gate.since:%H:%M:%S}: "
            f"lync-failover approve {run.run_id} (or reject)"
        ]
        if gate is not None
        else []
    )
    notes = waiting + [
        f"{step.id}: its worker {step.worker} is gone; the step runs again on another worker of "
        f"{step.queue} within a minute"
        for step in run.steps
        if step.state == "running" and not client.exists(lease_key(run.run_id, step.id))
    ]
    queues = sorted({step.queue for step in run.steps if step.state in _UNFINISHED and step.queue})
    notes += [
        f"no worker consumes {queue}: the run waits for one (celery -A worker worker -Q {queue} on a host "
        "of that site)"
        for queue in queues
        if not live_workers(client, queue)
    ]
    if run.steps and not is_alive(run.run_id, client):
        notes.append(
            f"no sign of life for {get_settings().run_alive_s} s: the run is taken for dead, and a new run "
            "for its pools takes their locks"
        )
    return notes
