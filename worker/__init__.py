"""The runner's worker side: the Celery app, settings, inventory, credentials and the pypsrp executor."""

from worker.app import app

__all__ = ["app"]
