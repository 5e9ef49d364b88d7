"""Readiness through ``celery call`` and ``lync-failover check``: on a quiet day every pool is ready and
nothing changes; a Backup Service out of sync and a server that does not answer make their pools not ready,
each finding says what to fix, and a failing check is an event a site plugin sees."""

from __future__ import annotations

from collections.abc import Callable

from tasks.run import Report
from tests.console.cli_helpers import lync_failover
from tests.e2e.harness import Runner, is_read_only

SCENARIO = "readiness-healthy"
POOL1, POOL2 = "pool1.contoso.com", "pool2.contoso.com"
SILENT = "fe02.pool2.contoso.com"


def check(runner: Runner) -> Report:
    """A readiness check of every site, the Celery way; its report."""
    report = runner.wait(runner.call_task("lync.readiness"), deadline_s=120)
    assert isinstance(report, Report) and report.state == "succeeded", report
    return report


def test_on_a_quiet_day_every_pool_is_ready_and_nothing_changes(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO)
    before = runner.lab.engine.state()

    report = check(runner)

    failed = [finding for finding in report.final_facts.findings if not finding.ok]
    assert failed == [], failed
    checked = {finding.check for finding in report.final_facts.findings}
    assert {f"Backup Service of {POOL1}", f"Backup Service of {POOL2}", "pairing"} <= checked, checked
    assert all(is_read_only(line) for line in runner.commands()), runner.commands()
    assert runner.lab.engine.state() == before
    assert runner.lab.engine.verify()["ok"]
    shown = lync_failover("check", env=runner.env, timeout=180)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "NOT ready" not in shown.stdout and "ready" in shown.stdout
    listed = " ".join(lync_failover("runs", env=runner.env).stdout.split())
    assert "Last readiness check:" in listed and "ready (lync-failover report" in listed, listed


def test_a_site_with_no_worker_is_named(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO)
    silent = runner.lab.queues[0]
    runner.workers.children[silent].stop()  # no worker consumes Datacenter1's queue now

    report = check(runner)

    failed = [finding for finding in report.final_facts.findings if not finding.ok]
    assert [finding.check for finding in failed] == ["a worker in Datacenter1"], failed
    assert f"celery -A worker worker -Q {silent}" in failed[0].fix
    listed = " ".join(lync_failover("runs", env=runner.env).stdout.split())
    assert "NOT ready: (every pool)" in listed, listed


def test_a_backup_service_out_of_sync_and_a_silent_server_are_named_with_what_to_fix(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO, faults={"backup_service": {POOL1: "ErrorState"}, "down": [SILENT]})

    report = check(runner)

    failed = {finding.check: finding for finding in report.final_facts.findings if not finding.ok}
    backup = failed[f"Backup Service of {POOL1}"]
    assert "ErrorState" in backup.detail and f"Invoke-CsBackupServiceSync -PoolFqdn {POOL1}" in backup.fix
    assert any(SILENT in finding.detail for finding in failed.values()), failed
    events = [e for e in runner.events() if e["kind"] == "readiness.failed"]
    assert any(f"Backup Service of {POOL1}" in e["message"] for e in events), events
    assert all(is_read_only(line) for line in runner.commands()), runner.commands()
    shown = lync_failover("check", env=runner.env, timeout=180)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "NOT ready" in shown.stdout and "not every pool is ready" in " ".join(shown.stderr.split())
