"""A refusal is stored and announced without a traceback: its message is the whole answer.

Celery keeps the traceback of every failed task, in the result (``AsyncResult.traceback``) and in the
``task-failed`` event Flower shows on the task's page. For a refused request or a stopped run that is the
runner's own stack, which tells an operator nothing and reads as a crash. These hooks leave it out for a
``Refusal`` and keep it for everything else (a bug still shows where it happened).
"""

from __future__ import annotations

from typing import Any

from billiard.einfo import ExceptionInfo  # type: ignore[import-untyped]
from celery.app.task import Task
from celery.backends.redis import RedisBackend, SentinelBackend
from celery.worker.request import Request

from worker.refusals import Refusal


def is_refusal(exception: object) -> bool:
    """Whether ``exception`` (or what a pool process wrapped it in) is a Refusal."""
    return isinstance(getattr(exception, "exc", exception), Refusal)


class _RefusalsWithoutTraceback:
    """A result backend mixin: a Refusal is stored with its message only."""

    def mark_as_failure(
        self, task_id: str, exc: BaseException, traceback: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        """Store the failure; a Refusal's traceback is left out."""
        return super().mark_as_failure(  # type: ignore[misc]
            task_id, exc, None if is_refusal(exc) else traceback, *args, **kwargs
        )


class QuietRedisBackend(_RefusalsWithoutTraceback, RedisBackend):  # type: ignore[misc]
    """Celery's Redis result backend, refusals without traceback."""


class QuietSentinelBackend(_RefusalsWithoutTraceback, SentinelBackend):  # type: ignore[misc]
    """Celery's Sentinel result backend, refusals without traceback."""


#: The app's backends by URL scheme (Celery's loader looks them up here before its own aliases).
BACKENDS = {
    "redis": f"{__name__}:QuietRedisBackend",
    "rediss": f"{__name__}:QuietRedisBackend",
    "sentinel": f"{__name__}:QuietSentinelBackend",
}


class QuietRequest(Request):  # type: ignore[misc]
    """A worker's request whose ``task-failed`` event carries no traceback for a Refusal."""

    def on_failure(
        self, exc_info: ExceptionInfo, send_failed_event: bool = True, return_ok: bool = False
    ) -> Any:
        """Announce the failure; a Refusal's traceback is left out."""
        if is_refusal(exc_info.exception):
            exc_info.traceback = None
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)


class QuietTask(Task):  # type: ignore[misc]
    """The app's task class: its requests are QuietRequests."""

    Request = QuietRequest
