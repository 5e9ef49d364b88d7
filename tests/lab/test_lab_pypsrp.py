"""The running lab as an unmodified pypsrp client sees it: every cmdlet of docs/lab-scenarios.md, the seed's
procedure step by step, errors, transports, concurrency, long cmdlets and the faults a rehearsal injects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest
import requests
from pypsrp.client import Client
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lab.api import CallContext, CommandCall
from tests.fixtures_lab import RunningLab
from tests.lab.test_engine import BOOTSTRAPPER_2013, Capture

LabFactory = Callable[..., RunningLab]
POOL1, POOL2 = "pool1.contoso.com", "pool2.contoso.com"
FE01, FE02, FE03 = (f"fe0{n}.pool2.contoso.com" for n in (1, 2, 3))
SQL03 = "sql03.contoso.com"
XDS = "Microsoft.Rtc.Management.Xds."
HADR = "Microsoft.Rtc.Management.Hadr."
EDGE_NEXT_HOP_ERROR = (
    'This Front-end pool "pool1.contoso.com" is specified in\n'
    "topology as the next hop for the Edge server. Failing over this pool may cause External\n"
    "access/Federation/Split-domain/XMPP features to stop working. Please use Topology Builder to\n"
    "change the Edge internal next hop setting to point to a different Front-end pool,  before you\n"
    "proceed."
)


# --- the client ------------------------------------------------------------------------------------------


def wsman_to(lab: RunningLab, fqdn: str, **options: Any) -> WSMan:
    """A pypsrp WSMan to one server of the lab as its administrator, the way the lab serves it.

    HTTPS verifies the lab's certificate authority; HTTP uses CredSSP (which the cmdlets that reach SQL
    Server need: the second hop) with WinRM message encryption.
    """
    url = urlsplit(lab.server.endpoints[fqdn].url)
    options.setdefault("password", lab.server.password)
    if lab.server.tls is not None:
        options.setdefault("cert_validation", str(lab.server.tls.ca_path))
        options.setdefault("auth", "basic")
    else:
        options.setdefault("auth", "ntlm" if lab.server.options.auth == "ntlm" else "credssp")
        options.setdefault("encryption", "always")
    return WSMan(
        "127.0.0.1",
        port=url.port,
        path="wsman",
        ssl=url.scheme == "https",
        username=lab.engine.administrator,
        **options,
    )


@contextmanager
def runspace(lab: RunningLab, fqdn: str = FE01, **options: Any) -> Iterator[RunspacePool]:
    """An open RunspacePool on ``fqdn`` (a Front End of pool2 unless told)."""
    with RunspacePool(wsman_to(lab, fqdn, **options)) as pool:
        yield pool


def run(
    pool: RunspacePool, cmdlet: str, *positional: object, **parameters: object
) -> tuple[list[Any], PowerShell]:
    """Run one cmdlet; ``True`` sends a bare switch (``-Force``), as a script would write it."""
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for argument in positional:
        ps.add_argument(argument)
    for name, value in parameters.items():
        if value is True:
            ps.add_parameter(name)
        else:
            ps.add_parameter(name, value)
    return ps.invoke(), ps


def one(pool: RunspacePool, cmdlet: str, **parameters: object) -> Any:
    """The single object a cmdlet returns, asserting it succeeded."""
    output, ps = run(pool, cmdlet, **parameters)
    assert not ps.had_errors, [str(e) for e in ps.streams.error]
    assert len(output) == 1, output
    return output[0]


def failure(pool: RunspacePool, cmdlet: str, *positional: object, **parameters: object) -> Any:
    """The error record of a cmdlet that must terminate (pipeline Failed, no output)."""
    output, ps = run(pool, cmdlet, *positional, **parameters)
    assert ps.state == PSInvocationState.FAILED and ps.had_errors
    assert output == []
    return ps.streams.error[-1]


def post_faults(lab: RunningLab, spec: dict[str, object]) -> dict[str, Any]:
    """POST /faults on the lab's control API."""
    request = Request(f"{lab.control_url}/faults", data=json.dumps(spec).encode(), method="POST")
    with urlopen(request, timeout=10) as reply:
        answer: dict[str, Any] = json.loads(reply.read())
    return answer


@pytest.fixture
def lab(lab_factory: LabFactory) -> RunningLab:
    """The seed's main scenario served over HTTPS with Basic authentication."""
    return lab_factory("cms-2013-primary", transport="https", auth="basic")


# --- the seed's procedure, step by step ------------------------------------------------------------------


def test_seed_procedure_on_cms_2013_primary_ends_verified(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        _output, whatif = run(pool, "Invoke-CsManagementServerFailover", WhatIf=True)
        assert [line.message_data for line in whatif.streams.information] == [
            'What if: The Central Management Server is currently hosted on pool "pool1.contoso.com".',
            'What if: Performing the operation "Invoke-CsManagementServerFailover" '
            'on target "pool1.contoso.com".',
        ]
        services, _ps = run(pool, "Get-CsService", CentralManagement=True)
        assert [cms.types for cms in services] == [
            [XDS + "DisplayCentralManagementService", "System.Object"]
        ] * 2
        # One CMS service per pool that holds a CMS database; the active one is pool1's, down as it is.
        assert [cms.extended_properties for cms in services] == [
            {
                "Identity": f"CentralManagement:{POOL1}",
                "PoolFqdn": POOL1,
                "SiteId": "Site:Datacenter1",
                "Version": 6,
                "Active": True,
            },
            {
                "Identity": f"CentralManagement:{POOL2}",
                "PoolFqdn": POOL2,
                "SiteId": "Site:Datacenter2",
                "Version": 6,
                "Active": False,
            },
        ]
        store_down = failure(pool, "Get-CsPoolBackupRelationship", PoolFQDN=POOL1)
        assert str(store_down).startswith("Cannot connect to the Central Management store")
        backup = one(pool, "Get-CsPoolBackupRelationship", PoolFQDN=POOL1, LocalStore=True)
        assert backup.types[0] == HADR + "BackupService.BackupRelation"
        assert backup.extended_properties == {"PoolFqdn": POOL1, "BackupPoolFqdn": POOL2}
        status = one(pool, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
        assert status.types[0] == XDS + "CentralManagementStoreStatusResult"
        assert (
            status.extended_properties["ActiveMasterFqdn"],
            status.extended_properties["ActiveFileTransferAgents"],
        ) == ("", [])
        mirror_state, _ps = run(
            pool, "Get-CsDatabaseMirrorState", DatabaseType="Centralmgmt", PoolFqdn=POOL2, LocalStore=True
        )
        assert [m.types[0] for m in mirror_state] == [
            "Microsoft.Rtc.Management.Deployment.DatabaseMirrorState"
        ] * 2
        assert [
            (m.extended_properties["DatabaseName"], m.extended_properties["StateOnPrimary"])
            for m in mirror_state
        ] == [
            ("xds", "Principal"),
            ("lis", "Principal"),
        ]

        documented = {
            "BackupSQLServerFqdn": SQL03,
            "BackupSQLInstanceName": "rtc",
            "BackupMirrorSqlServerFqdn": "sql04.contoso.com",
            "BackupMirrorSqlInstanceName": "rtc",
        }
        without_force = failure(pool, "Invoke-CsManagementServerFailover", **documented)
        assert str(without_force) == (
            "Cannot process command because of one or more missing mandatory parameters: Force."
        )
        done, ps = run(pool, "Invoke-CsManagementServerFailover", **documented, Force=True)
        assert (done, ps.had_errors) == ([], False)
        status = one(pool, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
        assert status.extended_properties["ActiveMasterFqdn"] == POOL2
        assert status.extended_properties["ActiveFileTransferAgents"] == [POOL2]

        early = failure(pool, "Invoke-CsPoolFailover", PoolFQDN=POOL1, DisasterMode=True)
        assert "not yet fully failed over" in str(early)
        lab.engine.set_faults({"replication_lag_seconds": 0})
        replicas, _ps = run(pool, "Get-CsManagementStoreReplicationStatus")
        assert {r.types[0] for r in replicas} == {XDS + "ReplicaState"}
        assert {
            r.extended_properties["ReplicaFqdn"] for r in replicas if r.extended_properties["UpToDate"]
        } == {
            FE01,
            FE02,
            FE03,
            "edge01.edge2.contoso.com",
        }

        failed_over, ps = run(pool, "Invoke-CsPoolFailover", PoolFQDN=POOL1, DisasterMode=True, Verbose=True)
        assert (failed_over, ps.had_errors) == ([], False)
        assert ps.streams.verbose
        registrar = one(pool, "Get-CsRegistrarConfiguration", Identity=f"Service:Registrar:{POOL1}")
        assert registrar.extended_properties["PoolState"] == "FailedOver"

    assert lab.engine.verify() == {"ok": True, "differences": []}


def test_edge_next_hop_error_verbatim_then_the_other_site_procedure_and_failback(
    lab_factory: LabFactory,
) -> None:
    lab = lab_factory("edge-other-site", transport="https", auth="basic")
    with runspace(lab) as pool:
        blocked = failure(pool, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
        assert str(blocked) == EDGE_NEXT_HOP_ERROR
        assert blocked.fq_error == "EdgeNextHop,Invoke-CsPoolFailover"

        moved, ps = run(
            pool, "Set-CsEdgeServer", Identity="EdgeServer:edge1.contoso.com", Registrar=f"Registrar:{POOL2}"
        )
        assert (moved, ps.had_errors) == ([], False)
        published, ps = run(pool, "Enable-CsTopology")
        assert (published, ps.had_errors) == ([], False)
        edge = one(pool, "Get-CsService", EdgeServer=True)
        assert edge.types[0] == XDS + "DisplayEdgeServer"
        assert edge.extended_properties["Registrar"] == f"Registrar:{POOL2}"
        _output, ps = run(pool, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
        assert not ps.had_errors
        assert lab.engine.verify()["ok"] is True

        down = failure(pool, "Invoke-CsPoolFailback", PoolFqdn=POOL1)
        assert str(down).startswith(
            'Unable to fail back pool "pool1.contoso.com": these servers are not running:'
        )
        post_faults(lab, {"up": ["fe01.pool1.contoso.com", "fe02.pool1.contoso.com", "sql01.contoso.com"]})
        back, ps = run(pool, "Invoke-CsPoolFailback", PoolFqdn=POOL1)
        assert (back, ps.had_errors) == ([], False)
        registrar = one(pool, "Get-CsRegistrarConfiguration", Identity=f"Service:Registrar:{POOL1}")
        assert registrar.extended_properties["PoolState"] == "FailedBack"


def test_cms_2010_move_with_bootstrapper_through_the_cmd_shell(lab_factory: LabFactory) -> None:
    lab = lab_factory("cms-2010", transport="https", auth="basic")
    with runspace(lab) as pool:
        exists, _ps = run(pool, "Test-Path", "c:\\CsConfigurationFile.zip")
        missing, _ps = run(pool, "Test-Path", Path="c:\\nothing.zip")
        assert (exists, missing) == ([True], [False])
        installed, ps = run(
            pool,
            "Install-CsDatabase",
            CentralManagementDatabase=True,
            Clean=True,
            SqlServerFqdn=SQL03,
            SqlInstanceName="rtc",
            Verbose=True,
        )
        assert (installed, ps.had_errors) == ([], False)
        assert ps.streams.verbose
        exports = {
            "ConfigurationFileName": "c:\\CsConfigurationFile.zip",
            "LisConfigurationFileName": "c:\\CsLisConfigurationFile.zip",
        }
        remote = failure(pool, "Move-CsManagementServer", **exports, Force=True)
        assert str(remote).startswith("The Move-CsManagementServer cmdlet must be run locally")
    # At the server's console (what the runner's one-shot scheduled task gives: tests/worker).
    output = Capture()
    console = CallContext(FE01, lab.engine.administrator, delegated=True, local=True)
    call = CommandCall("Move-CsManagementServer", (*exports.items(), ("Force", True)))
    lab.engine.invoke(console, [call], output)
    assert output.objects == [
        'The Central Management store is now hosted on pool "pool2.contoso.com". '
        "Local setup (Bootstrapper.exe /Setup) must be run on these computers:",
        FE02,
        FE03,
    ]

    for fqdn in (FE02, FE03):
        client = Client(
            "127.0.0.1",
            port=urlsplit(lab.server.endpoints[fqdn].url).port,
            username=lab.engine.administrator,
            password=lab.server.password,
            auth="basic",
            cert_validation=str(lab.server.tls.ca_path) if lab.server.tls else True,
        )
        stdout, _stderr, rc = client.execute_cmd(f'"{BOOTSTRAPPER_2013}" /Setup')
        assert rc == 0 and stdout
    _stdout, usage, rc = client.execute_cmd("Bootstrapper.exe /Frobnicate")
    assert rc == 1 and usage

    lab.engine.set_faults({"replication_lag_seconds": 0})
    with runspace(lab) as pool:
        _output, ps = run(pool, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
        assert not ps.had_errors
    assert lab.engine.verify() == {"ok": True, "differences": []}


# --- what every read cmdlet answers ----------------------------------------------------------------------

READS: list[tuple[str, dict[str, object], str, list[str]]] = [
    (
        "Get-CsPool",
        {"Identity": POOL2},
        "Microsoft.Rtc.Management.Deploy.Internal.Cluster",
        ["Identity", "Fqdn", "Site", "Computers", "Services"],
    ),
    (
        "Get-CsService",
        {"Registrar": True, "PoolFqdn": POOL2},
        XDS + "DisplayRegistrar",
        ["Identity", "PoolFqdn", "SiteId", "Version", "BackupPoolFqdn"],
    ),
    (
        "Get-CsService",
        {"UserDatabase": True, "PoolFqdn": SQL03},
        XDS + "DisplayUserDatabase",
        [
            "Identity",
            "PoolFqdn",
            "SqlInstanceName",
            "MirrorSqlServerFqdn",
            "MirrorSqlInstanceName",
            "DependentServiceList",
        ],
    ),
    (
        "Get-CsService",
        {"EdgeServer": True},
        XDS + "DisplayEdgeServer",
        ["Identity", "PoolFqdn", "SiteId", "Registrar"],
    ),
    (
        "Get-CsUser",
        {"Identity": "sip:alice@contoso.com"},
        "Microsoft.Rtc.Management.ADConnect.Schema.ADUser",
        ["Identity", "DisplayName", "SipAddress", "RegistrarPool", "Enabled"],
    ),
    (
        "Get-CsRegistrarConfiguration",
        {"Identity": f"Service:Registrar:{POOL2}", "LocalStore": True},
        "Microsoft.Rtc.Management.WritableConfig.Settings.Registrar.RegistrarSettings",
        ["Identity", "PoolState"],
    ),
]


def test_read_cmdlets_answer_with_the_products_type_names_and_properties(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        for cmdlet, parameters, type_name, properties in READS:
            answer = one(pool, cmdlet, **parameters)
            assert answer.types == [type_name, "System.Object"], cmdlet
            assert list(answer.extended_properties) == properties, cmdlet
        user = one(pool, "Get-CsUser", Identity="sip:alice@contoso.com")
        assert user.extended_properties["RegistrarPool"] == POOL1
        pools, _ps = run(pool, "Get-CsPool")
        assert [p.extended_properties["Fqdn"] for p in pools] == [POOL1, POOL2, "edge2.contoso.com"]
        imported, ps = run(pool, "Import-Module", Name="Lync")
        assert (imported, ps.had_errors) == ([], False)
        assert failure(pool, "Import-Module", Name="NoSuchModule")


def test_whatif_prints_what_would_happen_and_changes_nothing(lab_factory: LabFactory) -> None:
    lab = lab_factory("cms-elsewhere-healthy", transport="https", auth="basic")
    with runspace(lab) as pool:
        output, ps = run(pool, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True, WhatIf=True)
    assert (output, ps.had_errors) == ([], False)
    assert [line.message_data for line in ps.streams.information] == [
        'What if: Performing the operation "Invoke-CsPoolFailover" on target "pool1.contoso.com".'
    ]
    assert lab.engine.state()["pool_states"] == {
        POOL1: "Active",
        POOL2: "Active",
        "pool3.contoso.com": "Active",
    }
    assert lab.engine.verify()["ok"] is False


# --- errors ----------------------------------------------------------------------------------------------
def test_an_unknown_user_is_a_non_terminating_error(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        output, ps = run(pool, "Get-CsUser", Identity="sip:nobody@contoso.com")
        after = one(pool, "Get-CsUser", Identity="sip:alice@contoso.com")
    assert (output, ps.had_errors, ps.state) == ([], False, PSInvocationState.COMPLETED)
    assert [str(record) for record in ps.streams.error] == [
        'Management object not found for identity "sip:nobody@contoso.com".'
    ]
    assert ps.streams.error[0].fq_error == "UserNotFound,Get-CsUser"
    assert after.extended_properties["SipAddress"] == "sip:alice@contoso.com"


def test_error_action_stop_makes_the_error_terminating(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        record = failure(pool, "Get-CsUser", Identity="sip:nobody@contoso.com", ErrorAction="Stop")
    assert str(record) == 'Management object not found for identity "sip:nobody@contoso.com".'
    assert record.fq_error == "UserNotFound,Get-CsUser"
    assert lab.engine.journal()[-1]["outcome"] == "error"


@pytest.mark.parametrize("action", ["SilentlyContinue", "Ignore"])
def test_error_action_silently_continue_or_ignore_writes_no_error(lab: RunningLab, action: str) -> None:
    with runspace(lab) as pool:
        output, ps = run(pool, "Get-CsUser", Identity="sip:nobody@contoso.com", ErrorAction=action)
    assert (output, ps.had_errors, ps.state, ps.streams.error) == ([], False, PSInvocationState.COMPLETED, [])
    entry = lab.engine.journal()[-1]
    assert entry["outcome"] == "ok" and entry["error"] is None
    assert entry["note"] == (
        f'-ErrorAction {action} hid: Management object not found for identity "sip:nobody@contoso.com".'
    )


def test_the_seeds_mirror_parameter_names_are_rejected_as_powershell_does(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        record = failure(
            pool,
            "Invoke-CSManagementServerFailover",
            MirrorSQLServerFqdn="sql04.contoso.com",
            MirrorSQLInstanceName="rtc",
        )
    assert str(record) == "A parameter cannot be found that matches parameter name 'MirrorSQLServerFqdn'."
    assert record.fq_error == "NamedParameterNotFound,Invoke-CsManagementServerFailover"
    assert record.message.startswith("InvalidArgument")


def test_a_missing_mandatory_parameter_terminates(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        record = failure(pool, "Get-CsPoolBackupRelationship")
    assert (
        str(record) == "Cannot process command because of one or more missing mandatory parameters: PoolFqdn."
    )
    assert record.fq_error == "MissingMandatoryParameter,Get-CsPoolBackupRelationship"


def test_an_unknown_cmdlet_is_not_recognized(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        record = failure(pool, "Get-CsNothing")
        after = one(pool, "Get-CsPool", Identity=POOL2)
    assert str(record).startswith(
        "The term 'Get-CsNothing' is not recognized as the name of a cmdlet, function, script file, "
        "or operable program."
    )
    assert record.fq_error == "CommandNotFoundException"
    assert after.extended_properties["Fqdn"] == POOL2


def test_a_lync_error_terminates_with_its_id(lab: RunningLab) -> None:
    with runspace(lab) as pool:
        record = failure(pool, "Get-CsPoolBackupRelationship", PoolFqdn="pool9.contoso.com", LocalStore=True)
    assert str(record) == 'Cannot find pool "pool9.contoso.com" in the topology.'
    assert record.fq_error.endswith(",Get-CsPoolBackupRelationship")


# --- transports and authentication ----------------------------------------------------------------------


def test_ntlm_with_message_encryption_over_http(lab_factory: LabFactory) -> None:
    lab = lab_factory("cms-2013-primary", transport="http", auth="ntlm")
    assert lab.server.endpoints[FE01].url.startswith("http://")
    with runspace(lab) as pool:
        answer = one(pool, "Get-CsPool", Identity=POOL2)
    assert answer.extended_properties["Computers"] == [FE01, FE02, FE03]
    assert str(lab.engine.journal()[-1]["user"]).lower() == lab.engine.administrator.lower()


def test_the_ntlm_user_file_is_in_the_labs_directory_and_holds_no_password_after_a_logon(
    lab_factory: LabFactory,
) -> None:
    lab = lab_factory("cms-2013-primary", transport="http", auth="ntlm")
    with runspace(lab) as pool:
        assert one(pool, "Get-CsPool", Identity=POOL2)
        user_files = list(lab.server.directory.glob("lab-ntlm-*.users"))

        assert len(user_files) == len(lab.server.endpoints)
        assert all(lab.server.password not in f.read_text() for f in user_files)
    lab.server.stop()
    assert not list(lab.server.directory.glob("lab-ntlm-*.users"))


@pytest.mark.parametrize(("transport", "auth"), [("https", "basic"), ("http", "ntlm")])
def test_a_wrong_password_is_an_authentication_error(
    lab_factory: LabFactory, transport: str, auth: str
) -> None:
    lab = lab_factory("cms-2013-primary", transport=transport, auth=auth)
    with pytest.raises(AuthenticationError), runspace(lab, password="not-the-password"):
        pass
    assert lab.engine.journal() == []


def test_eight_clients_at_once_each_get_their_own_answers(lab: RunningLab) -> None:
    servers = [FE01, FE02, FE03, "edge01.edge2.contoso.com"] * 2
    users = [
        "sip:alice@contoso.com",
        "sip:bob@contoso.com",
        "sip:carol@contoso.com",
        "sip:dave@contoso.com",
    ] * 2

    def client(index: int) -> tuple[str, str]:
        with runspace(lab, servers[index]) as pool:
            user = one(pool, "Get-CsUser", Identity=users[index])
            backup = one(pool, "Get-CsPoolBackupRelationship", PoolFqdn=POOL2, LocalStore=True)
        return user.extended_properties["SipAddress"], backup.extended_properties["BackupPoolFqdn"]

    with ThreadPoolExecutor(max_workers=8) as executor:
        answers = list(executor.map(client, range(8)))

    assert answers == [(user, POOL1) for user in users]
    journal = lab.engine.journal()
    assert len(journal) == 16 and all(entry["outcome"] == "ok" for entry in journal)
    assert sorted({str(entry["server"]) for entry in journal}) == sorted(set(servers))


def test_a_cmdlet_longer_than_the_operation_timeout_completes_with_its_objects(lab: RunningLab) -> None:
    lab.engine.set_faults({"latency": {"Get-CsPool": 3}, "latency_scale": 1})
    with runspace(lab, operation_timeout=1, read_timeout=5) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-CsPool")
        ps.begin_invoke()
        ps.poll_invoke()
        assert ps.state == PSInvocationState.RUNNING  # the receive timed out while the cmdlet still ran
        pools = ps.end_invoke()
    assert not ps.had_errors
    assert [p.extended_properties["Fqdn"] for p in pools] == [POOL1, POOL2, "edge2.contoso.com"]


# --- faults ----------------------------------------------------------------------------------------------


def test_a_server_taken_down_refuses_connections_until_it_is_up_again(lab: RunningLab) -> None:
    assert post_faults(lab, {"down": [FE02]})["down"] == sorted(
        [
            "fe01.pool1.contoso.com",
            "fe02.pool1.contoso.com",
            "fe03.pool1.contoso.com",
            FE02,
            "sql01.contoso.com",
            "sql02.contoso.com",
        ]
    )
    with pytest.raises(requests.exceptions.ConnectionError), runspace(lab, FE02):
        pass
    with runspace(lab, FE01) as pool:
        replicas, _ps = run(pool, "Get-CsPool", Identity=POOL2)
    assert replicas

    post_faults(lab, {"up": [FE02]})
    with runspace(lab, FE02) as pool:
        assert one(pool, "Get-CsPool", Identity=POOL2).extended_properties["Fqdn"] == POOL2


@pytest.mark.parametrize("options", [{"transport": "https", "auth": "basic"}, {}], ids=["https", "http"])
def test_a_server_taken_down_drops_the_connections_already_open(
    lab_factory: LabFactory, options: dict[str, str]
) -> None:
    lab = lab_factory("cms-2013-primary", **options)
    pool = RunspacePool(wsman_to(lab, FE02))
    pool.open()
    try:
        assert one(pool, "Get-CsPool", Identity=POOL2)
        post_faults(lab, {"down": [FE02]})
        with pytest.raises(requests.exceptions.ConnectionError):
            run(pool, "Get-CsPool", Identity=POOL2)
    finally:
        pool.connection.close()


def test_a_transport_fault_rate_of_one_drops_every_request(lab: RunningLab) -> None:
    post_faults(lab, {"transport_fault_rate": {FE03: 1.0}})
    with pytest.raises(requests.exceptions.ConnectionError), runspace(lab, FE03):
        pass
    with runspace(lab, FE01) as pool:
        assert one(pool, "Get-CsPool", Identity=POOL2)


def test_fail_next_fails_once_with_a_transient_error_then_succeeds(lab: RunningLab) -> None:
    post_faults(lab, {"fail_next": {"get-cspool": 1}})
    with runspace(lab) as pool:
        record = failure(pool, "Get-CsPool", Identity=POOL2)
        again = one(pool, "Get-CsPool", Identity=POOL2)
    assert str(record) == "The RPC server is unavailable. (Exception from HRESULT: 0x800706BA)"
    assert record.fq_error == "TransientFault,Get-CsPool"
    assert again.extended_properties["Fqdn"] == POOL2


def test_get_cs_windows_service_and_the_lync_2010_shell_through_pypsrp(lab_factory: LabFactory) -> None:
    lab = lab_factory("cms-2010", transport="https", auth="basic")
    with runspace(lab) as pool:
        services, ps = run(pool, "Get-CsWindowsService")
        missing, missing_ps = run(pool, "Get-CsWindowsService", Name="RTCMASTER")
    with runspace(lab, "fe01.pool0.contoso.com") as pool:
        unknown = failure(pool, "Invoke-CsPoolFailover", PoolFqdn=POOL1, DisasterMode=True)
        master = one(pool, "Get-CsWindowsService", Name="RTCMASTER")

    assert not ps.had_errors
    assert [s.extended_properties["Name"] for s in services] == ["RTCSRV", "RTCCMSAGT"]
    assert services[0].types == ["Microsoft.Rtc.Management.Deployment.Core.NTService", "System.Object"]
    assert list(services[0].extended_properties) == ["Name", "DisplayName", "RoleName", "Status"]
    assert (missing, missing_ps.state) == ([], PSInvocationState.COMPLETED)
    assert [str(e) for e in missing_ps.streams.error] == [
        f'Cannot find any service with service name "RTCMASTER" on "{FE01}".'
    ]
    assert unknown.fq_error == "CommandNotFoundException"
    assert str(unknown).startswith("The term 'Invoke-CsPoolFailover' is not recognized")
    assert (master.extended_properties["Name"], master.extended_properties["Status"]) == (
        "RTCMASTER",
        "Stopped",
    )
