"""A pool's registrar state as plugins read it: PoolState (Active, FailingOver, FailedOver, FailedBack)."""

from __future__ import annotations

from plugins.kit.commands import send
from plugins.kit.model import CommandPurpose, PlannedCommand, StepCall, command
from plugins.kit.remote import only_object, text
from plugins.kit.shell import Shell

ACTIVE = "Active"
FAILING_OVER = "FailingOver"
FAILED_OVER = "FailedOver"
FAILED_BACK = "FailedBack"
#: The states of a pool that services its own users: Active, or FailedBack once a failback completed (the
#: four values are Microsoft's; which one a failback leaves is not published, so both count: docs/lab.md).
SERVING_ITS_USERS = (ACTIVE, FAILED_BACK)


def registrar_identity(pool: str) -> str:
    """The identity of a pool's registrar configuration: ``Service:Registrar:<pool>``."""
    return f"Service:Registrar:{pool}"


def pool_state_command(pool: str, purpose: CommandPurpose) -> PlannedCommand:
    """``Get-CsRegistrarConfiguration -Identity Service:Registrar:<pool>``: its PoolState."""
    return command("Get-CsRegistrarConfiguration", purpose, Identity=registrar_identity(pool))


def pool_state(shell: Shell, call: StepCall, purpose: CommandPurpose) -> str:
    """The PoolState the call's planned ``Get-CsRegistrarConfiguration`` of ``purpose`` reports."""
    (planned,) = [c for c in call.commands_for(purpose) if c.cmdlet == "Get-CsRegistrarConfiguration"]
    config = only_object(
        send(shell, call, planned), f"the registrar configuration {planned.parameters['Identity']}"
    )
    return text(config, "PoolState")
