"""The Lync 2010 path's Bootstrapper step over scripted answers: skipped where the CMS service runs."""

from __future__ import annotations

from collections.abc import Mapping

from plugins.builtin.cms2010 import bootstrap_calls, cms_service_installed
from plugins.kit.model import Context, Facts, PoolInfo, Topology
from plugins.kit.requests import Request
from plugins.kit.shell import ParameterValue
from tests.plugins.scripted_shell import ScriptedShell

FE2, FE3 = "fe02.pool2.contoso.com", "fe03.pool2.contoso.com"
CONTEXT = Context(
    run_id="run-1",
    request=Request(pool="pool1.contoso.com"),
    facts=Facts(backup_pool="pool2.contoso.com"),
    topology=Topology(
        pools=[PoolInfo(fqdn="pool2.contoso.com", site="Datacenter2", role="FrontEnd", servers=[FE2, FE3])]
    ),
)


def rtcmaster_on(*servers: str) -> ScriptedShell:
    """A shell whose servers list RTCMASTER only when named, answering -Name as the lab does."""
    shell = ScriptedShell()

    def services(parameters: Mapping[str, ParameterValue]) -> list[dict[str, object]]:
        server = shell.sent[-1].split()[0]
        names = ["RTCSRV", "RTCCMSAGT"] + (["RTCMASTER", "RTCFTA"] if server in servers else [])
        wanted = str(parameters.get("Name", "")).upper()
        return [{"Name": name, "Status": "Running"} for name in names if not wanted or name == wanted]

    shell.answers["Get-CsWindowsService"] = services
    return shell


def test_bootstrapper_is_skipped_only_where_rtcmaster_runs() -> None:
    shell = rtcmaster_on(FE2)
    first, second = bootstrap_calls(CONTEXT, "pool2.contoso.com", [FE2, FE3])

    skipped = cms_service_installed(shell, CONTEXT, first)
    needed = cms_service_installed(shell, CONTEXT, second)

    assert skipped == f"the CMS service (RTCMASTER) is already installed on {FE2}"
    assert needed is None
    assert shell.sent == [f"{FE2} Get-CsWindowsService", f"{FE3} Get-CsWindowsService"]
