"""Built-in plugin: fail the pool's users over to the backup pool, check they are serviced (seed step 7).

The failover is sent only while PoolState is not FailingOver: FailingOver before it is sent means an earlier
failover stopped midway, which Lync refuses to run over [I] (the remedy: reset it to Active, then fail over).
When ``Invoke-CsPoolFailover`` fails, the runner re-runs the check (FailedOver: done) and this plugin's
diagnosis re-reads what the failover depends on, never the error's words: the registrar's PoolState
(FailingOver since: the same remedy), the Central Management store and the backup pool's replicas (not ready:
retry, as the seed says "fix ... and run this cmdlet again"), and the Edge pools' next hops (one still on the
failed pool: the edge plugin's remedy).

A failover sent by a worker that then died is seen from PoolState too: FailingOver while it runs (it was sent
from another state, so FailingOver is its own); neither FailingOver nor FailedOver once it was refused (it
refuses before it starts) or never arrived, so the step sends it again at once instead of waiting out the
step timeout.
"""

from __future__ import annotations

from plugins.kit.cms_store import REPLICA_STATUS, cms_status_command, store_not_ready
from plugins.kit.commands import send, send_acts
from plugins.kit.errors import NextHopInUse, NotReadyError, PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    Decision,
    EarlierActSeen,
    PlannedCommand,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.kit.registrar import (
    ACTIVE,
    FAILED_OVER,
    FAILING_OVER,
    pool_state,
    pool_state_command,
    registrar_identity,
)
from plugins.kit.remote import strip_prefix, text
from plugins.kit.shell import Shell

RESET_STEP = "pool.reset_state"


class InterruptedFailover(PreconditionError):
    """The failed pool's PoolState is FailingOver: an earlier Invoke-CsPoolFailover stopped midway."""


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Fail the pool over (and reset an interrupted one); verify its users are serviced by the backup pool."""
    return [
        StepSpec(
            name="pool.fail_over",
            mutating=True,
            action=fail_over_pool,
            check=pool_failed_over,
            diagnose=diagnose_failover,
            earlier_act=earlier_failover,
        ),
        StepSpec(name=RESET_STEP, mutating=True, action=reset_pool_state, check=not_failing_over),
        StepSpec(name="pool.verify_users_serviced", mutating=False, action=verify_users_serviced),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """pool: Invoke-CsPoolFailover on a Front End of the backup pool; verify: its PoolState."""
    backup_pool = context.facts.backup_pool
    if backup_pool is None:
        return []
    server = context.topology.front_end(backup_pool)
    pool = context.failed_pool
    if phase == "pool":
        failover = command("Invoke-CsPoolFailover", "act", PoolFqdn=pool, DisasterMode=True, Verbose=True)
        rechecks = [cms_status_command("recheck"), _recheck(REPLICA_STATUS), EDGES]
        return [
            step_call(
                "pool.fail_over",
                phase,
                server,
                commands=[pool_state_command(pool, "check"), failover, *rechecks],
                description=f"users of {pool} -> {backup_pool}",
            )
        ]
    if phase == "verify":
        return [
            step_call(
                "pool.verify_users_serviced",
                phase,
                server,
                commands=[pool_state_command(pool, "read")],
                description=f"{pool} reports PoolState {FAILED_OVER}",
            )
        ]
    return []


#: After a failed Invoke-CsPoolFailover: the Edge pools and their next hops.
EDGES = command("Get-CsService", "recheck", EdgeServer=True)


@hookimpl
def lync_failover_classify_error(step: str, error: Exception, context: Context) -> Decision | None:
    """An interrupted failover (PoolState FailingOver): reset the state to Active, then fail over again."""
    if step != "pool.fail_over" or not isinstance(error, InterruptedFailover):
        return None
    backup_pool = context.facts.backup_pool or ""
    pool = context.failed_pool
    reset = step_call(
        RESET_STEP,
        "pool",
        context.topology.front_end(backup_pool),
        commands=[
            pool_state_command(pool, "check"),
            command(
                "Set-CsRegistrarConfiguration", "act", Identity=registrar_identity(pool), PoolState=ACTIVE
            ),
        ],
        description=f"{pool}: PoolState {FAILING_OVER} -> {ACTIVE}, so the failover can run again",
    )
    return Decision(action="remediate", reason=str(error), remedy=[reset])


def pool_failed_over(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip when the failed pool's registrar already reports PoolState FailedOver."""
    state = pool_state(shell, call, "check")
    return f"{context.failed_pool} is already failed over" if state == FAILED_OVER else None


def earlier_failover(shell: Shell, context: Context, call: StepCall) -> EarlierActSeen:
    """A failover a lost worker sent runs while PoolState is FailingOver (it was sent from another state);
    any other state but FailedOver (the check's) means it is not running: refused (its checks come before
    FailingOver), or it never arrived."""
    state = pool_state(shell, call, "check") or "(none)"
    pool = context.failed_pool
    if state == FAILING_OVER:
        return EarlierActSeen(state="running", reason=f"{pool} reports PoolState {state}")
    return EarlierActSeen(state="ended", reason=f"{pool} reports PoolState {state}, not {FAILING_OVER}")


def fail_over_pool(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Invoke-CsPoolFailover -PoolFqdn <failed> -DisasterMode -Verbose``, unless PoolState is FailingOver
    (an earlier failover stopped midway: InterruptedFailover, whose remedy resets it first)."""
    if pool_state(shell, call, "check") == FAILING_OVER:
        raise interrupted(context.failed_pool)
    send_acts(shell, call)
    return StepResult(summary=f"{context.failed_pool} failed over to {context.facts.backup_pool}")


def diagnose_failover(shell: Shell, context: Context, call: StepCall, error: Exception) -> Exception | None:
    """Why Invoke-CsPoolFailover failed, from the world: an interrupted failover, the store or the backup
    pool's replicas not ready, an Edge pool still on the failed pool; None when none of these."""
    pool = context.failed_pool
    if pool_state(shell, call, "check") == FAILING_OVER:
        return interrupted(pool)
    not_ready = store_not_ready(shell, context, call, error)
    if not_ready is not None:
        return not_ready
    backup = set(context.topology.pool(context.facts.backup_pool or "").servers)
    (replicas,) = [c for c in call.commands_for("recheck") if c.parameters == REPLICA_STATUS.parameters]
    listing = send(shell, call, replicas).objects
    behind = sorted(
        name for r in listing if (name := text(r, "ReplicaFqdn").lower()) in backup and not r.get("UpToDate")
    )
    behind = [name for name in behind if name not in context.facts.unreachable_servers]
    if behind:
        return NotReadyError(
            f"the CMS replicas of the backup pool are not yet up to date: {', '.join(behind)}"
        )
    (edges,) = [c for c in call.commands_for("recheck") if c.parameters == EDGES.parameters]
    at_risk = [
        text(edge, "PoolFqdn").lower()
        for edge in send(shell, call, edges).objects
        if strip_prefix(text(edge, "Registrar")) == pool
    ]
    if at_risk:
        return NextHopInUse(
            f"Edge pools still use {pool} as their next hop: {', '.join(at_risk)}. Move them "
            "(Set-CsEdgeServer -Registrar, or Topology Builder), then run again",
            at_risk,
        )
    return None


def interrupted(pool: str) -> InterruptedFailover:
    """The error of a pool an earlier failover left FailingOver."""
    return InterruptedFailover(
        f"{pool} reports PoolState {FAILING_OVER}: a failover stopped midway. Its PoolState is set back to "
        f"{ACTIVE}, then the failover is sent (Lync refuses one while the pool is {FAILING_OVER})"
    )


def not_failing_over(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip the reset unless the failed pool still reports PoolState FailingOver."""
    state = pool_state(shell, call, "check")
    return None if state == FAILING_OVER else f"{context.failed_pool} reports PoolState {state or '(none)'}"


def reset_pool_state(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Set-CsRegistrarConfiguration -Identity Service:Registrar:<failed> -PoolState Active``."""
    send_acts(shell, call)
    return StepResult(
        summary=f"{context.failed_pool} was left {FAILING_OVER} by an interrupted failover: PoolState set to "
        f"{ACTIVE}, the failover runs again"
    )


def verify_users_serviced(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Get-CsRegistrarConfiguration``: the failed pool's PoolState is FailedOver (users serviced)."""
    state = pool_state(shell, call, "read")
    if state != FAILED_OVER:
        raise NotReadyError(f"{context.failed_pool} reports PoolState {state or '(none)'}, not {FAILED_OVER}")
    return StepResult(
        summary=f"{context.failed_pool} is {FAILED_OVER}: its users are serviced by the backup pool"
    )


def _recheck(planned: PlannedCommand) -> PlannedCommand:
    return planned.model_copy(update={"purpose": "recheck"})
