"""The README's main command: ``lync-failover drill`` rehearses a failover on this machine and cleans up."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.console.cli_helpers import CLI, REPO, lync_failover

DEADLINE_S = 120.0
#: Fast enough for a test: a 15-minute pool failover takes 0.9 s.
FAST = ("--time-scale", "0.001")


def test_the_drill_fails_over_with_an_embedded_redis_and_prints_only_the_report_as_json() -> None:
    drill = lync_failover(
        "drill", "--scenario", "edge-same-site", "--json", *FAST, env={}, timeout=DEADLINE_S
    )

    assert drill.returncode == 0, drill.stderr
    report = json.loads(drill.stdout)
    assert report["state"] == "succeeded"
    assert report["lab_verification"] == {"ok": True, "differences": []}
    assert report["facts"]["edges_at_risk"] == [
        {"edge_pool": "edge1.contoso.com", "next_hop": "pool1.contoso.com"}
    ]
    assert "redis: embedded" in drill.stderr
    assert "lab end state matches the scenario's expected end state" in drill.stderr


def test_an_unknown_scenario_stops_the_drill_with_the_lab_s_error() -> None:
    drill = lync_failover("drill", "--scenario", "no-such-disaster", env={}, timeout=DEADLINE_S)

    assert drill.returncode == 2
    assert "the drill could not start" in drill.stdout
    assert "no-such-disaster" in drill.stdout and "cms-2013-primary" in drill.stdout


def test_ctrl_c_stops_everything_the_drill_started(tmp_path: Path) -> None:
    output = tmp_path / "drill.out"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LYNC_FAILOVER_INVENTORY")}
    with output.open("w") as sink:
        drill = subprocess.Popen(
            [CLI, "drill", "--keep-running", *FAST],
            cwd=REPO,
            env={**env, "COLUMNS": "200"},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        text = _wait_for(output, "still running", drill)
        redis_port = int(re.search(r"REDIS_URL=redis://127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        control_port = int(re.search(r"lab control API: http://127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        directory = re.search(r"(/\S*lync-drill-[^/\s]+)/", text).group(1)  # type: ignore[union-attr]
        assert _listening(redis_port) and _listening(control_port)
        started = _descendants(drill.pid)
        assert len(started) >= 5, started  # redis, the lab, three workers (and their pool processes)

        drill.send_signal(signal.SIGINT)
        assert drill.wait(timeout=DEADLINE_S) == 130
    finally:
        if drill.poll() is None:
            drill.kill()
    assert "everything the drill started is stopped" in output.read_text()
    assert not _listening(redis_port) and not _listening(control_port)
    assert not Path(directory).exists()
    assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == []


def _wait_for(output: Path, marker: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        text = output.read_text()
        if marker in text:
            return text
        assert process.poll() is None, f"the drill ended early:\n{text}"
        assert time.monotonic() < deadline, f"no {marker!r} within {DEADLINE_S:.0f} s:\n{text}"
        time.sleep(0.2)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children of children included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found
