"""What a redelivered step reads of the act its dead worker sent: the pool failover from PoolState, the
Lync 2010 CMS database install from Test-CsDatabase (scripted answers; the lost-worker e2e tests and the
reliability suite run them against the lab)."""

from __future__ import annotations

import pluggy
import pytest

from plugins.builtin.cms2010 import earlier_install
from plugins.builtin.pool import earlier_failover
from plugins.kit.model import StepCall
from plugins.planning import build_plan
from tests.plugins.scripted_shell import ScriptedShell
from tests.plugins.test_planning import CMS_ON_FAILED_POOL, FE1, context

CMS_2010 = {**CMS_ON_FAILED_POOL, "cms_version": 5}


def planned(pm: pluggy.PluginManager, facts: dict[str, object], step: str) -> StepCall:
    """The plan's call of ``step``."""
    return next(call for call in build_plan(pm, context(facts)).steps if call.step == step)


@pytest.mark.parametrize(
    ("pool_state", "seen"),
    [("FailingOver", "running"), ("Active", "ended"), ("FailedBack", "ended")],
)
def test_a_failover_runs_while_poolstate_is_failing_over_and_has_ended_otherwise(
    pm: pluggy.PluginManager, pool_state: str, seen: str
) -> None:
    call = planned(pm, CMS_ON_FAILED_POOL, "pool.fail_over")
    shell = ScriptedShell({"Get-CsRegistrarConfiguration": [{"PoolState": pool_state}]})

    found = earlier_failover(shell, context(CMS_ON_FAILED_POOL), call)

    assert found.state == seen and f"pool1.contoso.com reports PoolState {pool_state}" in found.reason
    assert shell.sent == [f"{FE1} Get-CsRegistrarConfiguration"]


def test_an_install_is_done_only_when_every_cms_database_is_at_the_expected_version(
    pm: pluggy.PluginManager,
) -> None:
    call = planned(pm, CMS_2010, "cms2010.install_database")
    xds: dict[str, object] = {
        "DatabaseName": "xds",
        "ExpectedVersion": "10.13.2",
        "InstalledVersion": "10.13.2",
    }
    lis: dict[str, object] = {"DatabaseName": "lis", "ExpectedVersion": "3.1.1", "InstalledVersion": ""}
    halfway = ScriptedShell({"Test-CsDatabase": [xds, lis]})
    installed = ScriptedShell({"Test-CsDatabase": [xds, {**lis, "InstalledVersion": "3.1.1"}]})
    nothing = ScriptedShell()

    assert earlier_install(halfway, context(CMS_2010), call).model_dump() == {
        "state": "running",
        "reason": "Test-CsDatabase on sql03.contoso.com\\rtc: lis not installed yet",
    }
    done = earlier_install(installed, context(CMS_2010), call)
    assert done.state == "done" and "an earlier attempt's install completed" in done.reason
    assert earlier_install(nothing, context(CMS_2010), call).state == "running"
    assert halfway.sent == [f"{FE1} Test-CsDatabase"]
