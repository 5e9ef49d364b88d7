"""A step's message lost with the worker that took it off its queue, before kombu recorded it as
unacknowledged (the reliability suite's lost worker found a site run stalled so): another worker sends it
again, and the run completes with each act once.

The window (between kombu's BRPOP and its HSET of the unacknowledged message) cannot be hit on purpose, so the
test takes the message off the queue itself, as that worker's BRPOP did, while no worker consumes the queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.console.cli_helpers import lync_failover
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL
from tests.e2e.test_lost_worker import acts_received, step_queue
from tests.fixtures_celery import StartWorkers
from worker.lost_messages import DUE_KEY

STEP = "pool.fail_over"


def queued_message(runner: Runner, queue: str, task: str) -> str | None:
    """The raw message of ``task`` waiting in ``queue``, if one is."""
    for raw in runner.redis.lrange(queue, 0, -1):
        if json.loads(raw)["headers"]["task"] == task:
            return str(raw)
    return None


def test_a_step_message_lost_with_its_worker_before_it_was_recorded_is_sent_again(
    start_runner: Callable[..., Runner], celery_workers: StartWorkers
) -> None:
    runner = start_runner("cms-2013-primary")
    run_id = runner.call(pool=FAILED_POOL, pause_before=["pool"])
    runner.until(lambda: runner.waits_before(run_id, "pool"), "the run to pause before pool", 90)
    queue = step_queue(runner, run_id, STEP)
    assert queue != runner.lab.queues[-1], "the step must run on a site queue, not the control queue"
    runner.workers.children[queue].stop()  # its site's worker is gone before the step is sent

    assert lync_failover("approve", run_id, env=runner.env).returncode == 0
    runner.until(
        lambda: queued_message(runner, queue, f"lync.{STEP}") is not None, f"{STEP} to be queued", 60
    )
    message = queued_message(runner, queue, f"lync.{STEP}")
    assert message is not None and runner.redis.lrem(queue, 1, message) == 1  # a BRPOP, then SIGKILL
    fresh = celery_workers(runner.lab.inventory_path, [queue], runner.lab.password_env)
    report = runner.wait(run_id, deadline_s=90)

    assert not isinstance(report, Exception) and report.state == "succeeded", report
    assert runner.lab.engine.verify()["ok"], runner.lab.engine.verify()
    assert [entry["outcome"] for entry in acts_received(runner)] == ["ok"], acts_received(runner)
    logs = "".join(
        child.log.read_text() for child in [*runner.workers.children.values(), *fresh.children.values()]
    )
    assert f"(lync.{STEP}) was lost with a worker before it started: sending it again" in logs
    assert runner.redis.zcard(DUE_KEY) == 0, "every message the run sent started: none is kept any more"
