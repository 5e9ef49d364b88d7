"""The built-in plugins' plans over hand-written facts: which steps, which servers, which parameters."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pluggy
import pytest

from plugins.decisions import default_decision
from plugins.kit.errors import PreconditionError
from plugins.kit.model import Context, Facts, PoolInfo, StepCall, Topology
from plugins.kit.requests import Request
from plugins.kit.shell import AuthenticationError, CmdletError, CommandTimeout, TransportError
from plugins.kit.versions import VERSIONS
from plugins.manager import PluginLoadError, build_plugin_manager
from plugins.planning import build_plan, plan_phase

POOL1, POOL2, POOL3 = "pool1.contoso.com", "pool2.contoso.com", "pool3.contoso.com"
FE1, FE2 = "fe01.pool2.contoso.com", "fe01.pool3.contoso.com"
NEXT_HOP_ERROR = (
    'This Front-end pool "pool1.contoso.com" is specified in topology as the next hop for the Edge server. '
    "Failing over this pool may cause External access/Federation/Split-domain/XMPP features to stop working."
)


def topology(with_pool3: bool = True) -> Topology:
    pools = [
        PoolInfo(fqdn=POOL1, site="Datacenter1", role="FrontEnd", servers=["fe01.pool1.contoso.com"]),
        PoolInfo(
            fqdn=POOL2,
            site="Datacenter2",
            role="FrontEnd",
            servers=["fe01.pool2.contoso.com", "fe02.pool2.contoso.com", "fe03.pool2.contoso.com"],
        ),
        PoolInfo(
            fqdn="edge1.contoso.com", site="Datacenter1", role="Edge", servers=["edge01.edge1.contoso.com"]
        ),
    ]
    if with_pool3:
        pools.append(PoolInfo(fqdn=POOL3, site="Datacenter1", role="FrontEnd", servers=[FE2]))
    return Topology(pools=pools)


def context(facts: dict[str, Any] | None = None, target: str | None = None, **options: Any) -> Context:
    return Context(
        run_id="run-1",
        request=Request(pool=POOL1, target=target),
        topology=topology(**options),
        facts=Facts.model_validate(facts or {}),
    )


CMS_ON_FAILED_POOL: dict[str, Any] = {
    "backup_pool": POOL2,
    "cms_pool": POOL1,
    "cms_version": 6,
    "cms_backup_pool": POOL2,
    "cms_backend": {
        "primary_server": "sql03.contoso.com",
        "primary_instance": "rtc",
        "mirror_server": "sql04.contoso.com",
        "mirror_instance": "rtc",
        "principal": "primary",
    },
}
HEALTHY_CMS: dict[str, Any] = {
    "backup_pool": POOL2,
    "cms_pool": POOL3,
    "cms_version": 6,
    "active_master": POOL3,
    "active_file_transfer_agents": [POOL3],
}


def steps(pm: pluggy.PluginManager, ctx: Context) -> list[tuple[str, str]]:
    return [(call.step, call.server) for call in build_plan(pm, ctx).steps]


def commands(call: StepCall) -> list[str]:
    """The call's planned commands as ``purpose: Cmdlet -Param value`` lines."""
    return [f"{c.purpose}: {c.line}" for c in call.commands]


#: After an error of its action, a step re-reads the store's status (what it depends on).
RECHECK_STORE = "recheck: Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus"
POOL_FAILOVER = [
    f"check: Get-CsRegistrarConfiguration -Identity Service:Registrar:{POOL1}",
    f"act: Invoke-CsPoolFailover -PoolFqdn {POOL1} -DisasterMode -Verbose",
    RECHECK_STORE,
    "recheck: Get-CsManagementStoreReplicationStatus",
    "recheck: Get-CsService -EdgeServer",
]
VERIFY_USERS = [f"read: Get-CsRegistrarConfiguration -Identity Service:Registrar:{POOL1}"]
VALIDATION = [
    "read: Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus",
    "read: Get-CsManagementStoreReplicationStatus",
]


def test_locate_asks_the_requested_target_else_the_first_surviving_front_end_pool(
    pm: pluggy.PluginManager,
) -> None:
    assert [c.server for c in plan_phase(pm, "locate", context(target=POOL3))] == [FE2]
    assert [c.server for c in plan_phase(pm, "locate", context())] == [FE1]


def test_locate_prefers_a_pool_at_another_site_than_the_failed_pool(pm: pluggy.PluginManager) -> None:
    # pool0 (Datacenter1, listed first) went down with pool1's site; pool2 in Datacenter2 answers.
    pool0 = PoolInfo(fqdn="pool0.contoso.com", site="Datacenter1", role="FrontEnd", servers=["fe01.pool0"])
    ctx = context().model_copy(update={"topology": Topology(pools=[pool0, *topology().pools])})
    assert [c.server for c in plan_phase(pm, "locate", ctx)] == [FE1]


def test_discovery_lists_the_reads_it_sends(pm: pluggy.PluginManager) -> None:
    (locate,) = plan_phase(pm, "locate", context())
    assert commands(locate) == [f"read: Get-CsPoolBackupRelationship -PoolFqdn {POOL1} -LocalStore"]
    discover = plan_phase(pm, "discover", context({"backup_pool": POOL2}))
    assert {call.step: commands(call) for call in discover} == {
        "discovery.locate_cms": [
            "read: Invoke-CsManagementServerFailover -WhatIf",
            "read: Get-CsService -CentralManagement",
            "read: Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus",
        ],
        "discovery.check_cms_status": VALIDATION,
        # Its -PoolFqdn is the CMS pool found in the same round, so it is made at run time.
        "discovery.find_cms_backup_pool": [],
        "edge.find_edges_at_risk": ["read: Get-CsService -EdgeServer"],
        # -Filter is one string parameter (an OPATH filter the cmdlet evaluates), never script text.
        "users.sample": [f"""read: Get-CsUser -Filter 'RegistrarPool -eq "{POOL1}"' -ResultSize 10"""],
    }
    inspect = plan_phase(pm, "inspect", context(CMS_ON_FAILED_POOL))
    assert [commands(call) for call in inspect] == [
        ["read: Get-CsService -UserDatabase"],
        [f"read: Get-CsDatabaseMirrorState -DatabaseType CentralMgmt -PoolFqdn {POOL2} -LocalStore"],
    ]


def test_a_front_end_falls_back_to_the_next_ones_of_its_pool_only() -> None:
    pool2 = topology()
    assert pool2.other_front_ends("fe02.pool2.contoso.com") == ["fe03.pool2.contoso.com", FE1]
    assert pool2.other_front_ends("fe01.pool1.contoso.com") == []
    assert pool2.other_front_ends("edge01.edge1.contoso.com") == []


def test_cms_on_failed_2013_pool_fails_over_to_the_primary_principal_first(pm: pluggy.PluginManager) -> None:
    plan = build_plan(pm, context(CMS_ON_FAILED_POOL))
    assert steps(pm, context(CMS_ON_FAILED_POOL)) == [
        ("cms2013.fail_over_cms", FE1),
        ("cms.validate", FE1),
        ("cms.wait_for_replicas", FE1),
        ("pool.fail_over", FE1),
        ("pool.verify_users_serviced", FE1),
    ]
    assert [line for call in plan.steps for line in commands(call)] == [
        "check: Get-CsService -CentralManagement",
        "act: Invoke-CsManagementServerFailover -BackupSqlServerFqdn sql03.contoso.com "
        "-BackupSqlInstanceName rtc -BackupMirrorSqlServerFqdn sql04.contoso.com "
        "-BackupMirrorSqlInstanceName rtc -Force",
        RECHECK_STORE,
        *VALIDATION,
        *POOL_FAILOVER,
        *VERIFY_USERS,
    ]


def test_a_mirror_principal_changes_nothing_in_the_documented_form(pm: pluggy.PluginManager) -> None:
    facts = {
        **CMS_ON_FAILED_POOL,
        "cms_backend": {**CMS_ON_FAILED_POOL["cms_backend"], "principal": "mirror"},
    }
    (failover,) = build_plan(pm, context(facts)).steps[0].commands_for("act")
    # "You can only invoke the failover to the database defined in the Topology Builder": its primary, with
    # its mirror added; the cmdlet reaches whichever partner is principal.
    assert failover.parameters["BackupSqlServerFqdn"] == "sql03.contoso.com"
    assert failover.parameters["BackupMirrorSqlServerFqdn"] == "sql04.contoso.com"
    assert "MirrorSqlServerFqdn" not in failover.parameters  # the seed's name, which PowerShell rejects


def test_an_unmirrored_backup_database_fails_over_without_mirror_parameters(pm: pluggy.PluginManager) -> None:
    backend = {"primary_server": "sql03.contoso.com", "primary_instance": "rtc"}
    (failover,) = (
        build_plan(pm, context({**CMS_ON_FAILED_POOL, "cms_backend": backend})).steps[0].commands_for("act")
    )
    assert failover.parameters == {
        "BackupSqlServerFqdn": "sql03.contoso.com",
        "BackupSqlInstanceName": "rtc",
        "Force": True,
    }


def test_cms_on_2010_pool_installs_moves_and_bootstraps_the_other_front_ends(
    pm: pluggy.PluginManager,
) -> None:
    ctx = context({**CMS_ON_FAILED_POOL, "cms_version": 5})
    assert [c.server for c in plan_phase(pm, "inspect", ctx)] == [FE1, FE1]  # backend SQL, export files
    assert steps(pm, ctx)[:7] == [
        ("cms2010.install_database", FE1),
        ("cms2010.move_cms", FE1),
        ("cms.validate", FE1),
        ("cms.wait_for_replicas", FE1),
        ("cms2010.bootstrap", "fe02.pool2.contoso.com"),
        ("cms2010.bootstrap", "fe03.pool2.contoso.com"),
        ("pool.fail_over", FE1),
    ]
    assert [commands(call) for call in plan_phase(pm, "inspect", ctx)] == [
        ["read: Get-CsService -UserDatabase"],
        [
            "read: Test-Path -Path c:\\CsConfigurationFile.zip",
            "read: Test-Path -Path c:\\CsLisConfigurationFile.zip",
        ],
    ]
    plan = build_plan(pm, ctx).steps
    assert [commands(call) for call in plan[:5]] == [
        [
            "check: Get-CsService -CentralManagement",
            "act: Install-CsDatabase -CentralManagementDatabase -Clean -SqlServerFqdn sql03.contoso.com "
            "-SqlInstanceName rtc",
            # What tells the install's end when the worker that sent it died (Backup_Pool is Lync 2013).
            "recheck: Test-CsDatabase -CentralManagementDatabase -SqlServerFqdn sql03.contoso.com "
            "-SqlInstanceName rtc",
        ],
        [
            "check: Get-CsService -CentralManagement",
            "act: Move-CsManagementServer -ConfigurationFileName c:\\CsConfigurationFile.zip "
            "-LisConfigurationFileName c:\\CsLisConfigurationFile.zip -Force",
            RECHECK_STORE,
        ],
        VALIDATION[:1],
        VALIDATION[1:],
        BOOTSTRAP,
    ]
    assert plan[4].commands[1].executable


BOOTSTRAP = [
    "check: Get-CsWindowsService -Name RTCMASTER -ErrorAction SilentlyContinue",
    'act: "C:\\Program Files\\Microsoft Lync Server 2013\\Deployment\\Bootstrapper.exe" /Setup',
]


def test_a_2010_cms_already_on_backup_pool_still_gets_bootstrapper_on_every_front_end(
    pm: pluggy.PluginManager,
) -> None:
    # A re-run after a run that stopped past Move-CsManagementServer: the CMS answers on pool2 (Lync 2013)
    # now; each Front End's check skips Bootstrapper where the CMS service runs.
    moved = {**HEALTHY_CMS, "cms_pool": POOL2, "cms_version": 6, "active_master": POOL2}
    plan = build_plan(pm, context({**moved, "active_file_transfer_agents": [POOL2]})).steps
    assert [(call.step, call.server) for call in plan[:3]] == [
        ("cms2010.bootstrap", server) for server in topology().pool(POOL2).servers
    ]
    assert [commands(call) for call in plan[:3]] == [BOOTSTRAP] * 3
    assert [call.step for call in plan[3:]] == ["pool.fail_over", "pool.verify_users_serviced"]


def test_2010_moves_the_cms_from_the_front_end_whose_exports_were_checked(pm: pluggy.PluginManager) -> None:
    moved = "fe02.pool2.contoso.com"
    ctx = context({**CMS_ON_FAILED_POOL, "cms_version": 5, "export_files": {moved: {"c:\\x": True}}})
    assert steps(pm, ctx)[:6] == [
        ("cms2010.install_database", moved),
        ("cms2010.move_cms", moved),
        ("cms.validate", moved),
        ("cms.wait_for_replicas", moved),
        ("cms2010.bootstrap", FE1),
        ("cms2010.bootstrap", "fe03.pool2.contoso.com"),
    ]


def test_healthy_cms_elsewhere_needs_no_cms_steps(pm: pluggy.PluginManager) -> None:
    ctx = context(HEALTHY_CMS)
    assert not ctx.cms_must_fail_over()
    assert [commands(call) for call in build_plan(pm, ctx).steps] == [POOL_FAILOVER, VERIFY_USERS]


def test_unavailable_cms_elsewhere_must_fail_over() -> None:
    assert context(
        {**HEALTHY_CMS, "active_master": "", "active_file_transfer_agents": []}
    ).cms_must_fail_over()


def test_edge_moves_to_a_same_site_pool_with_a_publish(pm: pluggy.PluginManager) -> None:
    facts = {**HEALTHY_CMS, "edges_at_risk": [{"edge_pool": "edge1.contoso.com", "next_hop": POOL1}]}
    plan = build_plan(pm, context(facts)).steps
    assert [(c.step, c.server) for c in plan[:3]] == [
        ("edge.move_next_hop", FE2),
        ("edge.publish_topology", FE2),
        ("edge.verify_next_hop", FE2),
    ]
    assert [commands(call) for call in plan[:3]] == [
        [
            "check: Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com",
            f"act: Set-CsEdgeServer -Identity EdgeServer:edge1.contoso.com -Registrar Registrar:{POOL3}",
            RECHECK_STORE,
        ],
        [
            "check: Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com",
            "act: Enable-CsTopology",
            RECHECK_STORE,
        ],
        ["read: Get-CsService -EdgeServer -PoolFqdn edge1.contoso.com"],
    ]


def test_edge_moves_to_the_backup_pool_at_another_site_without_publish(pm: pluggy.PluginManager) -> None:
    facts = {**HEALTHY_CMS, "cms_pool": POOL2, "active_master": POOL2, "active_file_transfer_agents": [POOL2]}
    facts["edges_at_risk"] = [{"edge_pool": "edge1.contoso.com", "next_hop": POOL1}]
    every = build_plan(pm, context(facts, with_pool3=False)).steps
    # The CMS on pool2 comes first: Front End's CMS service (cms2010.bootstrap, skipped where it runs).
    assert [c.step for c in every[:3]] == ["cms2010.bootstrap"] * 3
    plan = every[3:]
    assert [(c.step, c.server) for c in plan[:2]] == [
        ("edge.move_next_hop", FE1),
        ("edge.verify_next_hop", FE1),
    ]
    assert commands(plan[0])[1] == (
        f"act: Set-CsEdgeServer -Identity EdgeServer:edge1.contoso.com -Registrar Registrar:{POOL2}"
    )


def test_next_hop_error_is_remedied_by_moving_the_edges(pm: pluggy.PluginManager) -> None:
    error = CmdletError(
        FE1, "Invoke-CsPoolFailover", NEXT_HOP_ERROR, error_id="x", category="InvalidOperation"
    )
    decision = pm.hook.lync_failover_classify_error(
        step="pool.fail_over", error=error, context=context(HEALTHY_CMS)
    )
    assert decision.action == "remediate"
    assert [call.step for call in decision.remedy] == [
        "edge.move_next_hop",
        "edge.publish_topology",
        "edge.verify_next_hop",
    ]


def test_no_plugin_decides_from_the_wording_of_a_cms_error(pm: pluggy.PluginManager) -> None:
    # The lab's invented "not yet fully failed over" is not Windows' text: the pool step's diagnosis reads
    # the store and the replicas instead (tests/e2e/test_world_decides.py), and the wording alone fails.
    message = (
        f'Unable to fail over pool "{POOL1}": the Central Management store is not yet fully failed over.'
    )
    error = CmdletError(FE1, "Invoke-CsPoolFailover", message, category="InvalidOperation")
    decision = pm.hook.lync_failover_classify_error(step="pool.fail_over", error=error, context=context())
    assert decision is None
    assert default_decision(error).action == "fail"


@pytest.mark.parametrize(
    ("error", "action", "says"),
    [
        (TransportError(FE1, "Get-CsPool", "connection refused"), "retry", "unreachable"),
        (
            CommandTimeout(FE1, "Invoke-CsPoolFailover", "timed out"),
            "retry",
            "did not complete on the server",
        ),
        (
            CmdletError(FE1, "Get-CsPool", "The RPC server is unavailable.", category="ConnectionError"),
            "retry",
            "",
        ),
        (AuthenticationError(FE1, "Get-CsPool", "401"), "fail", "Fix the credential"),
        (
            CmdletError(FE1, "Get-CsPool", "no such", error_id="NamedParameterNotFound,Get-CsPool"),
            "fail",
            "no such parameter",
        ),
        (
            CmdletError(FE1, "Get-CsPool", "missing", error_id="MissingMandatoryParameter,Get-CsPool"),
            "fail",
            "mandatory",
        ),
    ],
)
def test_default_classification(error: Exception, action: str, says: str) -> None:
    decision = default_decision(error)
    assert decision.action == action and says in decision.reason


def test_a_broken_site_plugin_fails_start_up_naming_it() -> None:
    broken = EntryPoint(name="acme_vault", value="acme_vault_does_not_exist", group="lync_failover")
    with pytest.raises(PluginLoadError, match='site plugin "acme_vault"'):
        build_plugin_manager([broken])


@pytest.mark.parametrize(
    ("version", "found"), [(9, "version 9"), (4, "version 4"), (None, "wrote no Version")]
)
def test_a_cms_failover_no_plugin_handles_stops_the_plan_naming_the_versions_handled(
    pm: pluggy.PluginManager, version: int | None, found: str
) -> None:
    with pytest.raises(PreconditionError) as refused:
        build_plan(pm, context({**CMS_ON_FAILED_POOL, "cms_version": version}))

    message = str(refused.value)
    for part in (
        found,
        "5 = Lync Server 2010",
        "6 = Lync Server 2013",
        "7 = Skype for Business Server 2015",
        "8 = Skype for Business Server 2019",
        "run again",
    ):
        assert part in message, message


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_the_built_in_plugins_plan_a_cms_failover_for_every_version_they_name(
    pm: pluggy.PluginManager, version: int
) -> None:
    plan = build_plan(pm, context({**CMS_ON_FAILED_POOL, "cms_version": version}))
    assert any(call.phase == "cms" for call in plan.steps)
