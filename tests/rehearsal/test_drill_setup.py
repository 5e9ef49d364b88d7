"""The drill refuses a setup it cannot finish before it starts anything, and tells where its report is."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from tests.console.cli_helpers import lync_failover
from tests.fixtures_celery import StartWorkers
from tests.fixtures_lab import RunningLab

DEADLINE_S = 120.0
FAST = ("--time-scale", "0.001")


def test_a_report_file_that_cannot_be_written_stops_the_drill_before_it_starts(tmp_path: Path) -> None:
    drill = lync_failover(
        "drill", "--report", str(tmp_path / "missing" / "x.html"), env={}, timeout=DEADLINE_S
    )

    assert drill.returncode == 2, drill.stdout + drill.stderr
    assert "Traceback" not in drill.stdout + drill.stderr
    flat = " ".join(drill.stdout.split())
    assert f"cannot write {tmp_path / 'missing' / 'x.html'}: No such file or directory" in flat
    assert "Failover drill" not in flat, "nothing is started"


def test_an_unreachable_redis_url_is_named_before_the_lab_starts() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    drill = lync_failover("drill", env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, timeout=DEADLINE_S)

    assert drill.returncode == 2, drill.stdout + drill.stderr
    assert "Traceback" not in drill.stdout + drill.stderr
    flat = " ".join(drill.stdout.split())
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in flat and "Failover drill" not in flat


def test_workers_already_on_the_drill_s_queues_in_redis_url_stop_the_drill(
    lab_factory: Callable[..., RunningLab], celery_workers: StartWorkers, redis_url: str
) -> None:
    lab = lab_factory("cms-2013-primary")  # the same queues as the drill's lab
    control = lab.inventory["control_queue"]
    foreign = celery_workers(lab.inventory_path, [control], lab.password_env)

    drill = lync_failover("drill", *FAST, env={"REDIS_URL": redis_url}, timeout=DEADLINE_S)

    assert drill.returncode == 2, drill.stdout + drill.stderr
    flat = " ".join(drill.stdout.split())
    assert f"{control}: {foreign.hostnames[control]}" in flat
    assert "Unset REDIS_URL" in flat and "stop those workers" in flat
    assert " run " not in flat.split("the drill could not start")[0], "no run was triggered"


def test_without_keep_running_the_drill_says_the_record_goes_away_and_suggests_report() -> None:
    drill = lync_failover("drill", "--scenario", "edge-same-site", *FAST, env={}, timeout=DEADLINE_S)

    assert drill.returncode == 0, drill.stdout + drill.stderr
    flat = " ".join(drill.stdout.split())
    assert "goes away with the drill's embedded Redis" in flat and "--report FILE" in flat
    assert "Report: lync-failover report" not in flat
