"""An Edge pool's internal next hop as plugins read and set it (``Get-CsService -EdgeServer``,
``Set-CsEdgeServer``)."""

from __future__ import annotations

from plugins.kit.commands import send
from plugins.kit.model import CommandPurpose, EdgeHop, PlannedCommand, StepCall, command
from plugins.kit.remote import only_object, strip_prefix, text
from plugins.kit.shell import RemoteObject, Shell


def edge_service_command(edge_pool: str, purpose: CommandPurpose) -> PlannedCommand:
    """``Get-CsService -EdgeServer -PoolFqdn <edge>``: the Edge pool's Registrar (its next hop)."""
    return command("Get-CsService", purpose, EdgeServer=True, PoolFqdn=edge_pool)


def next_hop_parameters(edge_pool: str, pool: str) -> dict[str, str]:
    """``Set-CsEdgeServer``'s parameters that make ``pool`` the next hop of ``edge_pool``."""
    return {"Identity": f"EdgeServer:{edge_pool}", "Registrar": f"Registrar:{pool}"}


def hop(edge: RemoteObject) -> EdgeHop:
    """An Edge service object's pool and next hop."""
    return EdgeHop(edge_pool=text(edge, "PoolFqdn").lower(), next_hop=strip_prefix(text(edge, "Registrar")))


def current_hop(shell: Shell, call: StepCall, purpose: CommandPurpose) -> str:
    """The next hop the call's planned ``Get-CsService -EdgeServer`` of ``purpose`` reports."""
    (planned,) = call.commands_for(purpose)
    edge = only_object(send(shell, call, planned), f"the Edge pool {planned.parameters['PoolFqdn']}")
    return hop(edge).next_hop


def edge_and_pool(call: StepCall) -> tuple[str, str]:
    """The Edge pool and the next hop a call's ``Identity``/``Registrar`` parameters name."""
    return strip_prefix(str(call.params["Identity"])), strip_prefix(str(call.params["Registrar"]))
