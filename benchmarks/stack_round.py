"""One round: a fresh lab of a scenario with its faults, fresh workers, one run triggered as the drill does,
and everything the tables need from it (wall time, records, journals, the lab's journal, worker memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import redis

from tasks.record import get_run, read_journal
from tasks.run import JournalEntry, Run
from worker.rehearsal.drill import rehearsal_request
from worker.rehearsal.stack import LabProcess, WorkerSet, start_lab, start_workers
from worker.settings import get_settings

RUN_DEADLINE_S = 600.0
KIB = 1024


class RoundFailed(RuntimeError):
    """The run failed, or the lab's end state is not the scenario's: the figure would mean nothing."""


@dataclass(frozen=True)
class RunnerRound:
    """What one run of the runner did and cost."""

    #: From sending the launcher to holding its result, as an operator waiting on ``celery result`` sees it.
    wall_s: float
    #: The run, and for a site run each pool's run after it.
    runs: list[Run]
    #: Each run's journal, by run id.
    journals: dict[str, list[JournalEntry]]
    #: Every command the lab received (Import-Module included: one per runspace pool opened).
    lab_journal: list[dict[str, Any]]
    #: The highest peak resident set of any worker process (parent or pool process), in MB.
    peak_rss_mb: float
    #: Redis commands the round sent (broker, results, records, journal, leases).
    redis_commands: int

    @property
    def pools_opened(self) -> int:
        """Runspace pools the workers opened: the executor imports the Lync module once per pool (a scheduled
        task's own import, run locally on the server, opens none)."""
        return sum(
            1 for entry in self.lab_journal if entry["cmdlet"] == "Import-Module" and not entry.get("local")
        )

    @property
    def journal(self) -> list[JournalEntry]:
        """Every run's commands, run after run."""
        return [entry for run in self.runs for entry in self.journals[run.run_id]]

    @property
    def servers_touched(self) -> int:
        """Distinct servers the run's commands went to."""
        return len({entry.server for entry in self.journal})


@contextmanager
def fresh_lab(scenario: str, directory: Path, faults: dict[str, Any]) -> Iterator[LabProcess]:
    """A lab of ``scenario`` (a name or a path) with ``faults``, stopped afterwards."""
    lab = start_lab(scenario, directory)
    try:
        lab.post("/faults", faults)
        yield lab
    finally:
        lab.child.stop()


def run_runner(redis_url: str, scenario: str, directory: Path, faults: dict[str, Any]) -> RunnerRound:
    """Run the scenario's rehearsal (as the drill does) on a fresh lab and fresh workers."""
    from tasks.runbook import start
    from worker.celery_app import app, configure
    from worker.inventory import inventory_at

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()  # what earlier rounds left (a failover's remembered Edge moves) is not this lab's
    with fresh_lab(scenario, directory / "lab", faults) as lab:
        workers = start_workers(redis_url, lab.inventory_path, lab.queues(), directory / "logs")
        try:
            configure(app, replace(get_settings(), redis_url=redis_url, inventory_path=lab.inventory_path))
            state = lab.get("/state")
            request = rehearsal_request(cast(dict[str, Any], state))
            before = _redis_calls(client)
            started = time.perf_counter()
            result = start(request, queue=inventory_at(lab.inventory_path).control_queue)
            result.get(timeout=RUN_DEADLINE_S, propagate=False)
            wall_s = time.perf_counter() - started
            redis_commands = _redis_calls(client) - before
            peak = peak_rss_mb(workers)
        finally:
            workers.stop()
        runs = _runs(result.id, client)
        if runs[0].state != "succeeded":
            raise RoundFailed(f"{scenario}: run {result.id} {runs[0].state}: {runs[0].error}")
        verdict = cast(dict[str, Any], lab.get("/verify"))
        if not verdict["ok"]:
            raise RoundFailed(f"{scenario}: the lab's end state differs: {verdict['differences']}")
        journals = {run.run_id: read_journal(run.run_id, client=client) for run in runs}
        lab_journal = cast(list[dict[str, Any]], lab.get("/journal"))
    return RunnerRound(wall_s, runs, journals, lab_journal, peak, redis_commands)


def peak_rss_mb(workers: WorkerSet) -> float:
    """The highest VmHWM of the workers' processes (each worker and its pool processes share a group)."""
    groups = {child.process.pid for child in workers.children.values()}
    peaks = [_vm_hwm_kib(pid) for pid in _processes_in(groups)]
    return max(peaks, default=0) * KIB / 1e6


def _runs(run_id: str, client: redis.Redis) -> list[Run]:
    """The run and, for a site run, its pools' runs."""
    run = get_run(run_id, client)
    if run is None:
        raise RoundFailed(f"run {run_id} has no record: its launcher refused it")
    children = [get_run(child, client) for child in run.children.values()]
    return [run, *(child for child in children if child is not None)]


def _redis_calls(client: redis.Redis) -> int:
    stats = cast(dict[str, dict[str, int]], client.info("commandstats"))
    return sum(int(stat["calls"]) for stat in stats.values())


def _processes_in(groups: set[int]) -> list[int]:
    """Live processes whose process group is one of ``groups``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:
            found.append(int(stat.parent.name))
    return found


def _vm_hwm_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])
