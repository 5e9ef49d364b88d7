"""An example site plugin: tell the helpdesk in the verify phase, keep what it told as facts of its own, and
log every event.

It imports only the plugin kit (plugins.kit) and makes its own marker, as any site's plugin would. It is
configured by ``LYNC_FAILOVER_EXAMPLE_EVENTS``, a file that receives every event, one JSON object a
line; while that is unset the plugin stays out of the way: no step, no file.
"""

from __future__ import annotations

import os
from typing import ClassVar

import pluggy

from plugins.kit.commands import send
from plugins.kit.model import Context, Event, PluginFacts, StepCall, StepResult, StepSpec, command, step_call
from plugins.kit.shell import Shell

hookimpl = pluggy.HookimplMarker("lync_failover")
EVENTS_ENV = "LYNC_FAILOVER_EXAMPLE_EVENTS"


class HelpdeskFacts(PluginFacts):
    """What this plugin told the helpdesk: its own facts, kept in the run's facts under its namespace."""

    NAMESPACE: ClassVar[str] = "example_site"
    #: The pool the helpdesk was told now services the users, once it was told.
    told_pool: str | None = None
    #: How many Front Ends that pool has (read from Get-CsPool).
    front_ends: int = 0


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """One read-only step: ``site.notify_helpdesk``."""
    return [StepSpec(name="site.notify_helpdesk", mutating=False, action=notify_helpdesk)]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """In the verify phase, on a Front End of the pool that now services the users (when configured)."""
    pool = context.facts.backup_pool
    if phase != "verify" or pool is None or not os.environ.get(EVENTS_ENV):
        return []
    read_pool = command("Get-CsPool", "read", Identity=pool)
    return [step_call("site.notify_helpdesk", phase, context.topology.front_end(pool), commands=[read_pool])]


@hookimpl
def lync_failover_event(event: Event) -> None:
    """Append the event to the file named by LYNC_FAILOVER_EXAMPLE_EVENTS."""
    path = os.environ.get(EVENTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(event.model_dump_json() + "\n")


def notify_helpdesk(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Read the pool now servicing the users (the planned, harmless ``Get-CsPool``), tell the helpdesk."""
    (read_pool,) = call.commands_for("read")
    pools = send(shell, call, read_pool).objects
    computers = pools[0].get("Computers") if pools else []
    pool = context.facts.backup_pool or ""
    told = HelpdeskFacts(told_pool=pool, front_ends=len(computers) if isinstance(computers, list) else 0)
    return StepResult(
        summary=f"helpdesk told: users of {context.failed_pool} are now on {pool}", own_facts=[told]
    )
