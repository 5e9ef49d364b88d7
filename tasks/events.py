"""Fire events at every plugin without letting a broken listener stop a failover."""

from __future__ import annotations

import logging

from plugins.kit.model import Event, EventKind
from plugins.manager import get_plugin_manager

log = logging.getLogger(__name__)


def emit(kind: EventKind, run_id: str, pool: str, **details: object) -> None:
    """Call ``lync_failover_event`` on every plugin; log (never raise) a listener's error."""
    event = Event.model_validate({"kind": kind, "run_id": run_id, "pool": pool, **details})
    try:
        get_plugin_manager().hook.lync_failover_event(event=event)
    except Exception:
        log.exception("a plugin's lync_failover_event failed on %s for run %s", kind, run_id)
