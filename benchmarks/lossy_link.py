"""Benchmark (not a test): how much a lossy link slows a full failover.

Runs a whole failover of a lab scenario (the drill's default, cms-2013-primary) on a real stack, as the drill
does (an embedded Redis, the lab, one Celery worker per queue), a few rounds clean and a few rounds with a
share of every server's WSMan requests dropped (the lab's ``transport_fault_rate``: the connection is reset
after the request was read, before it is processed). Prints a table: the median time of a run, its ratio to
the clean median, how many requests the lab dropped, how many step retries the run took, and how many of
the changes the runs made the lab received exactly once. Lab latencies are off: only the runner's own time
counts. Usage: python benchmarks/lossy_link.py [--rounds N] [--rate 0.3] [--scenario NAME]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tasks.record import get_run
from tasks.runbook import start
from worker.celery_app import app, configure
from worker.inventory import inventory_at
from worker.redis_connection import connect
from worker.rehearsal.drill import DEFAULT_SCENARIO, rehearsal_request
from worker.rehearsal.redis_server import EmbeddedRedis
from worker.rehearsal.stack import LabProcess, start_lab, start_workers
from worker.settings import Settings

RUN_DEADLINE_S = 900.0


@dataclass(frozen=True)
class Round:
    """One run: how long it took and what it went through."""

    seconds: float
    succeeded: bool
    dropped: int
    retries: int
    #: The changes the run made (the acts of its steps that were not skipped), and how many of them the lab
    #: received exactly once.
    acts: int
    acts_once: int


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs per setting")
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests dropped on every server")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO)
    args = parser.parse_args()
    settings = {"clean": 0.0, f"{args.rate:.0%} dropped": args.rate}
    results: dict[str, list[Round]] = {}
    with tempfile.TemporaryDirectory(prefix="lossy-link-") as directory, EmbeddedRedis() as redis_url:
        for label, rate in settings.items():
            results[label] = []
            for number in range(args.rounds):
                result = run_once(args.scenario, rate, redis_url, Path(directory, f"{rate}-{number}"))
                print(f"{label} round {number + 1}: {result.seconds:.1f} s", flush=True)
                results[label].append(result)
    print_table(args.scenario, results)


def run_once(scenario: str, rate: float, redis_url: str, directory: Path) -> Round:
    """One failover of ``scenario`` on a fresh lab and workers, ``rate`` of all requests dropped."""
    lab = start_lab(scenario, directory / "lab")
    try:
        lab.post("/faults", {"replication_lag_seconds": 0, "transport_fault_rate": {"*": rate}})
        workers = start_workers(redis_url, lab.inventory_path, lab.queues(), directory / "logs")
        try:
            return _timed_run(lab, redis_url)
        finally:
            workers.stop()
    finally:
        lab.child.stop()


def _timed_run(lab: LabProcess, redis_url: str) -> Round:
    configure(app, Settings(redis_url=redis_url, inventory_path=lab.inventory_path))
    state = lab.get("/state")
    assert isinstance(state, dict)
    started = time.perf_counter()
    result = start(rehearsal_request(state), queue=inventory_at(lab.inventory_path).control_queue)
    result.get(timeout=RUN_DEADLINE_S, propagate=False)
    seconds = time.perf_counter() - started
    run = get_run(result.id, connect(redis_url))
    verified = lab.get("/verify")
    after = lab.get("/state")
    journal = lab.get("/journal")
    assert run is not None and isinstance(verified, dict) and isinstance(after, dict)
    assert isinstance(journal, list)
    skipped = {step.id for step in run.steps if step.state == "skipped"}
    acts = [
        _key(call.server, command.cmdlet, command.parameters)
        for call in (run.plan.steps if run.plan is not None else [])
        if call.id not in skipped
        for command in call.commands_for("act")
    ]
    received = Counter(_key(e["server"], e["cmdlet"], e["parameters"]) for e in journal)
    return Round(
        seconds=seconds,
        succeeded=run.state == "succeeded" and bool(verified["ok"]),
        dropped=int(after["dropped_requests"]),
        retries=sum(max(0, step.attempts - 1) for step in run.steps),
        acts=len(acts),
        acts_once=sum(1 for act in acts if received[act] == 1),
    )


def _key(server: str, cmdlet: str, parameters: object) -> str:
    return f"{server.lower()} {cmdlet.lower()} {json.dumps(parameters, sort_keys=True, default=str)}"


def print_table(scenario: str, results: dict[str, list[Round]]) -> None:
    """One row per setting: medians over its rounds, and the ratio to the first (clean) setting."""
    print(f"\nscenario {scenario}, {len(next(iter(results.values())))} rounds each, lab latencies off")
    header = ("setting", "median s", "min s", "max s", "ratio", "dropped", "retries", "changes once", "ok")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    baseline = statistics.median(r.seconds for r in next(iter(results.values())))
    for label, rounds in results.items():
        seconds = [r.seconds for r in rounds]
        row = (
            label,
            f"{statistics.median(seconds):.1f}",
            f"{min(seconds):.1f}",
            f"{max(seconds):.1f}",
            f"{statistics.median(seconds) / baseline:.1f}x",
            f"{statistics.median(r.dropped for r in rounds):.0f}",
            f"{statistics.median(r.retries for r in rounds):.0f}",
            f"{sum(r.acts_once for r in rounds)}/{sum(r.acts for r in rounds)}",
            f"{sum(r.succeeded for r in rounds)}/{len(rounds)}",
        )
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
