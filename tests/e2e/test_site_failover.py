"""A whole datacenter lost: one site run makes the CMS and Edge changes once, then every pool of the site
fails over in its own run, at the same time, each with its own lock, record and verdict."""

from __future__ import annotations

from collections.abc import Callable

from tasks.lock import lock_key
from tasks.record import get_run
from tasks.run import Report
from tests.console.cli_helpers import lync_failover
from tests.e2e.harness import Runner

SCENARIO = "site-datacenter1"
SITE = "Datacenter1"
POOLS = {"pool1.contoso.com": "pool4.contoso.com", "pool2.contoso.com": "pool5.contoso.com"}
POOLS |= {"pool3.contoso.com": "pool6.contoso.com"}
#: Long enough that pools failing over one after another could not overlap by chance.
FAILOVER_S = 2.0


def test_a_site_run_fails_every_pool_over_in_parallel_and_the_cms_and_edges_once(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO, faults={"latency": {"Invoke-CsPoolFailover": FAILOVER_S}})

    run_id = runner.call_task("lync.failover_site", site=SITE)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", (
        f"{report}\n{runner.workers.logs()[-4000:]}"
    )
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
    assert {outcome.pool: (outcome.state, outcome.target) for outcome in report.pools} == {
        pool: ("succeeded", backup) for pool, backup in POOLS.items()
    }
    received = runner.commands()
    # The CMS failed over once, to pool4; the site run moved edge2 (Datacenter2) off pool2. edge1 (down with
    # its site) was not planned for, but the topology named pool1 as its next hop: Invoke-CsPoolFailover
    # refused pool1 with the seed's error, and pool1's run moved edge1 in the topology (the remedy).
    assert [line for line in received if " Invoke-CsManagementServerFailover -Backup" in line] == [
        "fe01.pool4 Invoke-CsManagementServerFailover -BackupSqlServerFqdn sql04.contoso.com "
        "-BackupSqlInstanceName rtc -Force"
    ]
    edge = "Set-CsEdgeServer -Identity EdgeServer:{} -Registrar Registrar:pool4.contoso.com"
    assert [line for line in received if "Set-CsEdgeServer" in line] == [
        f"fe01.pool4 {edge.format('edge2.contoso.com')}",
        f"fe01.pool4 {edge.format('edge1.contoso.com')}",
    ]
    site_steps = {step.step for step in runner.run(run_id).steps}
    assert "edge.move_next_hop" in site_steps and "pool.fail_over" not in site_steps
    # Each pool failed over in its own run, from a Front End of its own backup pool ...
    failovers = sorted(line for line in received if " Invoke-CsPoolFailover " in line)
    assert failovers == sorted(
        f"fe01.{backup.split('.')[0]} Invoke-CsPoolFailover -PoolFqdn {pool} -DisasterMode -Verbose"
        for pool, backup in POOLS.items()
    )
    # ... at the same time: every pool's failover step overlaps every other's.
    spans = []
    for outcome in report.pools:
        child = get_run(outcome.run_id, runner.redis)
        assert child is not None and child.request.workflow == "failover"
        [step] = [step for step in child.steps if step.step == "pool.fail_over"]
        assert step.first_started is not None and step.ended is not None
        spans.append((step.first_started, step.ended))
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    # Every lock is released.
    assert [pool for pool in POOLS if runner.redis.get(lock_key(pool))] == []


def test_while_a_site_run_holds_its_pools_a_pool_run_or_another_site_run_is_refused_naming_it(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO)
    # Held at a pause before its CMS phase, the site run keeps its locks and has handed none to a pool run.
    site_run = runner.call_task("lync.failover_site", site=SITE, pause_before=["cms"])
    runner.until(lambda: runner.waits_before(site_run, "cms"), "the site run to pause before cms", 90)
    assert runner.redis.get(lock_key("pool2.contoso.com")) == site_run

    refused_pool = runner.wait(runner.call(pool="pool2.contoso.com"))
    refused_site = runner.wait(runner.call_task("lync.failover_site", site=SITE.lower()))

    for refused in (refused_pool, refused_site):
        assert type(refused).__name__ == "RunRefused" and site_run in str(refused), refused
    approved = lync_failover("approve", site_run, env=runner.env)
    assert approved.returncode == 0, approved.stderr
    report = runner.wait(site_run)
    assert isinstance(report, Report) and report.state == "succeeded", report


def test_a_trigger_refused_while_a_site_runs_pool_run_holds_the_pool_names_the_site_run_to_wait_for(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO)
    # The pool runs hold their pools (handed over by the site run), each paused before its failover.
    site_run = runner.call_task("lync.failover_site", site=SITE, pause_before=["pool"])
    runner.until(lambda: bool(pool_runs_paused(runner, site_run)), "the pool runs to pause before pool", 90)
    pool_run = str(runner.redis.get(lock_key("pool2.contoso.com")))
    assert pool_run in runner.run(site_run).children.values(), pool_run

    refused = runner.wait(runner.call(pool="pool2.contoso.com"))

    assert type(refused).__name__ == "RunRefused", refused
    assert f"held by run {pool_run}, a pool run of site run {site_run}" in str(refused), refused
    assert f"lync-failover watch {site_run}" in str(refused), refused


def pool_runs_paused(runner: Runner, site_run: str) -> list[str]:
    """The site run's pool runs, once every one waits before its failover."""
    run = runner.run(site_run)
    children = list(run.children.values())
    waiting = [child for child in children if runner.waits_before(child, "pool")]
    return waiting if children and waiting == children else []
