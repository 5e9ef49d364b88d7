"""Built-in plugin: fail the pool's users over to the backup pool, check they are serviced (seed step 7)."""

from __future__ import annotations

from plugins.kit.commands import send_acts
from plugins.kit.errors import NotReadyError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    Decision,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.kit.registrar import FAILED_OVER, pool_state, pool_state_command
from plugins.kit.shell import CmdletError, Shell

#: Invoke-CsPoolFailover's errors while the CMS is still failing over: the seed says fix and run it again.
CMS_NOT_READY_ERRORS = (
    "the Central Management store is not yet fully failed over",
    "the Central Management store is not available",
)


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Fail the pool over; verify its users are serviced by the backup pool."""
    return [
        StepSpec(name="pool.fail_over", mutating=True, action=fail_over_pool, check=pool_failed_over),
        StepSpec(name="pool.verify_users_serviced", mutating=False, action=verify_users_serviced),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """pool: Invoke-CsPoolFailover on a Front End of the backup pool; verify: its PoolState."""
    backup_pool = context.facts.backup_pool
    if phase not in ("pool", "verify") or backup_pool is None:
        return []
    server = context.topology.front_end(backup_pool)
    pool = context.failed_pool
    if phase == "pool":
        failover = command("Invoke-CsPoolFailover", "act", PoolFqdn=pool, DisasterMode=True, Verbose=True)
        return [
            step_call(
                "pool.fail_over",
                phase,
                server,
                commands=[pool_state_command(pool, "check"), failover],
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


@hookimpl
def lync_failover_classify_error(step: str, error: Exception, context: Context) -> Decision | None:
    """The CMS not (yet) fully failed over: re-check and retry with backoff, as the seed says."""
    if (
        step == "pool.fail_over"
        and isinstance(error, CmdletError)
        and any(fragment in error.message for fragment in CMS_NOT_READY_ERRORS)
    ):
        return Decision(
            action="retry", reason=f"the CMS is not ready for the pool failover yet: {error.message}"
        )
    return None


def pool_failed_over(shell: Shell, context: Context, call: StepCall) -> str | None:
    """Skip when the failed pool's registrar already reports PoolState FailedOver."""
    state = pool_state(shell, call, "check")
    return f"{context.failed_pool} is already failed over" if state == FAILED_OVER else None


def fail_over_pool(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Invoke-CsPoolFailover -PoolFqdn <failed> -DisasterMode -Verbose``."""
    send_acts(shell, call)
    return StepResult(summary=f"{context.failed_pool} failed over to {context.facts.backup_pool}")


def verify_users_serviced(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """``Get-CsRegistrarConfiguration``: the failed pool's PoolState is FailedOver (users serviced)."""
    state = pool_state(shell, call, "read")
    if state != FAILED_OVER:
        raise NotReadyError(f"{context.failed_pool} reports PoolState {state or '(none)'}, not {FAILED_OVER}")
    return StepResult(
        summary=f"{context.failed_pool} is {FAILED_OVER}: its users are serviced by the backup pool"
    )
