"""Built-in plugin: move an Edge pool's next hop off the failed pool (the seed's two Edge procedures).

Same site: the seed uses Topology Builder (edit the Edge pool's next hop, publish). We make the same
Registrar change with ``Set-CsEdgeServer`` and publish with ``Enable-CsTopology``. Another site: the seed's
``Set-CsEdgeServer -Identity EdgeServer:<edge> -Registrar Registrar:<pool>``. Both need the CMS available,
so the ``edge`` phase runs after ``cms``. Also the remedy when ``Invoke-CsPoolFailover`` refuses because an
Edge still uses the failed pool.
"""

from __future__ import annotations

from plugins.kit.cms_store import cms_status_command, store_not_ready
from plugins.kit.commands import send, send_acts
from plugins.kit.edge_hops import current_hop, edge_and_pool, edge_service_command, hop, next_hop_parameters
from plugins.kit.errors import NextHopInUse, PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    Decision,
    EdgeMove,
    Facts,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.kit.shell import CmdletError, Shell

#: A fragment of Invoke-CsPoolFailover's error when an Edge pool uses the pool as its next hop: the one error
#: text the runner matches, because the seed gives it verbatim. The pool plugin's diagnosis finds the same
#: from the world (NextHopInUse) whatever the wording.
NEXT_HOP_ERROR = "is specified in topology as the next hop for the Edge server"


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Find Edge pools at risk; move a next hop; publish; verify."""
    return [
        StepSpec(name="edge.find_edges_at_risk", mutating=False, action=find_edges_at_risk),
        StepSpec(
            name="edge.move_next_hop",
            mutating=True,
            action=move_next_hop,
            check=next_hop_in_place,
            diagnose=store_not_ready,
        ),
        # [I] repeatable: Enable-CsTopology's page says nothing of a second publish while one runs; it
        # publishes the topology the CMS holds, so a second publishes the same one. Without it a step whose
        # worker died mid-publish would wait out the step timeout: a publish leaves nothing a check can read.
        StepSpec(
            name="edge.publish_topology",
            mutating=True,
            repeatable=True,
            action=publish_topology,
            check=not_moved_here,
            diagnose=store_not_ready,
        ),
        StepSpec(name="edge.verify_next_hop", mutating=False, action=verify_next_hop),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """discover: which Edge pools use a failed pool; edge: move each one's next hop."""
    survivor = context.survivor_pool()
    if phase == "discover" and survivor is not None:
        server = context.topology.front_end(survivor)
        edges = command("Get-CsService", EdgeServer=True)
        return [step_call("edge.find_edges_at_risk", phase, server, commands=[edges])]
    if phase == "edge":
        return [
            call for hop in context.facts.edges_at_risk for call in next_hop_calls(context, hop.edge_pool)
        ]
    return []


@hookimpl
def lync_failover_classify_error(step: str, error: Exception, context: Context) -> Decision | None:
    """An Edge pool still uses the failed pool (found by the pool's diagnosis, or Invoke-CsPoolFailover's
    verbatim next-hop error): move every Edge pool off the failed pool, then retry."""
    # The message wraps over lines as the seed shows it ("specified in\ntopology"): match across them.
    verbatim = isinstance(error, CmdletError) and NEXT_HOP_ERROR in " ".join(error.message.split())
    if not (verbatim or isinstance(error, NextHopInUse)):
        return None
    if not context.topology.edge_pools():
        return Decision(
            action="fail",
            reason=f"an Edge pool uses {context.failed_pool} as its next hop, but there is no Edge pool in "
            "the inventory to move: add the Edge pools to the inventory (or move the next hop with "
            "Set-CsEdgeServer by hand), then run again",
        )
    remedy = [
        call
        for edge in context.topology.edge_pools()
        for call in next_hop_calls(context, edge.fqdn, key=f"remedy-{step}")
    ]
    return Decision(
        action="remediate", reason="an Edge pool still uses the failed pool as next hop", remedy=remedy
    )


def new_next_hop(context: Context, edge_pool: str) -> str:
    """A surviving Front End pool at the Edge's site; else the backup pool of its failed next hop (of the
    run's pool); else any surviving one."""
    site = context.topology.pool(edge_pool).site
    failed = context.failed_pools()
    surviving = [p for p in context.topology.front_end_pools() if p.fqdn not in failed and p.servers]
    for pool in surviving:
        if pool.site == site:
            return pool.fqdn
    backup = context.facts.backup_pools.get(_failed_hop(context, edge_pool)) or context.survivor_pool()
    if backup is not None:
        return backup
    if surviving:
        return surviving[0].fqdn
    raise PreconditionError(f"no surviving Front End pool can be the next hop of {edge_pool}")


def next_hop_calls(context: Context, edge_pool: str, key: str = "") -> list[StepCall]:
    """Move ``edge_pool``'s next hop (publishing when it stays at its site), then verify it."""
    pool = new_next_hop(context, edge_pool)
    server = context.topology.front_end(pool)
    same_site = context.topology.pool(pool).site == context.topology.pool(edge_pool).site
    key = f"{key}-{edge_pool}" if key else edge_pool
    params = next_hop_parameters(edge_pool, pool)
    calls = [
        step_call(
            "edge.move_next_hop",
            "edge",
            server,
            key=key,
            params=params,
            commands=[
                edge_service_command(edge_pool, "check"),
                command("Set-CsEdgeServer", "act", **params),
                cms_status_command("recheck"),
            ],
            description=f"next hop of {edge_pool} -> {pool}"
            + (" (same site)" if same_site else " (other site)"),
        )
    ]
    if same_site:
        calls.append(
            step_call(
                "edge.publish_topology",
                "edge",
                server,
                key=key,
                params=params,
                commands=[
                    edge_service_command(edge_pool, "check"),
                    command("Enable-CsTopology", "act"),
                    cms_status_command("recheck"),
                ],
                description="publish the topology",
            )
        )
    calls.append(
        step_call(
            "edge.verify_next_hop",
            "edge",
            server,
            key=key,
            params=params,
            commands=[edge_service_command(edge_pool, "read")],
            description=f"{edge_pool} no longer uses {' or '.join(context.failed_pools())} as next hop",
        )
    )
    return calls


def find_edges_at_risk(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Get-CsService -EdgeServer``: the Edge pools whose Registrar (next hop) is a failed pool; a site
    run leaves the Edge pools of its site alone (they are down with it)."""
    (edges,) = call.commands_for("read")
    hops = [hop(edge) for edge in send(shell, call, edges).objects]
    failed = context.failed_pools()
    lost_site = context.failed_site
    at_risk = [
        hop
        for hop in hops
        if hop.next_hop in failed and (lost_site is None or _site(context, hop.edge_pool) != lost_site)
    ]
    names = ", ".join(hop.edge_pool for hop in at_risk) or "none"
    return StepResult(
        summary=f"Edge pools using {' or '.join(failed)} as next hop: {names}",
        facts=Facts(edges_at_risk=at_risk),
    )


def next_hop_in_place(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip when the Edge already uses the new next hop, or never used the failed pool (a remedy's sweep)."""
    edge_pool, wanted = edge_and_pool(call)
    current = current_hop(shell, call, "check")
    if current == wanted:
        return f"{edge_pool} already uses {wanted} as next hop"
    if current not in context.failed_pools():
        which = "the failed pool" if len(context.failed_pools()) == 1 else "a failed pool"
        return f"{edge_pool} uses {current}, not {which}"
    return None


def not_moved_here(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip the publish unless the Edge now uses the new next hop (no move, nothing to publish)."""
    edge_pool, wanted = edge_and_pool(call)
    if current_hop(shell, call, "check") != wanted:
        return f"{edge_pool} was not moved to {wanted}: nothing to publish"
    return None


def move_next_hop(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Set-CsEdgeServer -Identity EdgeServer:<edge> -Registrar Registrar:<pool>``; the move is kept as a
    fact, so that a failback can return the Edge to the pool it used."""
    send_acts(shell, call)
    edge_pool, pool = edge_and_pool(call)
    moved = EdgeMove(edge_pool=edge_pool, from_pool=_failed_hop(context, edge_pool), to_pool=pool)
    return StepResult(
        summary=f"next hop of {edge_pool} set to {pool} (was {moved.from_pool})",
        facts=Facts(edge_moves=[*context.facts.edge_moves, moved]),
    )


def publish_topology(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Enable-CsTopology``: the publish the seed's Topology Builder path ends with (idempotent)."""
    send_acts(shell, call)
    return StepResult(summary="topology published")


def verify_next_hop(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Get-CsService -EdgeServer``: the Edge no longer uses the failed pool (whichever pool it uses)."""
    edge_pool, _ = edge_and_pool(call)
    current = current_hop(shell, call, "read")
    if current in context.failed_pools():
        raise PreconditionError(
            f"{edge_pool} still uses the failed pool {current} as next hop after Set-CsEdgeServer: "
            "check the Edge pool's next hop in Topology Builder, then run again"
        )
    return StepResult(summary=f"{edge_pool} uses {current} as next hop, not the failed pool")


def _failed_hop(context: Context, edge_pool: str) -> str:
    """The failed pool ``edge_pool`` used as next hop (discovery found it; else the run's first pool)."""
    found = next((hop.next_hop for hop in context.facts.edges_at_risk if hop.edge_pool == edge_pool), None)
    return found or context.failed_pools()[0]


def _site(context: Context, pool: str) -> str | None:
    try:
        return context.topology.pool(pool).site
    except KeyError:
        return None
