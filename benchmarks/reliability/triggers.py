"""Ten triggers for the same pool at the same instant: exactly one run starts, nine are refused naming it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from benchmarks.reliability.rig import RUN_DEADLINE_S, Rig
from benchmarks.reliability.table import Row, judged, progress
from tasks.record import get_run

TRIGGERS = 10
#: Discovery is slow enough that every trigger arrives while the first run holds the pool.
SLOW_DISCOVERY = {"latency": {"Get-CsDatabaseMirrorState": 2.0}}


def concurrent_triggers_row(stack: Rig) -> Row:
    """Send the scenario's launcher from ten threads released together; judge the runs and refusals."""
    stack.lab.post("/faults", SLOW_DISCOVERY)
    request = stack.request()
    together = threading.Barrier(TRIGGERS)

    def trigger(_: int) -> str:
        together.wait()
        return stack.start(request)

    with ThreadPoolExecutor(TRIGGERS) as pool:
        run_ids = list(pool.map(trigger, range(TRIGGERS)))
    results = {
        run_id: stack.result(run_id).get(timeout=RUN_DEADLINE_S, propagate=False) for run_id in run_ids
    }
    started = [run_id for run_id in run_ids if get_run(run_id, stack.client) is not None]
    refused = [run_id for run_id, result in results.items() if type(result).__name__ == "RunRefused"]
    naming = [run_id for run_id in refused if len(started) == 1 and started[0] in str(results[run_id])]
    measured = f"{len(started)} started, {len(refused)} RunRefused, {len(naming)} naming the run"
    progress(f"{TRIGGERS} concurrent triggers: {measured}")
    met = len(started) == 1 and len(naming) == TRIGGERS - 1
    return judged(
        f"{TRIGGERS} concurrent triggers for one pool",
        TRIGGERS,
        "1 run; 9 RunRefused naming it",
        measured,
        met,
    )
