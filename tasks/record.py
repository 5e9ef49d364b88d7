"""The run record in Redis: request, facts, plan, each step's state, and the journal of remote commands.

Keys (all expire ``settings.record_ttl_s`` after the last write, well after Celery's results):
``lync:run:<id>`` (hash), ``lync:run:<id>:steps`` (hash: step call id -> JSON), ``lync:run:<id>:journal``
(stream, one entry per remote command), ``lync:runs`` (sorted set of run ids by start time).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

import redis

from plugins.kit.model import Facts, Plan, Request, StepCall
from worker.settings import get_settings

RUNS_KEY = "lync:runs"


def now() -> str:
    """The current time as ISO text (UTC)."""
    return datetime.now(UTC).isoformat()


@cache
def redis_client() -> redis.Redis:
    """This process's Redis client for run records, locks and journals."""
    return redis.Redis.from_url(get_settings().redis_url, decode_responses=True)


class RunRecord:
    """Writes one run's record; every write refreshes the expiry."""

    def __init__(self, run_id: str, client: redis.Redis | None = None) -> None:
        self.run_id = run_id
        self.client = client or redis_client()
        self.ttl = get_settings().record_ttl_s
        self.key = f"lync:run:{run_id}"
        self.steps_key = f"{self.key}:steps"
        self.journal_key = f"{self.key}:journal"

    def create(self, request: Request) -> None:
        """A new run in state ``running``."""
        started = datetime.now(UTC)
        self._set(
            state="running",
            pool=request.pool,
            request=request.model_dump_json(),
            started=started.isoformat(),
        )
        self.client.zadd(RUNS_KEY, {self.run_id: started.timestamp()})

    def set_facts(self, facts: Facts) -> None:
        """What discovery has found so far."""
        self._set(facts=facts.model_dump_json())

    def set_plan(self, plan: Plan) -> None:
        """The plan, and a pending entry per planned step."""
        self._set(plan=plan.model_dump_json())
        self.add_steps(plan.steps)

    def add_steps(self, calls: list[StepCall]) -> None:
        """Pending entries for step calls about to be sent (their task ids are set up front)."""
        queued = now()
        for index, call in enumerate(calls):
            self.update_step(call, state="pending", queued=f"{queued}/{index:04d}")

    def update_step(self, call: StepCall, **fields: object) -> dict[str, Any]:
        """Merge ``fields`` into the step's entry and return it."""
        raw = self.client.hget(self.steps_key, call.id)
        entry: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else {}
        entry.update(
            id=call.id, step=call.step, phase=call.phase, server=call.server, queue=call.queue, **fields
        )
        self.client.hset(self.steps_key, call.id, json.dumps(entry))
        self.client.expire(self.steps_key, self.ttl)
        return entry

    def step(self, call_id: str) -> dict[str, Any]:
        """One step's entry ({} when unknown)."""
        raw = self.client.hget(self.steps_key, call_id)
        loaded: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else {}
        return loaded

    def append_journal(self, entry: dict[str, str]) -> None:
        """One remote command, as it completes."""
        self.client.xadd(self.journal_key, cast(dict[Any, Any], entry))
        self.client.expire(self.journal_key, self.ttl)

    def finish(self, state: str, report: dict[str, Any] | None = None, error: str = "") -> None:
        """The run ended: ``succeeded``, ``planned`` (dry run) or ``failed``."""
        fields: dict[str, str] = {"state": state, "ended": now()}
        if report is not None:
            fields["report"] = json.dumps(report)
        if error:
            fields["error"] = error
        self._set(**fields)

    def _set(self, **fields: str) -> None:
        self.client.hset(self.key, mapping=cast(dict[Any, Any], fields))
        self.client.expire(self.key, self.ttl)


def get_run(run_id: str, client: redis.Redis | None = None) -> dict[str, Any] | None:
    """A run's record: request, state, times, facts, plan, steps (in plan order), report, error."""
    client = client or redis_client()
    raw = cast(dict[str, str], client.hgetall(f"lync:run:{run_id}"))
    if not raw:
        return None
    run: dict[str, Any] = {"run_id": run_id, **raw}
    for name in ("request", "facts", "plan", "report"):
        if name in run:
            run[name] = json.loads(run[name])
    steps = cast(dict[str, str], client.hgetall(f"lync:run:{run_id}:steps"))
    run["steps"] = [json.loads(value) for value in steps.values()]
    run["steps"].sort(key=lambda step: step.get("queued", ""))
    return run


def list_runs(limit: int = 50, client: redis.Redis | None = None) -> list[dict[str, Any]]:
    """The latest runs, newest first (run id, pool, state, start and end)."""
    client = client or redis_client()
    ids = cast(list[str], client.zrevrange(RUNS_KEY, 0, limit - 1))
    runs = []
    for run_id in ids:
        fields = cast(
            list[str | None], client.hmget(f"lync:run:{run_id}", ["pool", "state", "started", "ended"])
        )
        if fields[0] is not None:
            runs.append(
                dict(zip(("pool", "state", "started", "ended"), fields, strict=True)) | {"run_id": run_id}
            )
    return runs


def read_journal(run_id: str, since: str = "0-0", client: redis.Redis | None = None) -> list[dict[str, str]]:
    """The journal entries after stream id ``since`` (each with its ``id``), oldest first."""
    client = client or redis_client()
    start = f"({since}" if since != "0-0" else "-"
    entries = cast(list[tuple[str, dict[str, str]]], client.xrange(f"lync:run:{run_id}:journal", min=start))
    return [{"id": entry_id, **fields} for entry_id, fields in entries]
