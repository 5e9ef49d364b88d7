"""What real deployments do that the lab used to hide (issue 8), each through ``celery call``: an unmirrored
Backup_Pool, several CMS services, an interrupted pool failover, errors decided from the world, the second
hop, Skype for Business Server 2015 and 2019."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lab.api import CallContext, CommandCall
from tasks.run import Report
from tests.e2e.harness import Runner
from tests.e2e.paths import BACKUP_POOL, FAILED_POOL, check_failover
from tests.lab.test_engine import Capture

FE_POOL2 = "fe01.pool2.contoso.com"
REGISTRAR = f"Service:Registrar:{FAILED_POOL}"
#: Invoke-CsManagementServerFailover's documented form for pool2 (its topology's primary and mirror).
DOCUMENTED = {"BackupSqlServerFqdn": "sql03.contoso.com", "BackupMirrorSqlServerFqdn": "sql04.contoso.com"}


def test_a_backup_pool_without_a_mirror_takes_the_cms(start_runner: Callable[..., Runner]) -> None:
    check_failover(start_runner, scenario="backup-unmirrored", trigger="call", cms_pool=BACKUP_POOL)


def test_cms_pool_is_the_active_cms_service_not_the_first_listed(start_runner: Callable[..., Runner]) -> None:
    check_failover(start_runner, scenario="cms-standby-listed-first", trigger="call", cms_pool=BACKUP_POOL)


def test_skype_for_business_2019_servers_load_their_own_module(start_runner: Callable[..., Runner]) -> None:
    check_failover(start_runner, scenario="sfb-2019", trigger="call", cms_pool=BACKUP_POOL)


def test_skype_for_business_2015_beside_lync_2013_each_server_loads_its_module(
    start_runner: Callable[..., Runner],
) -> None:
    check_failover(start_runner, scenario="sfb-mixed", trigger="call", cms_pool="pool4.contoso.com")


def test_a_run_that_stopped_midway_is_finished_by_a_re_run(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner("pool-failing-over")

    run_id = runner.call(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", report
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
    # The check, and the read before sending the failover (FailingOver: not sent), the reset's check and its
    # change, the check and the read again (Active), the failover, the verification with the sampled users'
    # pool information (and the example site plugin's read).
    sent = runner.commands(failed_too=True)
    assert [line for line in sent if " Invoke-CsPoolFailover " in line] == [
        f"fe01.pool2 Invoke-CsPoolFailover -PoolFqdn {FAILED_POOL} -DisasterMode -Verbose"
    ], "a failover was sent while the pool was FailingOver"
    assert sent[-12:] == [
        f"fe01.pool2 Get-CsRegistrarConfiguration -Identity {REGISTRAR}",
        f"fe01.pool2 Get-CsRegistrarConfiguration -Identity {REGISTRAR}",
        f"fe01.pool2 Get-CsRegistrarConfiguration -Identity {REGISTRAR}",
        f"fe01.pool2 Set-CsRegistrarConfiguration -Identity {REGISTRAR} -PoolState Active",
        f"fe01.pool2 Get-CsRegistrarConfiguration -Identity {REGISTRAR}",
        f"fe01.pool2 Get-CsRegistrarConfiguration -Identity {REGISTRAR}",
        f"fe01.pool2 Invoke-CsPoolFailover -PoolFqdn {FAILED_POOL} -DisasterMode -Verbose",
        f"fe01.pool2 Get-CsRegistrarConfiguration -Identity {REGISTRAR}",
        *(
            f"fe01.pool2 Get-CsUserPoolInfo -Identity sip:{u}@contoso.com -LocalStore"
            for u in ("alice", "bob", "carol")
        ),
        "fe01.pool2 Get-CsPool -Identity pool2.contoso.com",
    ]
    steps = {step.step: step for step in runner.run(run_id).steps}
    reset = steps["pool.reset_state"]
    assert reset.state == "succeeded" and "left FailingOver by an interrupted failover" in (
        reset.summary or ""
    )
    assert steps["pool.fail_over"].attempts == 2
    assert "a failover stopped midway" in (steps["pool.fail_over"].error or "")


def test_a_pool_failover_waits_for_replicas_it_reads_not_for_an_error_text(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("cms-2013-primary")
    # An administrator failed the CMS over to pool2 by hand a moment ago: its replicas take 8 s to catch
    # up. The CMS answers, so the run plans no CMS failover (nor its wait for replicas).
    runner.lab.engine.set_faults({"replication_lag_seconds": 8})
    by_hand(runner, FE_POOL2, "Invoke-CsManagementServerFailover", **DOCUMENTED, Force=True)

    run_id = runner.call(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", report
    failover = next(step for step in runner.run(run_id).steps if step.step == "pool.fail_over")
    assert failover.attempts > 1
    # The reason is what the runner read, not the lab's (invented) words.
    assert "replicas of the backup pool are not yet up to date: fe01.pool2.contoso.com" in (
        failover.error or ""
    ), failover
    assert runner.lab.engine.verify()["ok"]


def test_a_cms_failover_already_under_way_is_waited_for_not_repeated(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("cms-2013-primary")
    # An earlier attempt (or an administrator) started the CMS failover; it takes 6 s.
    runner.lab.engine.set_faults({"latency": {"Invoke-CsManagementServerFailover": 6}, "latency_scale": 1})

    def under_way() -> bool:
        cms = runner.lab.engine.state()["cms"]
        return isinstance(cms, dict) and cms["moving_to"] == BACKUP_POOL

    with in_background(
        lambda: by_hand(runner, FE_POOL2, "Invoke-CsManagementServerFailover", **DOCUMENTED, Force=True),
        until=under_way,
    ):
        run_id = runner.call(pool=FAILED_POOL)
        report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", report
    failover = next(step for step in runner.run(run_id).steps if step.step == "cms2013.fail_over_cms")
    # Refused with "being moved", it re-read the store (the move to pool2 under way), waited, and found the
    # CMS on pool2: one failover in all, the administrator's.
    assert failover.state == "skipped" and "already on" in failover.summary, failover
    sent = [
        e
        for e in runner.lab.engine.journal()
        if e["cmdlet"] == "Invoke-CsManagementServerFailover" and "WhatIf" not in str(e["parameters"])
    ]
    assert sent[0]["outcome"] == "ok" and len(sent) > 1, sent  # the administrator's, then the run's
    assert all("being moved to another location" in str(e["error"]) for e in sent[1:]), sent
    assert runner.lab.engine.verify()["ok"]


def test_ntlm_sessions_cannot_reach_sql_the_second_hop(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner("cms-2013-primary", auth="ntlm")

    failed = runner.wait(runner.call(pool=FAILED_POOL))

    assert type(failed).__name__ == "RunFailed"
    assert "Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'" in str(failed), failed
    assert "cms2013.read_mirror_state" in str(failed)


def test_credssp_over_https_carries_the_second_hop(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner("cms-2013-primary", transport="https", auth="credssp")
    assert {server["auth"] for server in runner.lab.inventory["servers"]} == {"credssp"}

    report = runner.wait(runner.call(pool=FAILED_POOL))

    assert isinstance(report, Report) and report.state == "succeeded", report
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}


def by_hand(runner: Runner, server: str, cmdlet: str, **parameters: object) -> Capture:
    """What an administrator runs on a server (a local logon: no second hop), straight into the lab."""
    output = Capture()
    context = CallContext(server, runner.lab.engine.administrator, delegated=True)
    runner.lab.engine.invoke(context, [CommandCall(cmdlet, tuple(parameters.items()))], output)
    return output


@contextmanager
def in_background(action: Callable[[], object], until: Callable[[], bool]) -> Iterator[None]:
    """Run ``action`` on a thread; enter once ``until()`` holds (it is under way in the lab); join after."""
    worker = threading.Thread(target=action)
    worker.start()
    deadline = time.monotonic() + 10
    while not until():
        assert time.monotonic() < deadline and worker.is_alive(), "the action did not start in the lab"
        time.sleep(0.01)
    try:
        yield
    finally:
        worker.join(30)
