"""Bad requests, bad inventories, the injection corpus and ten concurrent triggers share one stack, and its
runs (with, in the full run, a site failover and a failback) are what the secrets search then reads.

Flower (DEBUG) watches from the start. The first workers log on with a wrong password, so that a failed run
is among the runs searched; then workers with the right one, and celery beat, take over.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from benchmarks.reliability.door import bad_request_rows, injection_rows, inventory_rows
from benchmarks.reliability.rig import Rig, rig
from benchmarks.reliability.secrets import Evidence, secrets_rows
from benchmarks.reliability.table import Row, progress
from benchmarks.reliability.triggers import concurrent_triggers_row
from lab.inventory import PASSWORD_ENV
from plugins.kit.requests import ReadinessRequest
from worker.inventory import load_inventory
from worker.redis_connection import connect
from worker.rehearsal.redis_server import EmbeddedRedis
from worker.rehearsal.stack import start_beat, start_flower

SCENARIO = "cms-2013-primary"
#: The full run also fails a pool back and fails a site over, for the secrets search: in that order, because
#: they share one Redis and a failback returns the Edge next hops its pool's failover remembered there (the
#: site run moves edge1 in a lab the failback's lab does not have).
MORE_SCENARIOS = ("failback-pool1", "site-datacenter1")


def session_rows(server: EmbeddedRedis, root: Path, quick: bool) -> list[Row]:
    """The door's rows, the triggers' row, then a row per place searched for secrets."""
    directory = root / "session"
    auth = f"reliability:{secrets.token_urlsafe(12)}"
    wrong = secrets.token_urlsafe(18)
    evidence = Evidence(secrets={wrong.encode()})
    connect(server.url).flushall()
    flower, flower_url = start_flower(server.url, directory, auth, loglevel="debug")
    evidence.logs.append(flower.log)
    try:
        with rig(
            server.url, SCENARIO, root, env={PASSWORD_ENV: wrong}, loglevel="DEBUG", fresh=False
        ) as stack:
            rows = shared_stack_rows(stack, directory, quick)
            evidence.gather(stack, flower)
        for scenario in () if quick else MORE_SCENARIOS:
            with rig(server.url, scenario, root, loglevel="DEBUG", fresh=False) as stack:
                ended = stack.wait(stack.start(stack.request()))[0]
                progress(f"{scenario} for the secrets search: {ended.state}")
                evidence.gather(stack, flower)
        return rows + secrets_rows(evidence, server.url, flower_url, auth)
    finally:
        flower.stop()


def shared_stack_rows(stack: Rig, directory: Path, quick: bool) -> list[Row]:
    """A failed run (wrong password), then the right workers and beat; the door's probes, ten concurrent
    triggers (whose one run fails the pool over), and a readiness check."""
    failed = stack.wait(stack.start(stack.request()))[0]
    progress(f"a run on a wrong password, for the secrets search: {failed.state}: {failed.error[:150]}")
    stack.restart_workers({})
    stack.others.append(
        start_beat(stack.redis_url, stack.lab.inventory_path, stack.directory, loglevel="DEBUG")
    )
    inventory = load_inventory(stack.lab.inventory_path)
    rows = [
        *bad_request_rows(stack, inventory, quick),
        *inventory_rows(stack, directory / "inventories", quick),
        *injection_rows(stack, inventory),
        concurrent_triggers_row(stack),
    ]
    checked = stack.wait(stack.start(ReadinessRequest()))[0]
    progress(f"a readiness check, for the secrets search: {checked.state}")
    return rows
