"""A plugin raising while planning ends the run cleanly: recorded, lock released, what to do said."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from plugins.kit.errors import PreconditionError
from plugins.kit.model import Context, PoolInfo, Topology
from plugins.kit.requests import Request
from tasks.lock import acquire, lock_key
from tasks.run import Report
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL
from tests.fixtures_lab import RunningLab

SCENARIO = "edge-other-site"
EDGE_POOL = "edge1.contoso.com"


@pytest.fixture
def lab_factory(lab_factory: Callable[..., RunningLab]) -> Callable[..., RunningLab]:
    """The lab, with an inventory that leaves out its Edge pools (a stale inventory)."""

    def start(scenario: str, **options: Any) -> RunningLab:
        lab = lab_factory(scenario, **options)
        inventory = json.loads(lab.inventory_path.read_text())
        edges = {pool["fqdn"] for pool in inventory["pools"] if pool["role"] == "Edge"}
        inventory["pools"] = [pool for pool in inventory["pools"] if pool["fqdn"] not in edges]
        inventory["servers"] = [server for server in inventory["servers"] if server["pool"] not in edges]
        lab.inventory_path.write_text(json.dumps(inventory))
        return lab

    return start


def test_a_pool_missing_from_the_inventory_fails_the_run_and_frees_the_pool(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO)

    run_id = runner.call(pool=FAILED_POOL)
    error = runner.wait(run_id)

    assert type(error).__name__ == "RunFailed", error
    for part in ("planning the cms/edge/pool/verify phase", EDGE_POOL, "not in the inventory", "run again"):
        assert part in str(error), error
    record = runner.run(run_id)
    assert record.state == "failed" and record.error == str(error)
    assert Report.of(record).state == "failed"
    assert runner.redis.get(lock_key(FAILED_POOL)) is None
    shown = runner.celery_result(run_id)
    shown_text = shown.stdout + shown.stderr
    # celery result shows the refusal as a message (issue: a 49-line traceback used to bury it).
    assert shown.returncode == 1 and "Traceback" not in shown_text, shown_text
    assert (
        f"Error: run {run_id} stopped while planning" in shown.stderr and "not in the inventory" in shown_text
    )
    kinds = [event["kind"] for event in runner.events() if event["run_id"] == run_id]
    assert kinds[0] == "run.started" and kinds[-1] == "run.failed", kinds
    # Nothing was changed, and the next run is not refused: it fails the same way.
    assert runner.lab.engine.verify()["ok"] is False
    again = runner.wait(runner.call(pool=FAILED_POOL))
    assert type(again).__name__ == "RunFailed", again


@pytest.fixture
def records(
    redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[redis.Redis]:
    """This process's run records and locks in the test Redis."""
    from tasks.record import redis_client as record_client
    from worker.settings import get_settings

    monkeypatch.setenv("REDIS_URL", redis_url)
    for cached in (get_settings, record_client):
        cached.cache_clear()
    yield redis_client
    for cached in (get_settings, record_client):
        cached.cache_clear()


def test_a_precondition_error_while_planning_reaches_the_operator_as_written(records: redis.Redis) -> None:
    from tasks.outcome import fail_planning
    from tasks.record import RunRecord
    from worker.refusals import RunFailed

    request = Request(pool=FAILED_POOL)
    topology = Topology(pools=[PoolInfo(fqdn=FAILED_POOL, site="Datacenter1", role="FrontEnd", servers=[])])
    context = Context(run_id="run-1", request=request, topology=topology)
    assert acquire(records, FAILED_POOL, context.run_id, 60) is None
    RunRecord(context.run_id).create(request)
    why = "no surviving Front End pool can be the next hop of edge1.contoso.com"

    with pytest.raises(RunFailed) as raised:
        fail_planning(context, "edge", PreconditionError(why))

    assert str(raised.value) == f"run run-1 stopped while planning the edge phase: {why}"
    assert records.hget("lync:run:run-1", "state") == "failed"
    assert records.get(lock_key(FAILED_POOL)) is None
