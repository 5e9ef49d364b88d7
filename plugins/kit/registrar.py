"""A pool's registrar state as plugins read it: PoolState (Active, FailingOver, FailedOver, FailedBack)."""

from __future__ import annotations

from plugins.kit.commands import send
from plugins.kit.model import CommandPurpose, PlannedCommand, StepCall, command
from plugins.kit.remote import only_object, text
from plugins.kit.shell import Shell

ACTIVE = "Active"
FAILED_OVER = "FailedOver"


def pool_state_command(pool: str, purpose: CommandPurpose) -> PlannedCommand:
    """``Get-CsRegistrarConfiguration -Identity Service:Registrar:<pool>``: its PoolState."""
    return command("Get-CsRegistrarConfiguration", purpose, Identity=f"Service:Registrar:{pool}")


def pool_state(shell: Shell, call: StepCall, purpose: CommandPurpose) -> str:
    """The PoolState the call's planned ``Get-CsRegistrarConfiguration`` of ``purpose`` reports."""
    (planned,) = [c for c in call.commands_for(purpose) if c.cmdlet == "Get-CsRegistrarConfiguration"]
    config = only_object(
        send(shell, call, planned), f"the registrar configuration {planned.parameters['Identity']}"
    )
    return text(config, "PoolState")
