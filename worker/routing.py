"""Which queue a task goes to when its signature does not say: the run-level tasks go to the control queue."""

from __future__ import annotations

from typing import Any

from worker.inventory import inventory_at
from worker.settings import Settings, get_settings

DEFAULT_CONTROL_QUEUE = "lync.control"
#: The launchers, planner and finishing tasks: any worker serving the control queue runs them.
CONTROL_TASKS = frozenset(
    {
        "lync.failover",
        "lync.failover_site",
        "lync.failback",
        "lync.readiness",
        "lync.plan",
        "lync.finish",
        "lync.site_pools",
        "lync.site_join",
    }
)


def control_queue(settings: Settings | None = None) -> str:
    """The control queue of the inventory ``settings`` name (default: this process's), or ``lync.control``."""
    path = (settings or get_settings()).inventory_path
    return DEFAULT_CONTROL_QUEUE if path is None else inventory_at(path).control_queue


def route_task(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **extra: Any
) -> dict[str, str] | None:
    """A Celery router: run-level tasks to the control queue (step signatures carry their queue)."""
    if name in CONTROL_TASKS:
        return {"queue": control_queue()}
    return None
