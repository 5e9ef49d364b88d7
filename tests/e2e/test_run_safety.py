"""Running safely (cms-2013-primary): dry run, retries, a permanent failure, one run per pool, door checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from lync_failover_example_site import HelpdeskFacts

from tasks.lease import alive_key
from tasks.lock import acquire, extend, lock_key
from tasks.run import Report
from tests.e2e.harness import Runner, is_read_only
from tests.e2e.paths import FAILED_POOL

SCENARIO = "cms-2013-primary"


def deployment(runner: Runner) -> dict[str, Any]:
    """The parts of the lab's state a failover changes."""
    state = runner.lab.engine.state()
    return {key: state[key] for key in ("cms", "users", "pool_states", "edge_next_hops", "publishes")}


def test_dry_run_changes_nothing_and_plans_what_the_run_executes(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO)
    before = deployment(runner)

    dry = runner.wait(runner.api(pool=FAILED_POOL, dry_run=True))

    assert isinstance(dry, Report) and dry.state == "planned", dry
    assert deployment(runner) == before
    assert runner.commands() and all(is_read_only(line) for line in runner.commands()), runner.commands()
    assert [step.step for step in dry.plan] == [
        "cms2013.fail_over_cms",
        "cms.validate",
        "cms.wait_for_replicas",
        "pool.fail_over",
        "pool.verify_users_serviced",
        "users.verify_serviced",
        "site.notify_helpdesk",
    ]
    run_id = runner.call(pool=FAILED_POOL)
    report = runner.wait(run_id)
    assert isinstance(report, Report) and report.state == "succeeded", report
    plan = runner.run(run_id).plan
    assert plan is not None and plan.steps == dry.plan


def test_transient_failures_are_retried_and_the_run_completes(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(
        SCENARIO,
        faults={
            "fail_next": {"Get-CsDatabaseMirrorState": 1, "Invoke-CsPoolFailover": 2},
            "transport_fault_rate": {"fe01.pool2.contoso.com": 0.1},
        },
    )

    run_id = runner.api(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", (
        f"{report}\n{runner.workers.logs()[-3000:]}"
    )
    assert runner.lab.engine.verify()["ok"]
    attempts = {step.id.split("@")[0]: step.attempts for step in report.steps}
    assert attempts["cms2013.read_mirror_state"] >= 2 and attempts["pool.fail_over"] >= 3
    failed = [entry for entry in runner.journal(run_id) if entry.outcome != "ok"]
    assert any("RPC server is unavailable" in entry.output for entry in failed)


def test_a_permanent_failure_stops_the_run_naming_step_server_and_error(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO, env={"LAB_PASSWORD": "not-the-password"})

    run_id = runner.call(pool=FAILED_POOL)
    error = runner.wait(run_id)

    assert type(error).__name__ == "RunFailed", error
    for part in ("discovery.find_backup_pool", "fe01.pool2.contoso.com", "Fix the credential"):
        assert part in str(error)
    record = runner.run(run_id)
    assert record.state == "failed" and "discovery.find_backup_pool" in record.error
    assert runner.lab.engine.verify()["ok"] is False
    shown = runner.celery_result(run_id)
    assert shown.returncode != 0 and "discovery.find_backup_pool" in shown.stdout + shown.stderr
    assert runner.redis.get(f"lync:lock:pool:{FAILED_POOL}") is None


def test_one_run_per_pool_and_bad_requests_run_nothing(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO, faults={"latency": {"Get-CsDatabaseMirrorState": 2.0}})
    first = runner.api(pool=FAILED_POOL)
    runner.until(lambda: runner.redis.get(f"lync:lock:pool:{FAILED_POOL}") == first, "the first run's lock")

    refused = runner.wait(runner.call(pool=FAILED_POOL))
    assert type(refused).__name__ == "RunRefused" and first in str(refused), refused
    for request, message in [
        ({"pool": "pool1"}, "not a fully qualified domain name"),
        ({"pool": "pool9.contoso.com"}, "not in the inventory"),
        ({"pool": FAILED_POOL, "target": FAILED_POOL}, "is the pool being failed over"),
        ({"pool": FAILED_POOL, "target": "edge2.contoso.com"}, "not a Front End pool"),
    ]:
        error = runner.wait(runner.api(**request))
        assert type(error).__name__ == "RequestError" and message in str(error), (request, error)

    report = runner.wait(first)
    assert isinstance(report, Report) and report.state == "succeeded", report
    # Only the first run reached the lab, and its journal holds every command the lab received.
    lab_commands = [line.split()[1] for line in runner.commands()]
    assert [entry.command for entry in runner.journal(first)] == lab_commands
    assert any(
        step.id.startswith("site.notify_helpdesk@") and step.state == "succeeded" for step in report.steps
    )
    # The site plugin's own facts (typed by it, kept under its namespace) reach the run's facts.
    told = report.final_facts.of(HelpdeskFacts)
    assert (told.told_pool, told.front_ends) == ("pool2.contoso.com", 3)
    assert report.final_facts.plugins == {"example_site": {"told_pool": "pool2.contoso.com", "front_ends": 3}}
    kinds = [event["kind"] for event in runner.events() if event["run_id"] == first]
    assert kinds[0] == "run.started" and kinds[-1] == "run.succeeded"
    assert {"run.planned", "step.started", "step.succeeded", "command"} <= set(kinds)


def test_a_run_longer_than_the_lock_ttl_keeps_its_pool(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(
        SCENARIO,
        faults={"latency": {"Get-CsDatabaseMirrorState": 2.0}},
        env={"LYNC_FAILOVER_LOCK_TTL": "1"},
    )
    lock = lock_key(FAILED_POOL)
    first = runner.api(pool=FAILED_POOL)
    runner.until(lambda: any(step.state == "running" for step in runner.steps(first)), "a step")

    assert int(runner.redis.ttl(lock)) > 60, "the lock kept the launcher's 1 s lifetime"
    refused = runner.wait(runner.api(pool=FAILED_POOL))
    assert type(refused).__name__ == "RunRefused" and first in str(refused), refused
    finished = runner.wait(first)
    assert isinstance(finished, Report) and finished.state == "succeeded", finished
    assert runner.redis.get(lock) is None


def test_only_the_run_holding_the_lock_extends_it(redis_client: redis.Redis) -> None:
    assert acquire(redis_client, FAILED_POOL, "run-1", 5) is None

    assert extend(redis_client, FAILED_POOL, "run-2", 100) is False
    assert int(redis_client.ttl(lock_key(FAILED_POOL))) <= 5
    assert extend(redis_client, FAILED_POOL, "run-1", 100) is True
    assert int(redis_client.ttl(lock_key(FAILED_POOL))) > 5
    assert extend(redis_client, FAILED_POOL, "run-1", 1) is True, "a shorter extension never shortens it"
    assert int(redis_client.ttl(lock_key(FAILED_POOL))) > 5
    redis_client.delete(lock_key(FAILED_POOL))
    assert extend(redis_client, FAILED_POOL, "run-1", 100) is False
    assert redis_client.get(lock_key(FAILED_POOL)) is None


def test_a_dry_run_takes_no_lock_and_accepts_an_absolute_pool_name(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO)
    lock = lock_key(FAILED_POOL)
    runner.redis.set(lock, "another-run")
    runner.redis.set(alive_key("another-run"), "1")  # a live run holds the pool

    planned = runner.wait(runner.api(pool=FAILED_POOL + ".", dry_run=True))

    assert isinstance(planned, Report) and planned.state == "planned", planned
    assert planned.subject == FAILED_POOL
    assert runner.redis.get(lock) == "another-run"
    refused = runner.wait(runner.api(pool=FAILED_POOL))
    assert type(refused).__name__ == "RunRefused" and "another-run" in str(refused)
