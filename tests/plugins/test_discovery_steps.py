"""Discovery steps over scripted cmdlet answers: what they conclude, what they refuse, what they ask."""

from __future__ import annotations

import pluggy
import pytest

from plugins.builtin.discovery import find_cms_backup_pool, locate_cms
from plugins.kit.errors import PreconditionError
from plugins.kit.model import step_call
from plugins.planning import plan_phase
from tests.plugins.scripted_shell import ScriptedShell
from tests.plugins.test_planning import FE1, POOL1, POOL2, context

#: The CMS is on the surviving pool2, and it does not answer.
CMS_UNAVAILABLE_ON_POOL2 = {"backup_pool": POOL2, "cms_pool": POOL2, "cms_version": 6, "cms_active": False}


def find_cms_backup(shell: ScriptedShell, facts: dict[str, object]) -> dict[str, object]:
    """The facts the step sets (and only those)."""
    call = step_call("discovery.find_cms_backup_pool", "discover", FE1)
    return find_cms_backup_pool(shell, context(facts), call).facts.model_dump(exclude_unset=True)


def test_a_cms_whose_only_backup_is_the_failed_pool_is_refused() -> None:
    shell = ScriptedShell({"Get-CsPoolBackupRelationship": [{"PoolFqdn": POOL2, "BackupPoolFqdn": POOL1}]})

    with pytest.raises(PreconditionError) as refused:
        find_cms_backup(shell, CMS_UNAVAILABLE_ON_POOL2)

    message = str(refused.value)
    for part in ("no surviving backup pool", POOL1, POOL2, "run again"):
        assert part in message, message


def test_a_lync_2010_cms_moves_to_the_failover_target_without_asking_for_a_backup_pairing() -> None:
    shell = ScriptedShell()  # Lync 2010 pools have no backup pairing to ask for

    found = find_cms_backup(shell, {"backup_pool": POOL2, "cms_pool": POOL1, "cms_version": 5})

    assert found == {"cms_fails_over": True, "cms_backup_pool": POOL2}
    assert shell.sent == []


def test_a_cms_service_without_a_version_leaves_the_version_unknown_not_0(pm: pluggy.PluginManager) -> None:
    ctx = context({"backup_pool": POOL2})
    locate = next(c for c in plan_phase(pm, "discover", ctx) if c.step == "discovery.locate_cms")
    shell = ScriptedShell({"Get-CsService": [{"PoolFqdn": POOL1, "Active": True}]})

    found = locate_cms(shell, ctx, locate).facts
    assert "cms_version" in found.model_fields_set and found.cms_version is None


def locate(
    pm: pluggy.PluginManager, services: list[dict[str, object]], master: str = "", whatif: str = ""
) -> str:
    """CMS_Pool as locate_cms decides it from these answers."""
    ctx = context({"backup_pool": POOL2})
    call = next(c for c in plan_phase(pm, "discover", ctx) if c.step == "discovery.locate_cms")
    shell = ScriptedShell(
        {
            "Get-CsService": services,
            "Get-CsManagementStoreReplicationStatus": [
                {"ActiveMasterFqdn": master, "ActiveFileTransferAgents": [master] if master else []}
            ],
        }
    )
    shell.information = {"Invoke-CsManagementServerFailover": [whatif]} if whatif else {}
    return str(locate_cms(shell, ctx, call).facts.cms_pool)


def test_cms_pool_is_the_active_service_wherever_it_is_listed(pm: pluggy.PluginManager) -> None:
    standby_first = [{"PoolFqdn": POOL2, "Active": False, "Version": 6}, {"PoolFqdn": POOL1, "Active": True}]
    assert locate(pm, standby_first) == POOL1


def test_several_or_no_active_cms_services_are_told_apart_by_the_store_then_whatif(
    pm: pluggy.PluginManager,
) -> None:
    both = [{"PoolFqdn": POOL1, "Active": True}, {"PoolFqdn": POOL2, "Active": True}]
    assert locate(pm, both, master=POOL2) == POOL2
    assert locate(pm, both, master="fe01.pool1.contoso.com") == POOL1
    none = [{"PoolFqdn": POOL1, "Active": False}, {"PoolFqdn": POOL2, "Active": False}]
    assert locate(pm, none, whatif=f'the CMS is hosted on pool "{POOL2}"') == POOL2
    with pytest.raises(PreconditionError, match="cannot tell which pool hosts the CMS"):
        locate(pm, none)
