# mypy: disable-error-code="empty-body"
"""The hooks of lync-failover: the whole contract between the runner and its plugins (docs/plugins.md)."""

from __future__ import annotations

import pluggy

from plugins.kit.model import Context, Decision, Event, StepCall, StepSpec
from plugins.kit.shell import Credential

hookspec = pluggy.HookspecMarker("lync_failover")
#: Mark a plugin's hook implementations with this (or make your own ``HookimplMarker("lync_failover")``).
hookimpl = pluggy.HookimplMarker("lync_failover")


@hookspec
def lync_failover_steps() -> list[StepSpec]:
    """Return the steps this plugin provides; each becomes the Celery task ``lync.<name>``.

    Called once per process when the runner builds its step registry. Step names are unique across
    plugins (a clash fails start-up); prefix them with the plugin's name, e.g. ``site.notify_helpdesk``.
    """


@hookspec
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """Return the steps this plugin wants in ``phase`` for the facts in ``context``, in order.

    Phases run in this order: ``locate``, ``discover``, ``inspect`` (read-only discovery; each is planned
    with the facts the previous ones found), then ``cms``, ``edge``, ``pool``, ``verify`` (planned together,
    after discovery, as the run's plan). Within a phase, built-in plugins come first, site plugins after.
    Return an empty list when the phase needs nothing from this plugin.
    """


@hookspec(firstresult=True)
def lync_failover_classify_error(step: str, error: Exception, context: Context) -> Decision | None:
    """Say what to do when step ``step`` raised ``error``: retry, remediate (with remedy steps) or fail.

    The first non-None answer wins; with none, the runner's default applies (``plugins.decisions``):
    transport errors, transient server errors (PowerShell categories ConnectionError, ResourceUnavailable,
    ResourceBusy, OperationTimeout) and :class:`plugins.model.NotReadyError` retry until the deadline;
    everything else fails.
    """


@hookspec(firstresult=True)
def lync_failover_credentials(server: str, credential: str) -> Credential | None:
    """Return the credential for ``server`` (the inventory names it ``credential``), or None to pass.

    The first non-None answer wins; with none, the worker reads the inventory's password_env/password_file.
    """


@hookspec
def lync_failover_event(event: Event) -> None:
    """See every event of a run: run and step start, success, skip, retry, remedy, move, failure, command.

    Called in the worker that runs the step; keep it quick and never raise (an error here is logged and
    ignored so that notifications cannot stop a failover).
    """
