"""A run's audit, read from its record and journal: facts, plan, steps, commands and the timeline.

Every renderer (console, text, Markdown, JSON, HTML) starts from :class:`Audit`, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from plugins.kit.model import Facts, StepCall
from plugins.kit.requests import AnyRequest, FailbackRequest, ReadinessRequest, Request, SiteRequest
from plugins.kit.versions import version_name
from tasks.record import get_run, read_journal
from tasks.run import JournalEntry, Run, StepEntry

#: What a report calls each kind of run.
TITLES = {
    "failover": "Failover of",
    "site": "Site failover of",
    "failback": "Failback of",
    "readiness": "Readiness check of",
}


@dataclass(frozen=True)
class Bar:
    """One step on the timeline: seconds from the run's start, and when its commands ran."""

    step: StepEntry
    start_s: float
    end_s: float
    #: (seconds from the run's start, outcome) of each of the step's commands.
    commands: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class Audit:
    """Everything an auditor needs about one run."""

    run: Run
    commands: list[JournalEntry]

    @property
    def run_id(self) -> str:
        """The run's id (the Celery id ``celery call`` printed)."""
        return self.run.run_id

    @property
    def title(self) -> str:
        """``Failover of pool1.contoso.com``, ``Dry run of ...``, ``Site failover of Datacenter1``, ..."""
        run = self.run
        kind = TITLES[run.request.workflow]
        if run.dry_run and run.request.workflow != "readiness":
            return (
                f"Dry run of {run.subject}"
                if kind == TITLES["failover"]
                else f"Dry run: {kind.lower()} {run.subject}"
            )
        return f"{kind} {run.subject}"

    @property
    def plan(self) -> list[StepCall]:
        """The planned step calls (after discovery)."""
        return self.run.plan.steps if self.run.plan is not None else []

    def facts(self) -> list[tuple[str, str]]:
        """The request and the facts the plan rests on, as (label, value) lines."""
        return describe_facts(self.run.request, self.run.planned_facts)

    def timeline(self) -> list[Bar]:
        """A bar per step that started, from its first attempt to its end (or the run's end)."""
        origin = self.run.started
        finish = self.run.ended or max((c.ended for c in self.commands), default=origin)
        bars = []
        for step in self.run.steps:
            begun = step.first_started or step.started
            if begun is None:
                continue
            commands = tuple(
                (seconds_between(origin, c.started), c.outcome) for c in self.commands if c.step == step.id
            )
            end = step.ended or finish
            start_s = seconds_between(origin, begun)
            bars.append(Bar(step, start_s, max(seconds_between(origin, end), start_s), commands))
        return bars

    def not_run(self) -> list[StepEntry]:
        """The steps that never started (after a failure, or still queued)."""
        return [step for step in self.run.steps if step.first_started is None and step.started is None]

    def to_json(self) -> dict[str, Any]:
        """The whole audit as JSON-ready data."""
        return {
            **self.run.model_dump(mode="json"),
            "facts_summary": dict(self.facts()),
            "commands": [
                c.model_dump(mode="json", exclude={"id"}) | {"command_line": c.line} for c in self.commands
            ],
            "timeline": [
                {
                    "step_id": bar.step.id,
                    "server": bar.step.server,
                    "outcome": bar.step.outcome,
                    "attempts": bar.step.attempts,
                    "waited": bar.step.waiting,
                    "start_s": bar.start_s,
                    "end_s": bar.end_s,
                    "commands": list(bar.commands),
                }
                for bar in self.timeline()
            ],
        }


def load_audit(run_id: str, client: redis.Redis | None = None) -> Audit | None:
    """The audit of ``run_id`` (``None`` when Redis has no such run)."""
    run = get_run(run_id, client)
    if run is None:
        return None
    return Audit(run=run, commands=read_journal(run_id, client=client))


def describe_request(request: AnyRequest) -> list[tuple[str, str]]:
    """What the operator asked, in their words."""
    dry_run = ("dry run", "yes" if request.dry_run else "no")
    if isinstance(request, Request):
        parent = [("part of site run", request.parent)] if request.parent else []
        return [
            ("failed pool", request.pool),
            ("target requested", request.target or "(none: the backup pool)"),
            dry_run,
            *parent,
        ]
    if isinstance(request, SiteRequest):
        return [("failed site", request.site), dry_run]
    if isinstance(request, FailbackRequest):
        return [
            ("pool failing back", request.pool),
            ("move the CMS back", "yes" if request.move_cms_back else "no"),
            dry_run,
        ]
    return [("readiness of", request.subject)]


def describe_facts(request: AnyRequest, facts: Facts) -> list[tuple[str, str]]:
    """The request and what discovery found, in the operator's words."""
    lines = [*describe_request(request)]
    if isinstance(request, ReadinessRequest):
        return lines
    if isinstance(request, FailbackRequest):
        back = [
            f"{m.edge_pool}: {m.to_pool} -> {m.from_pool}"
            for m in facts.edge_moves
            if m.from_pool == request.pool
        ]
        return [*lines, ("Edge next hops to move back", ", ".join(back) or "none recorded by a failover")]
    if facts.backup_pools and not isinstance(request, Request):
        pairs = ", ".join(f"{pool} -> {backup}" for pool, backup in facts.backup_pools.items())
        lines.append(("backup pools", pairs))
    else:
        lines.append(("Backup_Pool", facts.backup_pool or "(unknown)"))
    if facts.cms_pool is None:
        return [*lines, ("CMS pool", "(unknown)")]
    if facts.cms_available():
        status = f"available (active master {facts.active_master})"
    else:
        status = "UNAVAILABLE (no active master or file transfer agent)"
    fails_over = bool(facts.cms_fails_over)
    lines += [
        ("CMS pool", f"{facts.cms_pool} ({version_name(facts.cms_version)})"),
        ("CMS status", status),
        ("CMS fails over", f"yes, to {facts.cms_backup_pool or '(unknown)'}" if fails_over else "no"),
    ]
    if facts.replicas:
        current = sum(facts.replicas.values())
        lines.append(("CMS replicas up to date", f"{current} of {len(facts.replicas)}"))
    if facts.cms_backend is not None:
        backend = facts.cms_backend
        server, instance = (
            (backend.primary_server, backend.primary_instance)
            if backend.principal == "primary"
            else (backend.mirror_server, backend.mirror_instance)
        )
        lines.append(("CMS database principal", f"{backend.principal}: {server}\\{instance}"))
    hops = ", ".join(f"{hop.edge_pool} -> {hop.next_hop}" for hop in facts.edges_at_risk)
    lines.append(("Edge pools using the failed pool", hops or "none"))
    if facts.unreachable_servers:
        lines.append(("Unreachable servers (steps moved)", ", ".join(facts.unreachable_servers)))
    return lines


def planned_commands_text(call: StepCall) -> str:
    """A planned step call's remote commands, one a line: ``check: Get-CsService -CentralManagement``."""
    return "\n".join(f"{command.purpose}: {command.line}" for command in call.commands)


def seconds_between(start: datetime | None, end: datetime | None) -> float:
    """Seconds from ``start`` to ``end`` (0 when either is missing)."""
    if start is None or end is None:
        return 0.0
    return (end - start).total_seconds()


def duration_text(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
