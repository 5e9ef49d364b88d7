"""The Lync engine driven as the remoting layer drives it: given a scenario, when the operator runs the
seed's cmdlets, then the lab answers and changes as Lync would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.api import CallContext, CommandCall, ExecResult, PowerShellError, PSValue
from lab.engine import LabEngine, StateFileError
from lab.scenario import SCENARIO_DIRECTORY as SCENARIOS
from lab.scenario import load_scenario

ADMIN = "CONTOSO\\lyncadmin"
BOOTSTRAPPER_2013 = "C:\\Program Files\\Microsoft Lync Server 2013\\Deployment\\Bootstrapper.exe"
POOL1, POOL2, POOL3, POOL4 = (f"pool{n}.contoso.com" for n in range(1, 5))
FE_POOL2 = "fe01.pool2.contoso.com"
EDGE_ERROR = (
    'This Front-end pool "pool1.contoso.com" is specified in\n'
    "topology as the next hop for the Edge server. Failing over this pool may cause External\n"
    "access/Federation/Split-domain/XMPP features to stop working. Please use Topology Builder to\n"
    "change the Edge internal next hop setting to point to a different Front-end pool,  before you\n"
    "proceed."
)


class Capture:
    """A PipelineOutput that keeps what a cmdlet wrote."""

    def __init__(self) -> None:
        self.objects: list[object] = []
        self.information: list[str] = []
        self.verbose: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[PowerShellError] = []
        self._stopping = threading.Event()

    def write_output(self, value: object) -> None:
        self.objects.append(value)

    def write_error(self, error: PowerShellError) -> None:
        self.errors.append(error)

    def write_warning(self, message: str) -> None:
        self.warnings.append(message)

    def write_verbose(self, message: str) -> None:
        self.verbose.append(message)

    def write_information(self, message: str) -> None:
        self.information.append(message)

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def values(self) -> list[PSValue]:
        assert all(isinstance(o, PSValue) for o in self.objects)
        return [o for o in self.objects if isinstance(o, PSValue)]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Lab:
    """An engine for one scenario, and the operator's hands on it."""

    def __init__(self, scenario: str) -> None:
        self.clock = Clock()
        self.engine = LabEngine.from_scenario(load_scenario(scenario), clock=self.clock)

    def run(self, server: str, cmdlet: str, *positional: object, **parameters: object) -> Capture:
        """Run as the administrator in a CredSSP remoting session (the second hop works)."""
        return self._run(CallContext(server, ADMIN, delegated=True), cmdlet, positional, parameters)

    def run_on_console(self, server: str, cmdlet: str, **parameters: object) -> Capture:
        """Run as the administrator logged on at the server itself (not a remote management session)."""
        return self._run(CallContext(server, ADMIN, delegated=True, local=True), cmdlet, (), parameters)

    def _run(
        self, context: CallContext, cmdlet: str, positional: tuple[object, ...], parameters: dict[str, object]
    ) -> Capture:
        output = Capture()
        call = CommandCall(cmdlet, tuple((None, p) for p in positional) + tuple(parameters.items()))
        self.engine.invoke(context, [call], output)
        return output

    def fails(self, server: str, cmdlet: str, *positional: object, **parameters: object) -> PowerShellError:
        with pytest.raises(PowerShellError) as caught:
            self.run(server, cmdlet, *positional, **parameters)
        return caught.value

    def state_of(self, key: str) -> object:
        return self.engine.state()[key]

    def bootstrap(self, server: str) -> int:
        return self.engine.execute(CallContext(server, ADMIN), BOOTSTRAPPER_2013, ["/Setup"]).exit_code


@pytest.fixture
def lab() -> Iterator[Lab]:
    yield Lab("cms-2013-primary")


def wait_until(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "condition not reached before the deadline"
        time.sleep(0.001)


def only(capture: Capture) -> PSValue:
    values = capture.values()
    assert len(values) == 1
    return values[0]


# --- the seed, end to end ----------------------------------------------------------------------------


def test_seed_procedure_on_cms_2013_primary_reaches_the_expected_state(lab: Lab) -> None:
    assert lab.engine.verify()["ok"] is False
    whatif = lab.run(FE_POOL2, "Invoke-CsManagementServerFailover", WhatIf=True)
    assert (
        whatif.information[0]
        == 'What if: The Central Management Server is currently hosted on pool "pool1.contoso.com".'
    )
    services = lab.run(FE_POOL2, "Get-CsService", CentralManagement=True).values()
    assert [
        (c.properties["PoolFqdn"], c.properties["Version"], c.properties["Active"]) for c in services
    ] == [
        (POOL1, 6, True),
        (POOL2, 6, False),
    ]
    backup = only(lab.run(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFQDN=POOL1, LocalStore=True))
    assert backup.properties["BackupPoolFqdn"] == POOL2
    status = only(
        lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
    )
    assert status.properties["ActiveMasterFqdn"] == "" and status.properties["ActiveFileTransferAgents"] == []
    mirror = lab.run(
        FE_POOL2, "Get-CsDatabaseMirrorState", DatabaseType="Centralmgmt", PoolFqdn=POOL2, LocalStore=True
    ).values()
    assert [m.properties["StateOnPrimary"] for m in mirror] == ["Principal", "Principal"]

    lab.run(
        FE_POOL2,
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql03.contoso.com",
        BackupSqlInstanceName="rtc",
        BackupMirrorSqlServerFqdn="sql04.contoso.com",
        BackupMirrorSqlInstanceName="rtc",
        Force=True,
    )

    status = only(
        lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
    )
    assert status.properties["ActiveMasterFqdn"] == POOL2
    assert status.properties["ActiveFileTransferAgents"] == [POOL2]
    error = lab.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert "not yet fully failed over" in error.message
    lab.clock.advance(120)
    replicas = lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus").values()
    assert {
        r.properties["ReplicaFqdn"]: r.properties["UpToDate"]
        for r in replicas
        if "pool2" in str(r.properties["ReplicaFqdn"])
    } == {
        "fe01.pool2.contoso.com": True,
        "fe02.pool2.contoso.com": True,
        "fe03.pool2.contoso.com": True,
    }
    failover = lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFQDN=POOL1, DisasterMode=True, Verbose=True)

    assert failover.objects == [] and failover.verbose
    assert lab.engine.verify() == {"ok": True, "differences": []}
    state = only(lab.run(FE_POOL2, "Get-CsRegistrarConfiguration", Identity=f"Service:Registrar:{POOL1}"))
    assert state.properties["PoolState"] == "FailedOver"
    again = lab.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert again.message == 'Pool "pool1.contoso.com" is already failed over to "pool2.contoso.com".'


def test_mirror_principal_takes_the_documented_form_and_rejects_the_seeds_parameter_names() -> None:
    lab = Lab("cms-2013-mirror")
    mirror = lab.run(
        FE_POOL2, "Get-CsDatabaseMirrorState", DatabaseType="CentralMgmt", PoolFqdn=POOL2, LocalStore=True
    ).values()
    assert [(m.properties["DatabaseName"], m.properties["StateOnMirror"]) for m in mirror] == [
        ("xds", "Principal"),
        ("lis", "Principal"),
    ]
    seed_text = lab.fails(
        FE_POOL2, "Invoke-CsManagementServerFailover", MirrorSQLServerFqdn="sql04.contoso.com"
    )
    assert (
        seed_text.message == "A parameter cannot be found that matches parameter name 'MirrorSQLServerFqdn'."
    )
    assert seed_text.error_id == "NamedParameterNotFound,Invoke-CsManagementServerFailover"
    assert seed_text.category == "InvalidArgument"
    # "You can only invoke the failover to the database defined in the Topology Builder": the mirror (here
    # principal) is not it; the topology's primary is, with its mirror added.
    swapped = lab.fails(
        FE_POOL2,
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql04.contoso.com",
        BackupMirrorSqlServerFqdn="sql03.contoso.com",
        Force=True,
    )
    assert swapped.error_id == "NotTopologyDatabase,Invoke-CsManagementServerFailover"
    no_mirror = lab.fails(
        FE_POOL2, "Invoke-CsManagementServerFailover", BackupSqlServerFqdn="sql03.contoso.com", Force=True
    )
    assert no_mirror.message == (
        'The Central Management database of pool "pool2.contoso.com" is mirrored on "sql04.contoso.com": add '
        "the BackupMirrorSqlServerFqdn and BackupMirrorSqlInstanceName parameters."
    )
    documented = {
        "BackupSqlServerFqdn": "sql03.contoso.com",
        "BackupMirrorSqlServerFqdn": "sql04.contoso.com",
    }
    no_force = lab.fails(FE_POOL2, "Invoke-CsManagementServerFailover", **documented)
    assert no_force.message == (
        "Cannot process command because of one or more missing mandatory parameters: Force."
    )
    lab.run(FE_POOL2, "Invoke-CsManagementServerFailover", **documented, Force=True)
    assert lab.engine.state()["cms"]["pool"] == POOL2  # type: ignore[index]
    lab.clock.advance(120)
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert lab.engine.verify()["ok"] is True


def test_cms_failover_binds_as_the_reference_declares_it(lab: Lab) -> None:
    both = lab.fails(
        FE_POOL2, "Invoke-CsManagementServerFailover", Restore=True, BackupSqlServerFqdn="sql03.contoso.com"
    )
    assert (both.message, both.error_id) == (
        "Parameter set cannot be resolved using the specified named parameters.",
        "AmbiguousParameterSet,Invoke-CsManagementServerFailover",
    )
    # No parameters: the Normal set, a planned failover, which needs the CMS available (it is not here).
    planned = lab.fails(FE_POOL2, "Invoke-CsManagementServerFailover")
    assert planned.message.startswith("Cannot reach the current Central Management store")


def test_cms_failover_must_run_in_the_pool_of_its_back_end(lab: Lab) -> None:
    error = lab.fails(
        "edge01.edge2.contoso.com",
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql03.contoso.com",
        Force=True,
    )
    assert error.message == (
        'Run this cmdlet on a server of the pool whose back end is "sql03.contoso.com": the Central '
        "Management Server fails over to the pool the cmdlet runs in."
    )


def test_cms_failover_to_a_pool_without_a_cms_database_names_the_backup_pool_to_use() -> None:
    lab = Lab("edge-same-site")

    error = lab.fails(
        "fe01.pool3.contoso.com",
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql05.contoso.com",
        Force=True,
    )

    assert error.message == (
        'Pool "pool3.contoso.com" has no Central Management database. The Central Management Server fails '
        'over only to the backup pool of the pool hosting it ("pool2.contoso.com"): "pool1.contoso.com".'
    )
    assert error.error_id == "NoCentralManagementDatabase,Invoke-CsManagementServerFailover"


def test_lync_2010_path_install_move_bootstrap_then_fail_over() -> None:
    lab = Lab("cms-2010")
    assert only(lab.run(FE_POOL2, "Get-CsService", CentralManagement=True)).properties["Version"] == 5
    assert lab.run(FE_POOL2, "Test-Path", "c:\\CsConfigurationFile.zip").objects == [True]
    assert lab.run(FE_POOL2, "Test-Path", Path="c:\\missing.zip").objects == [False]
    files = {
        "ConfigurationFileName": "c:\\CsConfigurationFile.zip",
        "LisConfigurationFileName": "c:\\CsLisConfigurationFile.zip",
    }
    remote = lab.fails(FE_POOL2, "Move-CsManagementServer", Force=True, **files)
    assert remote.message == (
        "The Move-CsManagementServer cmdlet must be run locally; it cannot be called from a remote "
        "management session."
    )
    with pytest.raises(PowerShellError) as caught:
        lab.run_on_console(FE_POOL2, "Move-CsManagementServer", Force=True, **files)
    not_installed = caught.value
    assert not_installed.message == (
        'The Central Management store database is not installed on SQL Server "sql03.contoso.com". '
        "Run Install-CsDatabase -CentralManagementDatabase first."
    )
    sql = {"SqlServerFqdn": "sql03.contoso.com", "SqlInstanceName": "rtc"}
    assert installed_versions(
        lab.run(FE_POOL2, "Test-CsDatabase", CentralManagementDatabase=True, **sql)
    ) == {
        "xds": ("10.13.2", "", False),
        "lis": ("3.1.1", "", False),
    }
    install = lab.run(
        FE_POOL2, "Install-CsDatabase", CentralManagementDatabase=True, Clean=True, Verbose=True, **sql
    )
    assert install.verbose
    # What a step whose worker died during the install reads (the CMS is still unavailable).
    assert installed_versions(
        lab.run(FE_POOL2, "Test-CsDatabase", CentralManagementDatabase=True, **sql)
    ) == {
        "xds": ("10.13.2", "10.13.2", True),
        "lis": ("3.1.1", "3.1.1", True),
    }
    without_sql = lab.fails(FE_POOL2, "Test-CsDatabase", CentralManagementDatabase=True)
    assert "The Central Management store is not available" in without_sql.message
    with pytest.raises(PowerShellError) as caught:
        lab.run_on_console(
            FE_POOL2,
            "Move-CsManagementServer",
            ConfigurationFileName="c:\\other.zip",
            CsLisConfiguration="c:\\CsLisConfigurationFile.zip",
            Force=True,
        )
    missing_file = caught.value
    assert missing_file.message == 'Cannot find file "c:\\other.zip".'
    with pytest.raises(PowerShellError) as caught:
        lab.run_on_console(FE_POOL2, "Move-CsManagementServer", **files)
    no_force = caught.value
    assert no_force.message.startswith("Cannot reach the current Central Management store")

    moved = lab.run_on_console(FE_POOL2, "Move-CsManagementServer", Force=True, **files)

    assert moved.objects[1:] == ["fe02.pool2.contoso.com", "fe03.pool2.contoso.com"]
    assert lab.engine.verify()["differences"] == [
        "User sip:alice@contoso.com is serviced by pool1.contoso.com, expected pool2.contoso.com",
        "User sip:bob@contoso.com is serviced by pool1.contoso.com, expected pool2.contoso.com",
        "Replica fe01.pool2.contoso.com is not up to date",
        "Replica fe02.pool2.contoso.com is not up to date",
        "Replica fe03.pool2.contoso.com is not up to date",
        "Replica fe01.pool0.contoso.com is not up to date",
        "Replica fe02.pool0.contoso.com is not up to date",
        "CMS service is not installed on fe02.pool2.contoso.com (run Bootstrapper.exe /Setup there)",
        "CMS service is not installed on fe03.pool2.contoso.com (run Bootstrapper.exe /Setup there)",
    ]
    assert lab.bootstrap("fe02.pool2.contoso.com") == 0
    assert lab.bootstrap("fe03.pool2.contoso.com") == 0
    lab.clock.advance(120)
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert lab.engine.verify() == {"ok": True, "differences": []}
    assert [e["cmdlet"] for e in lab.engine.journal() if e["outcome"] == "ok"][-3:] == [
        "Bootstrapper.exe",
        "Bootstrapper.exe",
        "Invoke-CsPoolFailover",
    ]


def installed_versions(capture: Capture) -> dict[str, tuple[str, str, bool]]:
    """Test-CsDatabase's rows: database -> (ExpectedVersion, InstalledVersion, Succeed)."""
    rows = [value.properties for value in capture.values()]
    return {
        str(row["DatabaseName"]): (
            str(row["ExpectedVersion"]),
            str(row["InstalledVersion"]),
            bool(row["Succeed"]),
        )
        for row in rows
    }


def bootstrap_interrupted(lab: Lab, server: str, interrupt: Callable[[], None]) -> ExecResult:
    """Run Bootstrapper with an hour of latency on a thread, ``interrupt`` once it runs; how it ended."""
    lab.engine.set_faults({"latency": {"Bootstrapper.exe": 3600}})
    results: list[ExecResult] = []
    context = CallContext(server, ADMIN)
    worker = threading.Thread(
        target=lambda: results.append(lab.engine.execute(context, "Bootstrapper.exe", ["/Setup"]))
    )
    worker.start()
    wait_until(lambda: any(e["outcome"] is None for e in lab.engine.journal()))
    interrupt()
    worker.join(10)
    assert not worker.is_alive(), "Bootstrapper did not end when interrupted"
    return results[0]


def test_bootstrapper_on_a_server_taken_down_during_setup_exits_1_and_installs_nothing(
    tmp_path: Path,
) -> None:
    shipped = (SCENARIOS / "edge-same-site.yaml").read_text()
    one_service = "cms:\n  pool: pool2.contoso.com\n  service_on: [fe01.pool2.contoso.com]\n"
    scenario = tmp_path / "edge-same-site-one-cms-service.yaml"
    scenario.write_text(shipped.replace("cms:\n  pool: pool2.contoso.com\n", one_service))
    lab = Lab(str(scenario))
    server = "fe02.pool2.contoso.com"
    assert server not in lab.engine.state()["cms"]["service_on"]  # type: ignore[index]

    result = bootstrap_interrupted(lab, server, lambda: lab.engine.set_server_up(server, False))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Bootstrapper.exe failed: {server} went down during setup; the Central Management service was not "
        "installed. Start the server and run Bootstrapper.exe /Setup again."
    )
    assert server not in lab.engine.state()["cms"]["service_on"]  # type: ignore[index]
    assert lab.engine.journal()[-1]["outcome"] == "error"


def test_bootstrapper_ends_when_the_lab_stops() -> None:
    lab = Lab("cms-2010")

    result = bootstrap_interrupted(lab, "fe01.pool2.contoso.com", lab.engine.close)

    assert result.exit_code == 1
    assert "The lab stopped" in result.stderr
    assert lab.engine.journal()[-1]["outcome"] == "stopped"


def test_bootstrapper_rejects_unknown_switches_and_cmd_unknown_programs() -> None:
    lab = Lab("cms-2010")
    context = CallContext(FE_POOL2, ADMIN)
    usage = lab.engine.execute(context, "bootstrapper.EXE", ["/Bogus"])
    assert usage.exit_code == 1 and "Usage" in usage.stderr
    unknown = lab.engine.execute(context, "setup.exe", [])
    assert unknown.exit_code == 1 and "is not recognized" in unknown.stderr


def test_cms_elsewhere_healthy_needs_no_cms_failover() -> None:
    lab = Lab("cms-elsewhere-healthy")
    status = only(
        lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
    )
    assert status.properties["ActiveMasterFqdn"] == POOL3
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert lab.engine.verify()["ok"] is True


def test_cms_elsewhere_unavailable_fails_over_to_the_cms_pools_backup() -> None:
    lab = Lab("cms-elsewhere-unavailable")
    blocked = lab.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert (
        blocked.message
        == 'Unable to fail over pool "pool1.contoso.com": the Central Management store is not available.'
    )
    with pytest.raises(PowerShellError, match="not available"):
        lab.run(FE_POOL2, "Get-CsManagementStoreReplicationStatus")
    # The store is down: reads that need it fail; -LocalStore reads this server's replica.
    with pytest.raises(PowerShellError, match="not available"):
        lab.run(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL3)
    local = only(lab.run(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL3, LocalStore=True))
    assert local.properties["BackupPoolFqdn"] == POOL4
    lab.run(
        "fe01.pool4.contoso.com",
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql07.contoso.com",
        BackupMirrorSqlServerFqdn="sql08.contoso.com",
        Force=True,
    )
    lab.clock.advance(120)
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert lab.engine.verify() == {"ok": True, "differences": []}


@pytest.mark.parametrize(
    ("scenario", "identity", "registrar", "next_hop"),
    [
        ("edge-same-site", "EdgeServer:edge1.contoso.com", "Registrar:pool3.contoso.com", POOL3),
        ("edge-other-site", "edge1.contoso.com", "pool2.contoso.com", POOL2),
    ],
)
def test_edge_next_hop_blocks_the_failover_until_moved(
    scenario: str, identity: str, registrar: str, next_hop: str
) -> None:
    lab = Lab(scenario)
    blocked = lab.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert blocked.message == EDGE_ERROR
    to_dead = lab.fails(FE_POOL2, "Set-CsEdgeServer", Identity=identity, Registrar=POOL1)
    assert to_dead.message.startswith('Cannot use pool "pool1.contoso.com" as the next hop')

    assert lab.run(FE_POOL2, "Set-CsEdgeServer", Identity=identity, Registrar=registrar).objects == []
    lab.run(FE_POOL2, "Enable-CsTopology")

    edge = only(lab.run(FE_POOL2, "Get-CsService", EdgeServer=True))
    assert edge.type_names == ("Microsoft.Rtc.Management.Xds.DisplayEdgeServer", "System.Object")
    assert edge.properties["Registrar"] == f"Registrar:{next_hop}"
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert lab.engine.verify() == {"ok": True, "differences": []}
    assert lab.engine.state()["publishes"] == 1


# --- objects, type names, errors ---------------------------------------------------------------------


def test_read_cmdlets_return_the_agreed_types_and_properties(lab: Lab) -> None:
    pools = lab.run(FE_POOL2, "Get-CsPool").values()
    assert pools[0].type_names == ("Microsoft.Rtc.Management.Deploy.Internal.Cluster", "System.Object")
    assert pools[0].properties == {
        "Identity": POOL1,
        "Fqdn": POOL1,
        "Site": "Site:Datacenter1",
        "Computers": ["fe01.pool1.contoso.com", "fe02.pool1.contoso.com", "fe03.pool1.contoso.com"],
        "Services": [f"Registrar:{POOL1}", f"UserServer:{POOL1}", f"CentralManagement:{POOL1}"],
    }
    registrar = only(lab.run(FE_POOL2, "Get-CsService", Registrar=True, PoolFqdn=POOL2))
    assert registrar.properties == {
        "Identity": f"Registrar:{POOL2}",
        "PoolFqdn": POOL2,
        "SiteId": "Site:Datacenter2",
        "Version": 6,
        "BackupPoolFqdn": POOL1,
    }
    database = lab.run(FE_POOL2, "Get-CsService", UserDatabase=True).values()[1]
    assert database.type_names[0] == "Microsoft.Rtc.Management.Xds.DisplayUserDatabase"
    assert database.properties["MirrorSqlServerFqdn"] == "sql04.contoso.com"
    assert database.properties["DependentServiceList"] == [f"UserServer:{POOL2}", f"Registrar:{POOL2}"]
    cms = lab.run(FE_POOL2, "Get-CsService", CentralManagement=True).values()
    assert {c.type_names[0] for c in cms} == {"Microsoft.Rtc.Management.Xds.DisplayCentralManagementService"}
    relation = only(lab.run(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL2, LocalStore=True))
    assert relation.type_names[0] == "Microsoft.Rtc.Management.Hadr.BackupService.BackupRelation"
    user = only(lab.run(FE_POOL2, "Get-CsUser", "sip:alice@contoso.com"))
    assert user.type_names[0] == "Microsoft.Rtc.Management.ADConnect.Schema.ADUser"
    assert user.properties == {
        "Identity": "sip:alice@contoso.com",
        "DisplayName": "Alice",
        "SipAddress": "sip:alice@contoso.com",
        "RegistrarPool": POOL1,
        "Enabled": True,
    }
    # Reading the registrar settings needs the store (down here) or -LocalStore.
    config = lab.run(FE_POOL2, "Get-CsRegistrarConfiguration", LocalStore=True).values()
    assert (
        config[0].type_names[0]
        == "Microsoft.Rtc.Management.WritableConfig.Settings.Registrar.RegistrarSettings"
    )
    assert [c.properties["PoolState"] for c in config] == ["Active", "Active"]
    mirror = lab.run(
        FE_POOL2, "Get-CsDatabaseMirrorState", DatabaseType="CentralMgmt", PoolFqdn=POOL1, LocalStore=True
    ).values()
    assert mirror[0].type_names[0] == "Microsoft.Rtc.Management.Deployment.DatabaseMirrorState"
    assert mirror[0].properties["StateOnPrimary"] == "DatabaseInaccessibleOrMirroringNotEnabled"
    assert mirror[0].properties["MirroringStatusOnPrimary"] == "Disconnected"
    # Without -DatabaseType (not mandatory): every database of the pool's back end.
    every = lab.run(FE_POOL2, "Get-CsDatabaseMirrorState", PoolFqdn=POOL2, LocalStore=True).values()
    assert [m.properties["DatabaseName"] for m in every] == ["xds", "lis", "rtcxds", "rtcshared"]
    assert lab.run(FE_POOL2, "Import-Module", Name="Lync").objects == []
    service = lab.run(FE_POOL2, "Get-CsWindowsService", "RTCSRV").values()[0]
    assert service.type_names[0] == "Microsoft.Rtc.Management.Deployment.Core.NTService"
    assert {"RoleName", "Status", "DisplayName"} <= set(service.properties)


def test_powershell_binding_errors(lab: Lab) -> None:
    unknown = lab.fails(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL1, Colour="red")
    assert (unknown.message, unknown.error_id, unknown.category) == (
        "A parameter cannot be found that matches parameter name 'Colour'.",
        "NamedParameterNotFound,Get-CsPoolBackupRelationship",
        "InvalidArgument",
    )
    missing = lab.fails(FE_POOL2, "Get-CsDatabaseMirrorState")
    assert (missing.message, missing.error_id) == (
        "Cannot process command because of one or more missing mandatory parameters: PoolFqdn.",
        "MissingMandatoryParameter,Get-CsDatabaseMirrorState",
    )
    command = lab.fails(FE_POOL2, "Get-CsNothing")
    assert command.message.startswith("The term 'Get-CsNothing' is not recognized as the name of a cmdlet")
    assert (command.error_id, command.category) == ("CommandNotFoundException", "ObjectNotFound")
    module = lab.fails(FE_POOL2, "Import-Module", "ActiveDirectory")
    assert module.error_id == "Modules_ModuleNotFound,Import-Module"
    positional = lab.fails(FE_POOL2, "Enable-CsTopology", "now")
    assert positional.message == "A positional parameter cannot be found that accepts argument 'now'."
    assert only(
        lab.run(
            FE_POOL2,
            "get-cspoolbackuprelationship",
            poolfqdn=POOL1,
            Verbose=True,
            ErrorAction="Stop",
            LocalStore=True,
        )
    )


@pytest.mark.parametrize(
    ("cmdlet", "positional", "parameters", "message", "reason", "category"),
    [
        (
            "Invoke-CsPoolFailover",
            (),
            {"PoolFqdn": POOL1, "F": True},
            "Parameter cannot be processed because the parameter name 'F' is ambiguous. Possible matches "
            "include: -FlushStorageService -Force.",
            "AmbiguousParameter",
            "InvalidArgument",
        ),
        (
            "Get-CsDatabaseMirrorState",
            (),
            {"PoolFqdn": POOL2, "DatabaseType": "Nothing"},
            "Cannot bind parameter 'DatabaseType'. Cannot convert value \"Nothing\" to type "
            '"Microsoft.Rtc.Management.Deployment.DatabaseNameType". Error: "Unable to match the identifier '
            "name Nothing to a valid enumerator name. Specify one of the following enumerator names and try "
            'again:\nApp, Archiving, CMS, Monitoring, Provision, User, CentralMgmt"',
            "CannotConvertArgumentNoMessage",
            "InvalidArgument",
        ),
        (
            "Invoke-CsPoolFailover",
            (),
            {"PoolFqdn": POOL1, "DisasterMode": "yes"},
            "Cannot convert 'System.String' to the type 'System.Management.Automation.SwitchParameter' "
            "required by parameter 'DisasterMode'. ",
            "CannotConvertArgument",
            "InvalidArgument",
        ),
        (
            "Invoke-CsPoolFailover",
            (),
            {"PoolFqdn": None},
            "Cannot bind argument to parameter 'PoolFqdn' because it is null.",
            "ParameterArgumentValidationErrorNullNotAllowed",
            "InvalidData",
        ),
        (
            "Invoke-CsPoolFailover",
            (),
            {"-PoolFqdn": None},
            "Missing an argument for parameter 'PoolFqdn'. Specify a parameter of type 'System.Fqdn' and try "
            "again.",
            "MissingArgument",
            "InvalidArgument",
        ),
        (
            "Invoke-CsPoolFailover",
            (),
            {"PoolFqdn": POOL1, "poolfqdn": POOL1},
            "Cannot bind parameter because parameter 'poolfqdn' is specified more than once. To provide "
            "multiple values to parameters that can accept multiple values, use the array syntax. "
            'For example, "-parameter value1,value2,value3".',
            "ParameterAlreadyBound",
            "InvalidArgument",
        ),
        (
            "Set-CsRegistrarConfiguration",
            (),
            {"Identity": f"Service:Registrar:{POOL1}", "PoolState": "Broken"},
            "Cannot bind parameter 'PoolState'. Cannot convert value \"Broken\" to type "
            '"Microsoft.Rtc.Management.WritableConfig.Settings.Registrar.PoolState". Error: "Unable to match '
            "the identifier name Broken to a valid enumerator name. Specify one of the following enumerator "
            'names and try again:\nActive, FailedOver, FailingOver, FailedBack"',
            "CannotConvertArgumentNoMessage",
            "InvalidArgument",
        ),
        (
            "Get-CsService",
            (),
            {"CentralManagement": True, "EdgeServer": True},
            "Parameter set cannot be resolved using the specified named parameters.",
            "AmbiguousParameterSet",
            "InvalidArgument",
        ),
        (
            "Invoke-CsPoolFailover",
            (),
            {"PoolFqdn": POOL1, "WaitTime": "soon"},
            'Cannot bind parameter \'WaitTime\'. Cannot convert value "soon" to type "System.TimeSpan". '
            'Error: "String was not recognized as a valid TimeSpan."',
            "CannotConvertArgumentNoMessage",
            "InvalidArgument",
        ),
        (
            "Invoke-CsPoolFailover",
            (),
            {"PoolFqdn": POOL1, "SkipDataVerification": True},
            "A parameter cannot be found that matches parameter name 'SkipDataVerification'.",
            "NamedParameterNotFound",
            "InvalidArgument",
        ),
    ],
)
def test_the_binder_refuses_as_powershell_5_1_does(
    lab: Lab,
    cmdlet: str,
    positional: tuple[object, ...],
    parameters: dict[str, object],
    message: str,
    reason: str,
    category: str,
) -> None:
    error = lab.fails(FE_POOL2, cmdlet, *positional, **parameters)

    assert (error.message, error.error_id, error.category) == (message, f"{reason},{cmdlet}", category)


def test_the_binder_accepts_what_the_reference_allows(lab: Lab) -> None:
    edge = Lab("edge-other-site")
    # Set-CsEdgeServer's port parameters and the position of -Identity.
    assert edge.run(FE_POOL2, "Set-CsEdgeServer", "EdgeServer:edge1.contoso.com", AccessEdgeClientSipPort=443)
    assert edge.state_of("edge_next_hops") == {"edge1.contoso.com": POOL1}
    edge.run(FE_POOL2, "Set-CsEdgeServer", "edge1.contoso.com", Registrar=f"Registrar:{POOL2}")
    assert edge.state_of("edge_next_hops") == {"edge1.contoso.com": POOL2}
    # A unique prefix: -W is -WaitTime, the cmdlet's own parameter beating the common -WarningAction and the
    # ShouldProcess -WhatIf; there -W is ambiguous where the cmdlet has no parameter of its own so named.
    whatif = edge.run(
        FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True, W="0:00:05", WhatIf=True
    )
    assert whatif.information == [
        f'What if: Performing the operation "Invoke-CsPoolFailover" on target "{POOL1}".'
    ]
    assert "ambiguous" in edge.fails(FE_POOL2, "Set-CsEdgeServer", "edge1.contoso.com", W=True).message
    # -DatabaseType is an enum: any case, a unique prefix.
    assert edge.run(FE_POOL2, "Get-CsDatabaseMirrorState", PoolFqdn=POOL2, DatabaseType="us").values()
    # A switch given $false, or a number.
    assert lab.run(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL1, LocalStore=1).values()
    with pytest.raises(PowerShellError, match="not available"):
        lab.run(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL1, LocalStore=False)


def test_lync_errors_for_unknown_pools_and_users(lab: Lab) -> None:
    assert lab.fails(
        FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn="pool9.contoso.com", LocalStore=True
    ).message == ('Cannot find pool "pool9.contoso.com" in the topology.')
    three = Lab("cms-elsewhere-healthy")
    assert three.fails(FE_POOL2, "Get-CsPoolBackupRelationship", PoolFqdn=POOL3).message == (
        'Pool "pool3.contoso.com" has no backup pool assigned in the topology.'
    )
    assert three.fails(
        FE_POOL2, "Get-CsDatabaseMirrorState", DatabaseType="CentralMgmt", PoolFqdn=POOL2
    ).message == ('Database "CentralMgmt" is not present on pool "pool2.contoso.com".')
    unknown_user = lab.run(FE_POOL2, "Get-CsUser", Identity="sip:zed@contoso.com")
    assert unknown_user.objects == []
    assert [e.error_id for e in unknown_user.errors] == ["UserNotFound,Get-CsUser"]


def test_pool_failover_checks_where_it_runs_and_disaster_mode(lab: Lab) -> None:
    elsewhere = Lab("cms-elsewhere-healthy")
    wrong = elsewhere.fails(
        "fe01.pool3.contoso.com", "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True
    )
    assert wrong.message == (
        'This cmdlet must be run on a Front End server of pool "pool2.contoso.com", '
        'the backup pool of "pool1.contoso.com".'
    )
    no_disaster = elsewhere.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1)
    assert "Use -DisasterMode" in no_disaster.message


def test_failback_returns_the_users_once_the_pool_is_back() -> None:
    lab = Lab("cms-elsewhere-healthy")
    lab.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    down = lab.fails(FE_POOL2, "Invoke-CsPoolFailback", PoolFqdn=POOL1)
    assert "these servers are not running: fe01.pool1.contoso.com" in down.message
    lab.engine.set_faults({"up": ["fe01.pool1.contoso.com", "fe02.pool1.contoso.com", "sql01.contoso.com"]})
    lab.run(FE_POOL2, "Invoke-CsPoolFailback", PoolFqdn=POOL1)
    assert lab.engine.state()["users"] == {
        "sip:alice@contoso.com": POOL1,
        "sip:bob@contoso.com": POOL1,
        "sip:frank@contoso.com": POOL3,
    }


# --- journal, replication, persistence, faults -------------------------------------------------------


def test_journal_records_every_command_with_its_outcome(lab: Lab) -> None:
    lab.run(FE_POOL2, "Get-CsPool", Identity=POOL2)
    lab.fails(FE_POOL2, "Get-CsPool", Bogus=True)
    entries = lab.engine.journal()
    assert [(e["seq"], e["cmdlet"], e["outcome"]) for e in entries] == [
        (1, "Get-CsPool", "ok"),
        (2, "Get-CsPool", "error"),
    ]
    assert entries[0]["parameters"] == {"Identity": POOL2}
    assert entries[0]["server"] == FE_POOL2 and entries[0]["user"] == ADMIN
    assert entries[0]["started"] == "2026-03-01T08:00:00Z" and entries[0]["ended"] == "2026-03-01T08:00:00Z"
    assert entries[1]["error"] == "A parameter cannot be found that matches parameter name 'Bogus'."
    assert [e["seq"] for e in lab.engine.journal(since=1)] == [2]


def test_replicas_catch_up_after_the_lag_set_by_fault_injection(lab: Lab) -> None:
    lab.engine.set_faults({"replication_lag_seconds": 300})
    lab.run(
        FE_POOL2,
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql03.contoso.com",
        BackupMirrorSqlServerFqdn="sql04.contoso.com",
        Force=True,
    )
    lab.clock.advance(299)
    assert lab.engine.verify()["ok"] is False
    lab.clock.advance(1)
    replicas = {r["fqdn"]: r["up_to_date"] for r in lab.engine.state()["replicas"]}  # type: ignore[attr-defined]
    assert replicas["fe01.pool2.contoso.com"] is True
    assert replicas["fe01.pool1.contoso.com"] is False


def test_save_and_load_resume_the_lab(lab: Lab, tmp_path: Path) -> None:
    lab.run(
        FE_POOL2,
        "Invoke-CsManagementServerFailover",
        BackupSqlServerFqdn="sql03.contoso.com",
        BackupMirrorSqlServerFqdn="sql04.contoso.com",
        Force=True,
    )
    lab.engine.set_faults({"latency": {"invoke-cspoolfailover": 900}, "latency_scale": 0.01})
    path = tmp_path / "lab-state.json"
    lab.engine.save(path)
    resumed = LabEngine.load(path, clock=lab.clock)
    assert resumed.scenario == "cms-2013-primary" and resumed.administrator == ADMIN
    assert resumed.state() == lab.engine.state()
    assert resumed.journal() == lab.engine.journal()
    assert resumed.set_faults({})["latency"] == {"Invoke-CsPoolFailover": 900.0}


@pytest.mark.parametrize(
    ("text", "problem"),
    [("{not json", "Invalid JSON"), ('{"scenario": "cms-2013-primary", "version": 1}', "administrator")],
    ids=["corrupt", "older-format"],
)
def test_a_corrupt_or_older_state_file_is_refused_naming_the_file_and_what_to_do(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "lab-state.json"
    path.write_text(text)

    with pytest.raises(StateFileError) as refused:
        LabEngine.load(path)

    assert str(path) in str(refused.value)
    assert problem in str(refused.value)
    assert "delete it" in str(refused.value)


def test_servers_lists_every_role_and_follows_up_and_down(lab: Lab) -> None:
    servers = {s.fqdn: s for s in lab.engine.servers()}
    assert servers["fe01.pool1.contoso.com"].role == "FrontEnd" and not servers["fe01.pool1.contoso.com"].up
    assert servers["edge01.edge2.contoso.com"].role == "Edge"
    assert servers["sql03.contoso.com"].role == "Sql" and servers["sql03.contoso.com"].site == "Datacenter2"
    lab.engine.set_server_up("fe01.pool1.contoso.com", True)
    assert lab.engine.is_up("fe01.pool1.contoso.com")
    assert lab.engine.pool_versions() == {POOL1: 6, POOL2: 6}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"colour": 1}, 'unknown fault setting "colour"'),
        ({"latency": {"Get-CsNothing": 1}}, '"Get-CsNothing" is not a command this lab answers'),
        ({"latency": {"Get-CsPool": -1}}, "latency of Get-CsPool must be a number of at least 0"),
        ({"transport_fault_rate": {"*": 1.5}}, "must be between 0 and 1.0"),
        (
            {"transport_fault_rate": {"sql03.contoso.com": 0.5}},
            '"sql03.contoso.com" is not a server of this lab',
        ),
        ({"fail_next": {"Get-CsPool": 1.5}}, "must be a whole number"),
        ({"hang": ["Bootstrapper.exe"]}, '"Bootstrapper.exe" is not a command'),
        ({"down": ["nowhere.contoso.com"]}, '"nowhere.contoso.com" is not a server'),
        ({"next_hops": {"edge9.contoso.com": POOL1}}, '"edge9.contoso.com" is not an Edge pool'),
        ({"next_hops": {"edge2.contoso.com": "pool9.contoso.com"}}, "'pool9.contoso.com' is not a Front End"),
        ({"next_hops": {"edge2.contoso.com": "edge2.contoso.com"}}, "'edge2.contoso.com' is not a Front End"),
    ],
)
def test_bad_fault_specs_are_refused_whole(lab: Lab, spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lab.engine.set_faults({"latency_scale": 0.5, **spec})
    assert lab.engine.set_faults({})["latency_scale"] == 1.0
    assert lab.engine.state()["edge_next_hops"] == {"edge2.contoso.com": POOL2}


def test_next_hops_drift_points_an_edge_back_at_the_dead_pool_once() -> None:
    lab = Lab("edge-other-site")
    lab.run(FE_POOL2, "Set-CsEdgeServer", Identity="edge1.contoso.com", Registrar=POOL2)
    before = lab.engine.set_faults({})

    after = lab.engine.set_faults({"next_hops": {"EDGE1.contoso.com": "Pool1.contoso.com"}})

    assert after == before, "a one-shot action, not a setting that stays"
    state = lab.engine.state()
    assert state["edge_next_hops"] == {"edge1.contoso.com": POOL1} and state["publishes"] == 1
    blocked = lab.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert blocked.message == EDGE_ERROR
    assert [e["cmdlet"] for e in lab.engine.journal()] == ["Set-CsEdgeServer", "Invoke-CsPoolFailover"]


def test_fail_next_gives_transient_errors_then_recovers(lab: Lab) -> None:
    settings = lab.engine.set_faults({"fail_next": {"get-cspool": 2}})
    assert settings["fail_next"] == {"Get-CsPool": 2}
    for _ in range(2):
        error = lab.fails(FE_POOL2, "Get-CsPool")
        assert error.error_id == "TransientFault,Get-CsPool"
    assert lab.run(FE_POOL2, "Get-CsPool").values()


def test_whatif_takes_no_time_and_never_hangs_but_fail_next_still_applies(lab: Lab) -> None:
    failover = "Invoke-CsManagementServerFailover"
    lab.engine.set_faults({"hang": [failover], "latency": {failover: 3600}, "fail_next": {failover: 1}})
    output = Capture()
    failures: list[PowerShellError] = []

    def what_if_twice() -> None:
        for _ in range(2):
            try:
                lab.engine.invoke(
                    CallContext(FE_POOL2, ADMIN), [CommandCall(failover, (("WhatIf", True),))], output
                )
            except PowerShellError as error:
                failures.append(error)

    worker = threading.Thread(target=what_if_twice)
    worker.start()
    worker.join(10)
    output.stopping.set()
    worker.join()

    assert [e.error_id for e in failures] == [f"TransientFault,{failover}"]
    assert [e["outcome"] for e in lab.engine.journal()] == ["error", "ok"]
    assert output.information[0].startswith("What if: The Central Management Server is currently hosted")


def stop_while_running(lab: Lab, cmdlet: str) -> PowerShellError:
    """Start the cmdlet on a thread, stop its pipeline once it runs, and return how it ended."""
    output = Capture()
    failures: list[PowerShellError] = []

    def invoke() -> None:
        try:
            lab.engine.invoke(CallContext(FE_POOL2, ADMIN), [CommandCall(cmdlet)], output)
        except PowerShellError as error:
            failures.append(error)

    worker = threading.Thread(target=invoke)
    worker.start()
    wait_until(lambda: any(e["cmdlet"] == cmdlet and e["outcome"] is None for e in lab.engine.journal()))
    assert worker.is_alive()
    output.stopping.set()
    worker.join(10)
    assert not worker.is_alive() and output.objects == []
    return failures[0]


def test_a_hung_or_slow_cmdlet_ends_when_the_pipeline_is_stopped(lab: Lab) -> None:
    lab.engine.set_faults({"hang": ["Get-CsPool"], "latency": {"Get-CsUser": 3600}})
    for cmdlet in ("Get-CsPool", "Get-CsUser"):
        assert stop_while_running(lab, cmdlet).message == "The pipeline has been stopped."
    assert [e["outcome"] for e in lab.engine.journal()] == ["stopped", "stopped"]


def test_transport_faults_follow_the_rate_and_repeat_with_the_scenario_seed() -> None:
    first, second = Lab("cms-2013-primary"), Lab("cms-2013-primary")
    assert not any(first.engine.transport_fault(FE_POOL2) for _ in range(20))
    for lab in (first, second):
        lab.engine.set_faults({"transport_fault_rate": {"*": 0.5, "fe02.pool2.contoso.com": 1}})
    draws = [first.engine.transport_fault(FE_POOL2) for _ in range(40)]
    assert draws == [second.engine.transport_fault(FE_POOL2) for _ in range(40)]
    assert True in draws and False in draws
    assert all(first.engine.transport_fault("fe02.pool2.contoso.com") for _ in range(10))
    assert first.engine.state()["dropped_requests"] == draws.count(True) + 10


# --- what the lead's failback and readiness read; interruptions ------------------------------------------


def test_a_failed_over_pool_can_be_failed_back_and_shows_its_users_and_backup_service() -> None:
    lab = Lab("failback-pool1")
    alice = only(lab.run(FE_POOL2, "Get-CsUserPoolInfo", "sip:alice@contoso.com"))
    assert alice.type_names[0] == "Microsoft.Rtc.Management.Xds.GetOCsUserPoolInfoCmdlet+UserInformation"
    assert {
        k: alice.properties[k] for k in ("PrimaryPoolFqdn", "BackupPoolFqdn", "UserServicesPoolFqdn")
    } == {
        "PrimaryPoolFqdn": POOL1,
        "BackupPoolFqdn": POOL2,
        "UserServicesPoolFqdn": POOL2,
    }
    status = only(lab.run(FE_POOL2, "Get-CsBackupServiceStatus", PoolFqdn=POOL1))
    listed = status.properties["BackupModules"]
    assert isinstance(listed, list)
    modules = {m.properties["Identity"]: m.properties for m in listed if isinstance(m, PSValue)}
    assert modules["ConfServices.DataConf"]["ExportStatus"] == "SteadyState"
    assert modules["CentralMgmt.CMSMaster"]["ExportStatus"] == "NotInitialized"  # pool2 is the CMS master
    lab.engine.set_faults({"backup_service": {POOL1: "ErrorState"}})
    broken = only(lab.run(FE_POOL2, "Get-CsBackupServiceStatus", PoolFqdn=POOL1, Category="UserData"))
    broken_modules = broken.properties["BackupModules"]
    assert isinstance(broken_modules, list)
    assert {
        (m.properties["Identity"], m.properties["ExportStatus"], m.properties["ImportStatus"])
        for m in broken_modules
        if isinstance(m, PSValue)
    } == {
        ("UserServices.PresenceFocus", "ErrorState", "ErrorState"),
        ("ConfServices.DataConf", "ErrorState", "ErrorState"),
    }
    # The backup pool down: failback only with -DisasterMode (its users' data there is lost).
    lab.engine.set_faults({"down": ["fe01.pool2.contoso.com", "fe02.pool2.contoso.com", "sql03.contoso.com"]})
    assert (
        "Use -DisasterMode"
        in lab.fails("fe01.pool1.contoso.com", "Invoke-CsPoolFailback", PoolFqdn=POOL1).message
    )
    lab.engine.set_faults({"up": ["fe01.pool2.contoso.com", "fe02.pool2.contoso.com", "sql03.contoso.com"]})
    lab.run(FE_POOL2, "Invoke-CsPoolFailback", PoolFqdn=POOL1, DisasterMode=True, WaitTime="00:01:30")
    assert lab.engine.verify() == {"ok": True, "differences": []}


def test_a_pool_failover_stopped_midway_leaves_failing_over_until_reset(lab: Lab) -> None:
    healthy = Lab("cms-elsewhere-healthy")
    healthy.engine.set_faults({"latency": {"Invoke-CsPoolFailover": 3600}})
    output = Capture()
    call = CommandCall("Invoke-CsPoolFailover", (("PoolFqdn", POOL1), ("DisasterMode", True)))
    context = CallContext(FE_POOL2, ADMIN, delegated=True)
    failures: list[PowerShellError] = []

    def failover() -> None:
        try:
            healthy.engine.invoke(context, [call], output)
        except PowerShellError as error:
            failures.append(error)

    worker = threading.Thread(target=failover)
    worker.start()
    wait_until(
        lambda: healthy.state_of("pool_states") == {POOL1: "FailingOver", POOL2: "Active", POOL3: "Active"}
    )
    output.stopping.set()
    worker.join(10)

    assert [e.error_id for e in failures] == ["PipelineStopped"]
    assert healthy.state_of("pool_states")[POOL1] == "FailingOver"  # type: ignore[index]
    assert healthy.state_of("users") == {  # the first half moved before the stop
        "sip:alice@contoso.com": POOL2,
        "sip:bob@contoso.com": POOL1,
        "sip:frank@contoso.com": POOL3,
    }
    refused = healthy.fails(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert refused.error_id == "PoolFailingOver,Invoke-CsPoolFailover"
    healthy.engine.set_faults({"latency": {}})
    healthy.run(FE_POOL2, "Set-CsRegistrarConfiguration", f"Service:Registrar:{POOL1}", PoolState="Active")
    healthy.run(FE_POOL2, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
    assert healthy.engine.verify() == {"ok": True, "differences": []}


def test_the_second_hop_and_the_run_locally_rule_follow_the_logon(lab: Lab) -> None:
    ntlm = CallContext(FE_POOL2, ADMIN)
    output = Capture()
    mirror = CommandCall("Get-CsDatabaseMirrorState", (("PoolFqdn", POOL2), ("LocalStore", True)))
    with pytest.raises(PowerShellError) as caught:
        lab.engine.invoke(ntlm, [mirror], output)
    assert caught.value.message == (
        'Cannot open a connection to SQL Server "sql03.contoso.com\\rtc": '
        "Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'."
    )
    assert caught.value.error_id == "SqlLoginFailed,Get-CsDatabaseMirrorState"
    # Reads that stay on the Front End need no second hop.
    lab.engine.invoke(ntlm, [CommandCall("Get-CsPool", ())], output)
    assert output.values()
