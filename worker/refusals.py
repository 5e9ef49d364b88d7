"""How a run says no: a request refused at the door, a pool held by another run, a run that stopped.

They are ordinary outcomes, not crashes: the workers log them without a traceback (the tasks declare them
in ``throws``), and because they are click exceptions the ``celery`` command line (``celery -A worker result
<id>``) prints just their message and exits 1. They live in the runtime, loaded with the Celery app, so that a
``celery`` client rebuilds the real class from a result (Celery looks a class up in loaded modules only).
"""

from __future__ import annotations

import click


class Refusal(click.ClickException):
    """An ordinary refusal or failure; its message says what happened and what to do."""


class RequestError(Refusal):
    """The request is wrong; the message says what and how to fix it. Nothing was run."""


class RunRefused(Refusal):
    """Another run holds this pool (or a pool of this site); the message names it."""


class RunFailed(Refusal):
    """The run stopped; the message names the step, the server, the error and what to do."""


class RunCancelled(Refusal):
    """An operator cancelled the run, or rejected it at a pause; the message says who, when and where."""


class AwaitingApproval(Exception):
    """A run waits at a pause before a phase (what Flower shows as the pause task's retry reason)."""
