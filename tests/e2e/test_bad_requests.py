"""Bad input at the door: a request is checked strictly (a dry_run that is not a JSON boolean is refused,
never read as false), an unknown argument is named, nothing reaches a server, and an ordinary refusal reads as
one: no traceback from ``celery result``, none in the workers' logs, none from a worker on a bad inventory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tasks.lock import lock_key
from tasks.run import Report
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL

#: What celery call may send for dry_run that is not a JSON boolean (each started a real failover once).
NOT_BOOLEANS: list[object] = ["", None, [], 0, 1, "false", "true"]


def test_a_request_is_checked_strictly_and_a_refusal_is_a_message_not_a_traceback(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("cms-2013-primary")

    refused = {repr(value): runner.call(pool=FAILED_POOL, dry_run=value) for value in NOT_BOOLEANS}
    unknown = runner.call(pool=FAILED_POOL, dryrun=True)
    no_phase = runner.call(pool=FAILED_POOL, pause_before=["pool", "nope"])
    hijack = runner.call(pool=FAILED_POOL, parent="another-run", lost_site="Datacenter1")
    no_parent = runner.call(pool=FAILED_POOL, dry_run=True, parent="x; Remove-Item C:\\ -Recurse")

    for given, run_id in refused.items():
        error = runner.wait(run_id)
        assert type(error).__name__ == "RequestError", (given, error)
        assert f"dry_run must be true or false (a JSON boolean), not {given}" in str(error), error
    error = runner.wait(unknown)
    assert type(error).__name__ == "RequestError" and "lync.failover has no argument 'dryrun'" in str(error)
    assert "lync.failover takes: pool, target, dry_run" in str(error), error
    error = runner.wait(no_phase)
    assert type(error).__name__ == "RequestError", error
    assert "'nope' is not a phase this run can pause before; its phases are: cms, edge, pool, verify" in str(
        error
    )
    error = runner.wait(hijack)  # a site run's pool lock is not for the taking by naming it
    assert type(error).__name__ == "RequestError" and "leave them out" in str(error), error
    error = runner.wait(no_parent)
    assert type(error).__name__ == "RequestError", error
    assert "parent 'x; Remove-Item C:\\\\ -Recurse' is not the site run that started this run" in str(error)
    assert runner.lab.engine.journal() == [], "a refused request reached a server"
    assert runner.redis.get(lock_key(FAILED_POOL)) is None
    # Positional arguments still work (celery call -a '["pool1.contoso.com"]', as docs/operator.md shows).
    positional = runner.wait(runner.call_task("lync.failover", FAILED_POOL, dry_run=True))
    assert isinstance(positional, Report) and positional.state == "planned", positional

    shown = runner.celery_result(unknown)
    assert shown.returncode == 1, shown
    assert "lync.failover has no argument 'dryrun'" in shown.stderr
    assert "Traceback" not in shown.stdout + shown.stderr, shown.stderr
    from worker.celery_app import app

    stored = app.AsyncResult(unknown)  # what a script or `celery result --traceback` reads
    assert (stored.state, stored.traceback) == ("FAILURE", None), stored.traceback
    logs = runner.workers.logs()
    assert "RequestError" in logs and "raised unexpected" not in logs and "Traceback" not in logs


def test_a_worker_started_on_a_bad_inventory_says_why_and_exits_without_a_traceback(
    tmp_path: Path, redis_url: str
) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text('{"format": "lync-failover-inventory/1", "sites": [], "pools": [{"fqdn": "x"}]}')

    started = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q", "lync.control"],
        env={**os.environ, "REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(inventory)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stdout + started.stderr
    assert "inventory.json: pools[0] (x): site: Field required" in started.stderr
    assert "servers: Field required" in started.stderr
