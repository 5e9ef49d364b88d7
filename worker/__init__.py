"""The runner's worker side: the Celery app, settings, inventory, credentials and the pypsrp executor.

``celery -A worker`` finds the app as ``worker.app`` (defined in ``worker.celery_app``). It is made on first
use, not when the package is imported, so the operator's CLI can check the inventory and Redis and explain
a problem before the app reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

    app: Celery

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from worker.celery_app import app

        return app
    raise AttributeError(f"module 'worker' has no attribute {name!r}")
