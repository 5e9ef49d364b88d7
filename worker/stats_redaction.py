"""A worker's stats (``celery inspect stats``, Flower's worker pages and API) without the broker's secrets.

Celery 5.7 drops the broker password from the stats a worker sends, but not the transport options, and with
Redis as a Sentinel set those hold the sentinels' password (``sentinel_kwargs``). This redacts every value
under a secret-looking key in them, as the journal and Flower's task views do.
"""

from __future__ import annotations

from typing import Any

from celery.worker.consumer import connection as _consumer_connection

from worker.redaction import redacted

#: Celery's consumer connection step, untyped: the patch wraps its ``info``.
connection_step: Any = _consumer_connection.Connection
_step_info = connection_step.info


def install() -> None:
    """Patch the worker's broker connection step in this process (installing twice changes nothing)."""
    connection_step.info = _info


def _info(self: Any, consumer: Any) -> Any:
    """The step's part of the stats, with the transport options redacted."""
    shown = _step_info(self, consumer)
    broker = shown.get("broker")
    if isinstance(broker, dict) and "transport_options" in broker:
        broker["transport_options"] = redacted(broker["transport_options"])
    return shown
