"""The built-in plugins' plans over hand-written facts: which steps, which servers, which parameters."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pluggy
import pytest

from plugins.errors import default_decision
from plugins.manager import PluginLoadError, build_plugin_manager
from plugins.model import Context, Facts, PoolInfo, Request, Topology
from plugins.planning import build_plan, plan_phase
from plugins.shell import AuthenticationError, CmdletError, TransportError

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


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return build_plugin_manager([])


def steps(pm: pluggy.PluginManager, ctx: Context) -> list[tuple[str, str]]:
    return [(call.step, call.server) for call in build_plan(pm, ctx).steps]


def test_locate_asks_the_requested_target_else_the_first_surviving_front_end_pool(
    pm: pluggy.PluginManager,
) -> None:
    assert [c.server for c in plan_phase(pm, "locate", context(target=POOL3))] == [FE2]
    assert [c.server for c in plan_phase(pm, "locate", context())] == [FE1]


def test_cms_on_failed_2013_pool_fails_over_to_the_primary_principal_first(pm: pluggy.PluginManager) -> None:
    plan = build_plan(pm, context(CMS_ON_FAILED_POOL))
    assert steps(pm, context(CMS_ON_FAILED_POOL)) == [
        ("cms2013.fail_over_cms", FE1),
        ("cms.validate", FE1),
        ("cms.wait_for_replicas", FE1),
        ("pool.fail_over", FE1),
        ("pool.verify_users_serviced", FE1),
    ]
    assert plan.steps[0].params == {
        "BackupSqlServerFqdn": "sql03.contoso.com",
        "BackupSqlInstanceName": "rtc",
        "BackupMirrorSqlServerFqdn": "sql04.contoso.com",
        "BackupMirrorSqlInstanceName": "rtc",
        "Force": True,
    }
    assert plan.steps[3].params == {"PoolFqdn": POOL1, "DisasterMode": True, "Verbose": True}


def test_mirror_principal_becomes_the_backup_sql_server(pm: pluggy.PluginManager) -> None:
    facts = {
        **CMS_ON_FAILED_POOL,
        "cms_backend": {**CMS_ON_FAILED_POOL["cms_backend"], "principal": "mirror"},
    }
    params = build_plan(pm, context(facts)).steps[0].params
    assert params["BackupSqlServerFqdn"] == "sql04.contoso.com"
    assert params["BackupMirrorSqlServerFqdn"] == "sql03.contoso.com"
    assert "MirrorSqlServerFqdn" not in params  # the seed's name, which PowerShell rejects


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
    install = build_plan(pm, ctx).steps[0].params
    assert install == {
        "CentralManagementDatabase": True,
        "Clean": True,
        "SqlServerFqdn": "sql03.contoso.com",
        "SqlInstanceName": "rtc",
    }


def test_healthy_cms_elsewhere_needs_no_cms_steps(pm: pluggy.PluginManager) -> None:
    ctx = context(HEALTHY_CMS)
    assert not ctx.cms_must_fail_over()
    assert [step for step, _ in steps(pm, ctx)] == ["pool.fail_over", "pool.verify_users_serviced"]


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
    assert plan[0].params == {"Identity": "EdgeServer:edge1.contoso.com", "Registrar": f"Registrar:{POOL3}"}


def test_edge_moves_to_the_backup_pool_at_another_site_without_publish(pm: pluggy.PluginManager) -> None:
    facts = {**HEALTHY_CMS, "cms_pool": POOL2, "active_master": POOL2, "active_file_transfer_agents": [POOL2]}
    facts["edges_at_risk"] = [{"edge_pool": "edge1.contoso.com", "next_hop": POOL1}]
    plan = build_plan(pm, context(facts, with_pool3=False)).steps
    assert [(c.step, c.server) for c in plan[:2]] == [
        ("edge.move_next_hop", FE1),
        ("edge.verify_next_hop", FE1),
    ]
    assert plan[0].params["Registrar"] == f"Registrar:{POOL2}"


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


def test_cms_not_ready_for_pool_failover_is_retried(pm: pluggy.PluginManager) -> None:
    message = (
        f'Unable to fail over pool "{POOL1}": the Central Management store is not yet fully failed over.'
    )
    error = CmdletError(FE1, "Invoke-CsPoolFailover", message, category="InvalidOperation")
    decision = pm.hook.lync_failover_classify_error(step="pool.fail_over", error=error, context=context())
    assert decision.action == "retry"


@pytest.mark.parametrize(
    ("error", "action", "says"),
    [
        (TransportError(FE1, "Get-CsPool", "connection refused"), "retry", "unreachable"),
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
