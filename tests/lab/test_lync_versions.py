"""cms-2010 as the seed means it: the CMS on a Lync 2010 pool moves by step 6; the 2013 path is refused.

Lync 2010 (version 5) servers know no cmdlet introduced with Lync 2013, Invoke-CsManagementServerFailover
refuses a CMS hosted on Lync 2010, and Get-CsWindowsService shows where the CMS service runs.
"""

from __future__ import annotations

import pytest

from lab import lync_facts
from tests.lab.test_engine import FE_POOL2, POOL1, Lab, only

POOL0, POOL2 = "pool0.contoso.com", "pool2.contoso.com"
FE_POOL0 = "fe01.pool0.contoso.com"
FE02, FE03 = "fe02.pool2.contoso.com", "fe03.pool2.contoso.com"
SQL03 = "sql03.contoso.com"
EXPORTS = {
    "ConfigurationFileName": "c:\\CsConfigurationFile.zip",
    "LisConfigurationFileName": "c:\\CsLisConfigurationFile.zip",
}
LYNC_2013_CMDLETS: dict[str, dict[str, object]] = {
    "Invoke-CsPoolFailover": {"PoolFqdn": POOL1},
    "Invoke-CsPoolFailback": {"PoolFqdn": POOL1},
    "Invoke-CsManagementServerFailover": {"WhatIf": True},
    "Get-CsPoolBackupRelationship": {"PoolFqdn": POOL0},
    "Get-CsDatabaseMirrorState": {"DatabaseType": "CentralMgmt", "PoolFqdn": POOL0},
}


def install_cms_database(lab: Lab) -> None:
    lab.run(FE_POOL2, "Install-CsDatabase", CentralManagementDatabase=True, Clean=True, SqlServerFqdn=SQL03)


def cms_services(lab: Lab, server: str) -> list[str]:
    """Which of RTCMASTER/RTCFTA ``Get-CsWindowsService`` lists on the server."""
    names = [str(v.properties["Name"]) for v in lab.run(server, "Get-CsWindowsService").values()]
    return [name for name in names if name in lync_facts.CMS_SERVICES]


def test_the_2013_path_on_a_2010_cms_is_refused_and_the_run_does_not_verify() -> None:
    # The reviewer's wrong run: install the database, fail the CMS over as on Lync 2013, fail the pool over.
    lab = Lab("cms-2010")
    install_cms_database(lab)

    refused = lab.fails(
        FE_POOL2,
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn=SQL03,
        BackupSqlInstanceName="rtc",
        Force=True,
    )
    blocked = lab.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)

    assert refused.message == (
        'The Central Management Server is hosted on pool "pool0.contoso.com", which runs Lync Server 2010: '
        "it cannot be failed over. Move the Central Management store of Lync Server 2010 with "
        "Install-CsDatabase -CentralManagementDatabase and Move-CsManagementServer."
    )
    assert refused.error_id == "CmsOnLync2010,Invoke-CsManagementServerFailover"
    assert blocked.message.endswith("the Central Management store is not available.")
    verdict = lab.engine.verify()
    assert verdict["ok"] is False
    assert "CMS is on pool0.contoso.com, expected pool2.contoso.com" in verdict["differences"]  # type: ignore[operator]


def test_the_seeds_2010_sequence_reaches_the_expected_state() -> None:
    lab = Lab("cms-2010")
    whatif = lab.run(FE_POOL2, "Invoke-CsManagementServerFailover", WhatIf=True)
    assert (
        whatif.information[0]
        == f'What if: The Central Management Server is currently hosted on pool "{POOL0}".'
    )
    cms = only(lab.run(FE_POOL2, "Get-CsService", CentralManagement=True))
    assert (cms.properties["PoolFqdn"], cms.properties["Version"]) == (POOL0, 5)
    status = only(
        lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
    )
    assert (status.properties["ActiveMasterFqdn"], status.properties["ActiveFileTransferAgents"]) == ("", [])
    assert cms_services(lab, FE_POOL2) == []

    install_cms_database(lab)
    lab.run_on_console(FE_POOL2, "Move-CsManagementServer", Force=True, **EXPORTS)
    assert [cms_services(lab, s) for s in (FE_POOL2, FE02, FE03)] == [["RTCMASTER", "RTCFTA"], [], []]
    for server in (FE02, FE03):
        assert lab.bootstrap(server) == 0
    lab.clock.advance(120)
    status = only(
        lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
    )
    assert status.properties["ActiveMasterFqdn"] == POOL2
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True, Verbose=True)

    assert lab.engine.verify() == {"ok": True, "differences": []}
    assert [cms_services(lab, s) for s in (FE_POOL2, FE02, FE03)] == [["RTCMASTER", "RTCFTA"]] * 3


def test_a_move_without_bootstrapper_does_not_verify() -> None:
    lab = Lab("cms-2010")
    install_cms_database(lab)
    lab.run_on_console(FE_POOL2, "Move-CsManagementServer", Force=True, **EXPORTS)
    lab.clock.advance(120)
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)

    assert lab.engine.verify()["differences"] == [
        f"CMS service is not installed on {server} (run Bootstrapper.exe /Setup there)"
        for server in (FE02, FE03)
    ]


@pytest.mark.parametrize("cmdlet", sorted(LYNC_2013_CMDLETS))
def test_a_lync_2010_server_does_not_know_the_cmdlets_lync_2013_introduced(cmdlet: str) -> None:
    lab = Lab("cms-2010")

    error = lab.fails(FE_POOL0, cmdlet, **LYNC_2013_CMDLETS[cmdlet])

    assert error.message == lync_facts.COMMAND_NOT_FOUND.format(name=cmdlet)
    assert (error.error_id, error.category) == ("CommandNotFoundException", "ObjectNotFound")
    assert only(lab.run(FE_POOL0, "Get-CsService", CentralManagement=True)).properties["PoolFqdn"] == POOL0


def test_get_cs_windows_service_lists_the_local_lync_services() -> None:
    lab = Lab("cms-2010")

    everything = lab.run(FE_POOL0, "Get-CsWindowsService").values()
    missing = lab.run(FE_POOL2, "Get-CsWindowsService", Name="RTCMASTER")
    named = only(lab.run(FE_POOL2, "get-cswindowsservice", "rtcsrv"))

    assert [(v.properties["Name"], v.properties["Status"]) for v in everything] == [
        ("RTCSRV", "Running"),
        ("RTCCMSAGT", "Running"),
        ("RTCMASTER", "Stopped"),  # pool0's CMS is down with its SQL server
        ("RTCFTA", "Stopped"),
    ]
    assert everything[0].type_names == (lync_facts.NT_SERVICE, lync_facts.OBJECT)
    assert list(everything[0].properties) == ["Name", "DisplayName", "RoleName", "Status"]
    assert missing.values() == []
    assert [e.message for e in missing.errors] == [
        f'Cannot find any service with service name "RTCMASTER" on "{FE_POOL2}".'
    ]
    assert missing.errors[0].error_id == "NoServiceFoundForGivenName,Get-CsWindowsService"
    assert (named.properties["Name"], named.properties["DisplayName"]) == ("RTCSRV", "Lync Server Front-End")
    assert lab.engine.journal()[-2]["outcome"] == "error"
