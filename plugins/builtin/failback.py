"""Built-in plugin: fail a recovered pool back (``Invoke-CsPoolFailback``), returning its users and the Edge
next hops its failover moved; the CMS moves back only when asked.

Microsoft: failback takes from several minutes to an hour (20,000 users); "no other steps are necessary"
for the CMS, which may stay on the backup pool. Every step runs on a Front End of the recovered pool.
"""

from __future__ import annotations

from plugins.kit.cms_store import cms_already_on, cms_service_command, validation_calls
from plugins.kit.commands import send, send_acts
from plugins.kit.edge_hops import current_hop, edge_and_pool, edge_service_command, next_hop_parameters
from plugins.kit.errors import NotReadyError, PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import Context, EdgeMove, Facts, StepCall, StepResult, StepSpec, command, step_call
from plugins.kit.registrar import SERVING_ITS_USERS, pool_state, pool_state_command
from plugins.kit.requests import FailbackRequest
from plugins.kit.shell import Shell


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Check the pool is back; return the Edge next hops; fail the users back; verify; move the CMS back."""
    return [
        StepSpec(name="failback.check_pool_back", mutating=False, action=check_pool_back),
        StepSpec(
            name="failback.return_next_hop", mutating=True, action=return_next_hop, check=next_hop_returned
        ),
        StepSpec(name="failback.verify_next_hop", mutating=False, action=verify_next_hop),
        StepSpec(name="failback.fail_back_pool", mutating=True, action=fail_back_pool, check=pool_active),
        StepSpec(name="failback.verify_pool_active", mutating=False, action=verify_pool_active),
        StepSpec(name="failback.move_cms_back", mutating=True, action=move_cms_back, check=cms_already_back),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """A failback's phases (plugins.kit.requests.FAILBACK_*_PHASES), all on a Front End of the pool."""
    request = context.request
    if not isinstance(request, FailbackRequest) or not phase.startswith("failback."):
        return []
    pool = request.pool
    server = context.topology.front_end(pool)
    if phase == "failback.inspect":
        commands = [
            pool_state_command(pool, "read"),
            command("Get-CsDatabaseMirrorState", DatabaseType="User", PoolFqdn=pool),
        ]
        return [
            step_call(
                "failback.check_pool_back",
                phase,
                server,
                commands=commands,
                description=f"{pool}'s Front Ends and back end answer",
            )
        ]
    if phase == "failback.edge":
        return [
            call
            for move in context.facts.edge_moves
            if move.from_pool == pool
            for call in _return(move, phase, server)
        ]
    if phase == "failback.pool":
        back = command("Invoke-CsPoolFailback", "act", PoolFqdn=pool, Verbose=True)
        return [
            step_call(
                "failback.fail_back_pool",
                phase,
                server,
                commands=[pool_state_command(pool, "check"), back],
                description=f"users of {pool} return to it",
            )
        ]
    if phase == "failback.verify":
        return [
            step_call(
                "failback.verify_pool_active",
                phase,
                server,
                commands=[pool_state_command(pool, "read")],
                description=f"{pool} reports PoolState {' or '.join(SERVING_ITS_USERS)}",
            )
        ]
    if phase == "failback.cms" and request.move_cms_back:
        move = command("Invoke-CsManagementServerFailover", "act")
        calls = [
            step_call(
                "failback.move_cms_back",
                phase,
                server,
                commands=[cms_service_command("check"), move],
                description=f"move the CMS back to {pool} (a planned failover: the CMS answers)",
            )
        ]
        return calls + validation_calls(context, server, pool, phase)
    return []


def _return(move: EdgeMove, phase: str, server: str) -> list[StepCall]:
    params = next_hop_parameters(move.edge_pool, move.from_pool)
    return [
        step_call(
            "failback.return_next_hop",
            phase,
            server,
            key=move.edge_pool,
            params=params | {"moved_to": move.to_pool},
            commands=[
                edge_service_command(move.edge_pool, "check"),
                command("Set-CsEdgeServer", "act", **params),
            ],
            description=f"next hop of {move.edge_pool} back to {move.from_pool} (moved to {move.to_pool})",
        ),
        step_call(
            "failback.verify_next_hop",
            phase,
            server,
            key=move.edge_pool,
            params=params,
            commands=[edge_service_command(move.edge_pool, "read")],
            description=f"{move.edge_pool} uses {move.from_pool} as next hop",
        ),
    ]


def check_pool_back(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The pool's Front Ends and its back end answer."""
    pool = context.failed_pool
    front_ends = context.topology.pool(pool).servers
    down = [server for server in front_ends if not shell.reachable(server)]
    if down:
        raise PreconditionError(
            f"{pool} is not back: {', '.join(down)} do not answer. Start them, then fail back"
        )
    state = pool_state(shell, call, "read")
    (mirror_read,) = [c for c in call.commands_for("read") if c.cmdlet == "Get-CsDatabaseMirrorState"]
    send(shell, call, mirror_read)  # an error (SQL unreachable) stops the failback: the back end is down
    return StepResult(summary=f"{pool}'s {len(front_ends)} Front Ends and back end answer; PoolState {state}")


def next_hop_returned(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip when the Edge already uses the pool again, or uses another pool than the failover moved it to
    (someone changed it since: left as it is)."""
    edge_pool, pool = edge_and_pool(call)
    current = current_hop(shell, call, "check")
    if current == pool:
        return f"{edge_pool} already uses {pool} as next hop"
    moved_to = str(call.params["moved_to"])
    if current != moved_to:
        return f"{edge_pool} uses {current}, not {moved_to} where the failover moved it: left as it is"
    return None


def return_next_hop(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Set-CsEdgeServer -Identity EdgeServer:<edge> -Registrar Registrar:<pool>``."""
    send_acts(shell, call)
    edge_pool, pool = edge_and_pool(call)
    kept = [move for move in context.facts.edge_moves if move.edge_pool != edge_pool]
    back = EdgeMove(edge_pool=edge_pool, from_pool=str(call.params["moved_to"]), to_pool=pool)
    return StepResult(
        summary=f"next hop of {edge_pool} back to {pool}", facts=Facts(edge_moves=[*kept, back])
    )


def verify_next_hop(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The Edge uses the pool as next hop again."""
    edge_pool, pool = edge_and_pool(call)
    current = current_hop(shell, call, "read")
    if current != pool:
        raise NotReadyError(f"{edge_pool} uses {current} as next hop, not {pool}")
    return StepResult(summary=f"{edge_pool} uses {pool} as next hop")


def pool_active(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip when the pool's registrar already reports it services its users (Active or FailedBack)."""
    state = pool_state(shell, call, "check")
    return f"{context.failed_pool} is {state}: nothing to fail back" if state in SERVING_ITS_USERS else None


def fail_back_pool(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Invoke-CsPoolFailback -PoolFqdn <pool> -Verbose`` on a Front End of the pool."""
    send_acts(shell, call)
    return StepResult(summary=f"{context.failed_pool} failed back: its users return to it")


def verify_pool_active(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The pool's registrar reports it services its users again (polled while the failback completes)."""
    state = pool_state(shell, call, "read")
    if state not in SERVING_ITS_USERS:
        raise NotReadyError(
            f"{context.failed_pool} reports PoolState {state or '(none)'}, "
            f"not {' or '.join(SERVING_ITS_USERS)}"
        )
    return StepResult(summary=f"{context.failed_pool} is {state}: its users are serviced by it again")


def cms_already_back(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip when the CMS already answers on the pool."""
    return cms_already_on(shell, call, context.failed_pool)


def move_cms_back(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Invoke-CsManagementServerFailover`` with no database parameters, on a Front End of the pool: the
    reference's failover "when the CMS is available" (it waits for replication, then moves)."""
    send_acts(shell, call)
    return StepResult(
        summary=f"the CMS moved back to {context.failed_pool}",
        facts=Facts(cms_pool=context.failed_pool, cms_active=True),
    )
