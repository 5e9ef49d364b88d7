"""Which sites have a live worker right now (a readiness check asks before it routes a check there)."""

from __future__ import annotations

from worker.celery_app import app
from worker.inventory import Inventory

#: How long to wait for workers to answer.
INSPECT_TIMEOUT_S = 2.0


def live_sites(inventory: Inventory) -> list[str]:
    """The sites whose queue at least one worker consumes."""
    replies = app.control.inspect(timeout=INSPECT_TIMEOUT_S).active_queues() or {}
    queues = {queue["name"] for consumed in replies.values() for queue in consumed}
    return [site.name for site in inventory.sites if site.queue in queues]
