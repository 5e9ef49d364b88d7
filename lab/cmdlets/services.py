"""``Get-CsWindowsService``: the Lync services of the server it runs on (a Front End, an Edge server)."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, ps_object


def get_windows_service(inv: Invocation) -> None:
    """One object per local Lync service, or the one ``-Name`` names (unknown: a non-terminating error).

    The CMS services (RTCMASTER, RTCFTA) exist only where the CMS service is installed; they are Stopped
    while the Central Management store is not available [I].
    """
    services = _local_services(inv)
    wanted = inv.text("Name")
    if wanted is not None:
        services = {n: v for n, v in services.items() if n.lower() == wanted.lower()}
        if not services:
            inv.output.write_error(
                inv.error(
                    lync_facts.SERVICE_NOT_FOUND.format(name=wanted, server=inv.server),
                    "NoServiceFoundForGivenName",
                    category="ObjectNotFound",
                    target=wanted,
                )
            )
    for name, (display_name, role, status) in services.items():
        inv.output.write_output(
            ps_object(
                lync_facts.NT_SERVICE, Name=name, DisplayName=display_name, RoleName=role, Status=status
            )
        )


def _local_services(inv: Invocation) -> dict[str, tuple[str, str, str]]:
    """This server's services (or ``-ComputerName``'s): name -> (display name, role name, status)."""
    d = inv.deployment
    server = (inv.text("ComputerName") or inv.server).lower()
    if d.pool_of_front_end(server) is None:
        edge = any(server in e.servers for e in d.edge_pools)
        names = lync_facts.EDGE_SERVICES if edge else {}
        return {name: (*described, lync_facts.RUNNING) for name, described in names.items()}
    services = {
        name: (*described, lync_facts.RUNNING) for name, described in lync_facts.FRONT_END_SERVICES.items()
    }
    if server in d.cms.service_on:
        status = lync_facts.RUNNING if d.cms_available() else lync_facts.STOPPED
        services |= {name: (*described, status) for name, described in lync_facts.CMS_SERVICES.items()}
    return services


CMDLETS = (Cmdlet("Get-CsWindowsService", get_windows_service),)
