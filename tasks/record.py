"""The run record in Redis: written as the run goes (:class:`RunRecord`), read back as models (tasks.run).

Keys (all expire ``settings.record_ttl_s`` after the last write, well after Celery's results):
``lync:run:<id>`` (hash: state, subject, request, times, facts, plan, error, children, pools),
``lync:run:<id>:steps`` (hash: step
call id -> StepEntry JSON), ``lync:run:<id>:journal`` (stream, one JournalEntry per remote command),
``lync:runs`` (sorted set of run ids by start time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

import redis
from pydantic import TypeAdapter

from plugins.kit.model import Facts, Plan, StepCall
from plugins.kit.requests import AnyRequest
from tasks.run import Gate, JournalEntry, PoolOutcome, Run, RunState, RunSummary, StepEntry, StepState
from worker.redis_connection import connect
from worker.settings import get_settings

RUNS_KEY = "lync:runs"
_REQUEST: TypeAdapter[AnyRequest] = TypeAdapter(AnyRequest)
#: The run hash's fields that hold JSON.
_JSON_FIELDS = ("request", "facts", "plan", "children", "pools", "gates")


def now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


@cache
def redis_client() -> redis.Redis:
    """This process's Redis client for run records, locks and journals."""
    return connect(get_settings().redis_url)


def run_key(run_id: str) -> str:
    """The run's hash."""
    return f"lync:run:{run_id}"


class RunRecord:
    """Writes one run's record; every write refreshes the expiry, in the same round trip.

    A step's entry is read once and then kept: the execution that writes it holds the step's lease, so no
    one else writes it meanwhile.
    """

    def __init__(self, run_id: str, client: redis.Redis | None = None, ttl_s: int | None = None) -> None:
        self.run_id = run_id
        self.client = client or redis_client()
        self.ttl = ttl_s or get_settings().record_ttl_s
        self.key = run_key(run_id)
        self.steps_key = f"{self.key}:steps"
        self.journal_key = f"{self.key}:journal"
        #: The step entries this record read or wrote, as it wrote them.
        self._entries: dict[str, StepEntry] = {}

    def create(self, request: AnyRequest) -> None:
        """A new run in state ``running``."""
        started = now()
        self._set(
            state="running",
            subject=request.subject,
            request=request.model_dump_json(),
            started=started.isoformat(),
        )
        self.client.zadd(RUNS_KEY, {self.run_id: started.timestamp()})

    def set_facts(self, facts: Facts) -> None:
        """What the run knows so far."""
        self._set(facts=facts.model_dump_json())

    def set_plan(self, plan: Plan) -> None:
        """The plan, and a pending entry per planned step."""
        self._set(plan=plan.model_dump_json())
        self.queue_steps(plan.steps)

    def set_children(self, children: dict[str, str]) -> None:
        """A site run's pools and the id of each one's own run."""
        self._set(children=json.dumps(children))

    def set_outcomes(self, outcomes: list[PoolOutcome]) -> None:
        """How each pool of a site run ended."""
        self._set(pools=json.dumps([outcome.model_dump(mode="json") for outcome in outcomes]))

    def set_gate(self, gate: Gate) -> None:
        """A pause before a phase, as it stands now (a later write of the same phase replaces it)."""
        raw = self.client.hget(self.key, "gates")
        gates = [Gate.model_validate(item) for item in json.loads(str(raw))] if raw else []
        gates = [*(kept for kept in gates if kept.phase != gate.phase), gate]
        self._set(gates=json.dumps([kept.model_dump(mode="json") for kept in gates]))

    def queue_steps(self, calls: list[StepCall], task_ids: Mapping[str, str] | None = None) -> None:
        """Pending entries for step calls about to be sent, in order, each with the id of the Celery task
        that will run it when ``task_ids`` (by call id) has one: all in one round trip after one read."""
        queued = now().isoformat()
        found = self._read_steps([call.id for call in calls])
        self._put_steps(
            [
                _changed(
                    found.get(call.id) or StepEntry.of(call),
                    {"queued": f"{queued}/{index:04d}"}
                    | ({"task_id": task_ids[call.id]} if task_ids and call.id in task_ids else {}),
                )
                for index, call in enumerate(calls)
            ]
        )

    def step_started(self, call: StepCall, worker: str, task_id: str) -> StepEntry:
        """One more attempt of the call begins on ``worker``; the entry, with the attempt counted."""
        entry = self._entry(call)
        started = now()
        return self._write(
            entry,
            server=call.server,
            state="running",
            worker=worker,
            task_id=task_id,
            attempts=entry.attempts + 1,
            first_started=entry.first_started or started,
            started=started,
        )

    def step_moved(self, call: StepCall, to_server: str) -> None:
        """The call runs on another server of its pool than planned."""
        self._update(call, server=to_server, moved_from=call.server)

    def step_acting(self, call: StepCall, line: str) -> None:
        """One of the call's acts is about to be sent (until step_acted, it may be running on the server)."""
        self._update(call, acting=line, acting_since=now())

    def step_acted(self, call: StepCall) -> None:
        """The act in flight ended (whatever its outcome)."""
        self._update(call, acting="", acting_since=None)

    def step_retrying(self, call: StepCall, reason: str, *, waiting: bool) -> None:
        """The call will run again; ``waiting`` when it only waits for a state."""
        self._update(call, state="retrying", error=reason, waiting=waiting)

    def step_remedying(self, call: StepCall, reason: str) -> None:
        """A remedy runs before the call runs again."""
        self._update(call, state="remedying", error=reason, waiting=False)

    def step_ended(self, call: StepCall, state: StepState, text: str) -> None:
        """The call ended: ``succeeded`` or ``skipped`` with its summary, or ``failed`` with its error."""
        result = {"error": text} if state == "failed" else {"summary": text}
        self._update(
            call, server=call.server, state=state, ended=now(), acting="", acting_since=None, **result
        )

    def step(self, call_id: str) -> StepEntry | None:
        """One step's entry as Redis has it (None when unknown)."""
        return self._read_steps([call_id]).get(call_id)

    def append_journal(self, entry: JournalEntry) -> None:
        """One remote command, as it completes."""
        fields = entry.model_dump(mode="json", exclude={"id"})
        fields["parameters"] = json.dumps(fields["parameters"])
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(self.journal_key, cast(dict[Any, Any], fields))
        pipe.expire(self.journal_key, self.ttl)
        pipe.execute()

    def finish(self, state: RunState, error: str = "", cancelled_by: str = "") -> None:
        """The run ended: ``succeeded``, ``planned`` (dry run), ``failed`` (with the error) or ``cancelled``
        (by whom, and the error saying where)."""
        extra = {"error": error} if error else {}
        self._set(
            state=state,
            ended=now().isoformat(),
            **extra,
            **({"cancelled_by": cancelled_by} if cancelled_by else {}),
        )

    def take_turn(self, call: StepCall, turn: int) -> bool:
        """Whether an execution of ``call`` at its ``turn`` may run (no later turn was handed out); the turn
        is recorded as the call's. Called under the call's lease."""
        entry = self.step(call.id) or StepEntry.of(call)
        mine = (call.remedies, turn)
        if entry.turn > mine:
            return False
        if entry.turn < mine:
            self._write(entry, turn=mine)
        return True

    def pass_turn(self, call: StepCall, turn: int) -> None:
        """The call's next execution is ``call`` at ``turn`` (a retry, or the call again after a remedy)."""
        self._update(call, turn=(call.remedies, turn))

    def went_on(self, call: StepCall) -> bool:
        """Whether an execution of ``call`` ended it and went on with the run, or the run ended."""
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(self._went_on_key(call))
        pipe.hget(self.key, "state")
        went, state = pipe.execute()
        return bool(went) or state not in (None, "running")

    def go_on_once(self, call: StepCall, after: Mapping[str, Any]) -> bool:
        """Whether this execution of an ended step call is the one that goes on with the run (with ``after``,
        kept until its continuation is sent, so that a copy can send it should this execution die first)."""
        return bool(self.client.set(self._went_on_key(call), json.dumps(after), nx=True, ex=self.ttl))

    def continuation_sent(self, call_id: str) -> None:
        """The execution that went on from call ``call_id`` sent the next step (Celery does on its return)."""
        self.client.set(self._sent_key(call_id), "1", ex=self.ttl)

    def lost_continuation(self, call: StepCall) -> dict[str, Any] | None:
        """The context an execution went on from ``call`` with, when the run still runs and that execution
        never confirmed sending the next step (it died between): a copy sends it on; else None."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self._went_on_key(call))
        pipe.exists(self._sent_key(call.id))
        pipe.hget(self.key, "state")
        went, sent, state = pipe.execute()
        if went is None or sent or state != "running":
            return None
        return cast(dict[str, Any], json.loads(went))

    def _went_on_key(self, call: StepCall) -> str:
        return f"{self.key}:went_on:{call.id}"

    def _sent_key(self, call_id: str) -> str:
        return f"{self.key}:went_on:{call_id}:sent"

    def put_step(self, entry: StepEntry) -> None:
        """Write a step's entry as it is."""
        self._put_steps([entry])

    def _put_steps(self, entries: list[StepEntry]) -> None:
        if not entries:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.steps_key, mapping={entry.id: entry.model_dump_json() for entry in entries})
        pipe.expire(self.steps_key, self.ttl)
        pipe.execute()
        self._entries.update((entry.id, entry) for entry in entries)

    def _read_steps(self, call_ids: list[str]) -> dict[str, StepEntry]:
        if not call_ids:
            return {}
        raw = cast(list[str | None], self.client.hmget(self.steps_key, call_ids))
        found = {
            call_id: StepEntry.model_validate_json(value)
            for call_id, value in zip(call_ids, raw, strict=True)
            if value is not None
        }
        self._entries.update(found)
        return found

    def _entry(self, call: StepCall) -> StepEntry:
        """The call's entry as this record last wrote or read it, else as Redis has it, else a new one."""
        return self._entries.get(call.id) or self.step(call.id) or StepEntry.of(call)

    def _update(self, call: StepCall, **changes: object) -> StepEntry:
        return self._write(self._entry(call), **changes)

    def _write(self, entry: StepEntry, **changes: object) -> StepEntry:
        updated = _changed(entry, changes)
        self.put_step(updated)
        return updated

    def _set(self, **fields: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.key, mapping=cast(dict[Any, Any], fields))
        pipe.expire(self.key, self.ttl)
        pipe.execute()


def get_run(run_id: str, client: redis.Redis | None = None) -> Run | None:
    """A run's record with its steps in the order they were queued (None when Redis has no such run)."""
    client = client or redis_client()
    raw = cast(dict[str, str], client.hgetall(run_key(run_id)))
    if not raw:
        return None
    fields: dict[str, Any] = {
        name: json.loads(raw[name]) if name in _JSON_FIELDS else raw[name] for name in raw
    }
    steps = [
        StepEntry.model_validate_json(value)
        for value in cast(dict[str, str], client.hgetall(f"{run_key(run_id)}:steps")).values()
    ]
    steps.sort(key=lambda step: step.queued)
    return Run.model_validate({**fields, "run_id": run_id, "steps": steps})


def list_runs(limit: int = 50, client: redis.Redis | None = None) -> list[RunSummary]:
    """The latest runs, newest first."""
    client = client or redis_client()
    ids = cast(list[str], client.zrevrange(RUNS_KEY, 0, limit - 1))
    names = ("subject", "state", "started", "ended", "request")
    runs = []
    for run_id in ids:
        values = cast(list[str | None], client.hmget(run_key(run_id), list(names)))
        found = {name: value for name, value in zip(names, values, strict=True) if value is not None}
        raw = found.pop("request", None)
        if "subject" in found and raw is not None:
            request = _REQUEST.validate_json(raw)
            summary = {**found, "run_id": run_id, "dry_run": request.dry_run, "workflow": request.workflow}
            runs.append(RunSummary.model_validate(summary))
    return runs


def read_journal(run_id: str, since: str = "0-0", client: redis.Redis | None = None) -> list[JournalEntry]:
    """The journal entries after stream id ``since``, oldest first."""
    client = client or redis_client()
    start = f"({since}" if since != "0-0" else "-"
    entries = cast(list[tuple[str, dict[str, str]]], client.xrange(f"{run_key(run_id)}:journal", min=start))
    return [
        JournalEntry.model_validate(
            {**fields, "id": entry_id, "parameters": json.loads(fields["parameters"])}
        )
        for entry_id, fields in entries
    ]


def _changed(model: StepEntry, changes: Mapping[str, object]) -> StepEntry:
    """``model`` with ``changes``, validated (a typo in a field name fails here, not in a reader)."""
    return StepEntry.model_validate({**model.model_dump(), **changes})
