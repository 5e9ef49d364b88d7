"""30% transport faults: the same scenario at the drill's time scale, clean and with 30% of the requests to
every server broken in transport; the faulty run must still be correct, and take at most 3x as long."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.reliability.rig import RUN_DEADLINE_S, ProbeError, rig
from benchmarks.reliability.table import Row, judged, progress
from worker.rehearsal.drill import DEFAULT_TIME_SCALE, PRODUCTION_SECONDS, REPLICATION_SECONDS
from worker.rehearsal.stack import StackError

SCENARIO = "cms-2013-primary"
RATE = 0.3
RATIO_GOAL = 3.0
#: A faulty run still going after this many clean runs' time is stopped: the goal is missed anyway.
SLOWEST = 20.0
#: The drill's lab: production durations at its default time scale.
DRILL_LAB: dict[str, object] = {
    "latency": PRODUCTION_SECONDS,
    "latency_scale": DEFAULT_TIME_SCALE,
    "replication_lag_seconds": REPLICATION_SECONDS * DEFAULT_TIME_SCALE,
}
FAULTY: dict[str, object] = {"transport_fault_rate": {"*": RATE}}
PROBE = f"{RATE:.0%} transport faults"


@dataclass(frozen=True)
class Timed:
    """How long a run took (until stopped, when it did not end), and what was wrong with it."""

    seconds: float
    ended: bool
    #: "" when the run reached the declared end state applying each act once.
    problem: str


def transport_rows(redis_url: str, root: Path, quick: bool) -> list[Row]:
    """Rounds of a clean run then a faulty run (``quick``: one round): correctness and the time ratio."""
    rounds = []
    for _ in range(1 if quick else 3):
        clean = timed_run(redis_url, root, {}, RUN_DEADLINE_S)
        faulty = timed_run(
            redis_url, root, FAULTY, SLOWEST * clean.seconds if clean.ended else RUN_DEADLINE_S
        )
        for kind, run in (("clean", clean), ("faulty", faulty)):
            progress(f"{PROBE}: {kind} run {run.seconds:.1f} s: {run.problem or 'correct'}")
        rounds.append((clean, faulty))
    runs = [run for pair in rounds for run in pair]
    wrong = [run.problem for run in runs if run.problem]
    correct = judged(
        f"{PROBE}: declared end state, each act once",
        len(runs),
        "100% of runs; 0 acts twice",
        f"{len(runs) - len(wrong)}/{len(runs)} runs" + (f" ({'; '.join(wrong)})" if wrong else ""),
        not wrong,
    )
    timed = [(clean.seconds, faulty) for clean, faulty in rounds if clean.ended]
    if not timed:
        return [
            correct,
            judged(f"{PROBE}: time vs a clean run", len(runs), f"≤ {RATIO_GOAL:g}x", "no timing", False),
        ]
    clean_s = statistics.median(seconds for seconds, _ in timed)
    faulty_s = statistics.median(faulty.seconds for _, faulty in timed)
    stopped = not all(faulty.ended for _, faulty in timed)
    ratio = faulty_s / clean_s
    measured = f"{'≥ ' if stopped else ''}{ratio:.1f}x (median {faulty_s:.0f} s vs {clean_s:.0f} s clean)"
    met = not stopped and ratio <= RATIO_GOAL
    return [correct, judged(f"{PROBE}: time vs a clean run", len(runs), f"≤ {RATIO_GOAL:g}x", measured, met)]


def timed_run(redis_url: str, root: Path, faults: dict[str, object], deadline_s: float) -> Timed:
    """The scenario's run on a fresh stack at the drill's time scale with ``faults``, until the deadline."""
    try:
        with rig(redis_url, SCENARIO, root, faults={**DRILL_LAB, **faults}) as stack:
            since = stack.journal_mark()
            started = time.monotonic()
            run_id = stack.start(stack.request())
            try:
                stack.wait(run_id, deadline_s)
            except ProbeError as error:
                return Timed(time.monotonic() - started, False, str(error))
            seconds = time.monotonic() - started
            outcome = stack.outcome(run_id, since)
    except StackError as error:
        return Timed(0.0, False, f"not carried out: {error}")
    return Timed(seconds, True, "" if outcome.correct else outcome.describe())
