"""A run's audit, read from its record and journal: facts, plan, steps, commands and the timeline.

Every renderer (console, text, Markdown, JSON, HTML) starts from :class:`Audit`, so they agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from plugins.decisions import NOT_READY
from plugins.kit.model import Facts
from plugins.kit.shell import ParameterValue
from plugins.kit.versions import version_name
from tasks.record import get_run, read_journal

#: How each step ended, for colours and the legend: a succeeded step that needed several attempts is retried,
#: unless it only waited (a polling step such as cms.wait_for_replicas): that is a normal success.
OUTCOMES = ("succeeded", "retried", "skipped", "failed", "unfinished")


@dataclass(frozen=True)
class Command:
    """One remote command of the journal."""

    step: str
    server: str
    command: str
    parameters: dict[str, ParameterValue]
    started: str
    ended: str
    outcome: str
    output: str

    @property
    def line(self) -> str:
        """The command as PowerShell shows it (for reading only; never executed)."""
        return command_line(self.command, self.parameters)

    @property
    def seconds(self) -> float:
        """How long it took."""
        return seconds_between(self.started, self.ended)

    @property
    def error(self) -> str:
        """The first line of the output of a command that did not succeed ("" when it did)."""
        return first_line(self.output) if self.outcome != "ok" else ""


@dataclass(frozen=True)
class Bar:
    """One step on the timeline: seconds from the run's start, its outcome, and when its commands ran."""

    step_id: str
    server: str
    outcome: str
    attempts: int
    #: The step's extra attempts were waits for a state (NotReadyError), not failures.
    waited: bool
    start_s: float
    end_s: float
    #: (seconds from the run's start, outcome) of each of the step's commands.
    commands: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class Audit:
    """Everything an auditor needs about one run."""

    run: dict[str, Any]
    commands: list[Command]

    @property
    def run_id(self) -> str:
        """The run's id (the Celery id ``celery call`` printed)."""
        return str(self.run["run_id"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Each step's entry, in the order the run queued them (discovery first)."""
        return list(self.run.get("steps", []))

    @property
    def plan(self) -> list[dict[str, Any]]:
        """The planned step calls (after discovery)."""
        return list((self.run.get("plan") or {}).get("steps", []))

    @property
    def error(self) -> str:
        """Why the run stopped ("" when it did not fail)."""
        return str(self.run.get("error", ""))

    def facts(self) -> list[tuple[str, str]]:
        """The request and the facts the plan rests on, as (label, value) lines."""
        facts = (self.run.get("plan") or {}).get("facts") or self.run.get("facts") or {}
        return describe_facts(self.run.get("request") or {}, facts)

    def timeline(self) -> list[Bar]:
        """A bar per step that started, from its first attempt to its end (or the run's end)."""
        origin = self.run.get("started", "")
        finish = self.run.get("ended") or max((c.ended for c in self.commands), default=origin)
        bars = []
        for step in self.steps:
            begun = step.get("first_started") or step.get("started")
            if not begun:
                continue
            commands = tuple(
                (seconds_between(origin, c.started), c.outcome) for c in self.commands if c.step == step["id"]
            )
            end = step.get("ended") or finish
            bars.append(
                Bar(
                    step_id=step["id"],
                    server=step.get("server", ""),
                    outcome=outcome(step),
                    attempts=int(step.get("attempts", 0)),
                    waited=waited(step),
                    start_s=seconds_between(origin, begun),
                    end_s=max(seconds_between(origin, end), seconds_between(origin, begun)),
                    commands=commands,
                )
            )
        return bars

    def to_json(self) -> dict[str, Any]:
        """The whole audit as JSON-ready data."""
        return {
            **{key: value for key, value in self.run.items() if key not in ("steps", "report")},
            "facts_summary": dict(self.facts()),
            "steps": self.steps,
            "commands": [
                {
                    "step": c.step,
                    "server": c.server,
                    "command": c.command,
                    "parameters": c.parameters,
                    "command_line": c.line,
                    "started": c.started,
                    "ended": c.ended,
                    "outcome": c.outcome,
                    "output": c.output,
                }
                for c in self.commands
            ],
            "timeline": [bar.__dict__ | {"commands": list(bar.commands)} for bar in self.timeline()],
        }


def load_audit(run_id: str, client: redis.Redis | None = None) -> Audit | None:
    """The audit of ``run_id`` (``None`` when Redis has no such run)."""
    run = get_run(run_id, client)
    if run is None:
        return None
    commands = [
        Command(
            step=entry.get("step", ""),
            server=entry.get("server", ""),
            command=entry.get("command", ""),
            parameters=json.loads(entry.get("parameters") or "{}"),
            started=entry.get("started", ""),
            ended=entry.get("ended", ""),
            outcome=entry.get("outcome", ""),
            output=entry.get("output", ""),
        )
        for entry in read_journal(run_id, client=client)
    ]
    return Audit(run=run, commands=commands)


def outcome(step: dict[str, Any]) -> str:
    """One of OUTCOMES for a step's entry."""
    state = step.get("state")
    if state == "succeeded":
        return "retried" if int(step.get("attempts", 1)) > 1 and not waited(step) else "succeeded"
    if state in ("skipped", "failed"):
        return str(state)
    return "unfinished"


def waited(step: dict[str, Any]) -> bool:
    """Whether the step's last retry (its recorded reason) was a wait for a state, not a failure."""
    return str(step.get("error", "")).startswith(NOT_READY)


def command_line(command: str, parameters: dict[str, ParameterValue]) -> str:
    """``Cmdlet -Name value -Switch`` (an executable's ``arguments`` follow it as they are)."""
    words = [command]
    for name, value in parameters.items():
        if name == "arguments" and isinstance(value, list):
            words.extend(str(item) for item in value)
        elif value is True:
            words.append(f"-{name}")
        elif value is False:
            words.append(f"-{name}:$false")
        else:
            words.append(f"-{name} {_argument(value)}")
    return " ".join(words)


def describe_facts(request: dict[str, Any], raw_facts: dict[str, Any]) -> list[tuple[str, str]]:
    """The request and what discovery found, in the operator's words."""
    facts = Facts.model_validate(raw_facts) if raw_facts else Facts()
    lines = [
        ("failed pool", request.get("pool", "?")),
        ("target requested", request.get("target") or "(none: the backup pool)"),
        ("dry run", "yes" if request.get("dry_run") else "no"),
        ("Backup_Pool", facts.backup_pool or "(unknown)"),
    ]
    if facts.cms_pool is None:
        return [*lines, ("CMS pool", "(unknown)")]
    version = version_name(facts.cms_version)
    if facts.cms_available():
        status = f"available (active master {facts.active_master})"
    else:
        status = "UNAVAILABLE (no active master or file transfer agent)"
    fails_over = facts.cms_pool == request.get("pool") or not facts.cms_available()
    lines += [
        ("CMS pool", f"{facts.cms_pool} ({version})"),
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


def planned_commands_text(call: dict[str, Any]) -> str:
    """A planned step call's remote commands, one a line: ``check: Get-CsService -CentralManagement``."""
    return "\n".join(
        f"{command['purpose']}: {command_line(command['cmdlet'], command.get('parameters') or {})}"
        for command in call.get("commands") or []
    )


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" when there is none)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def seconds_between(start: str, end: str) -> float:
    """Seconds from ISO time ``start`` to ``end`` (0 when either is missing)."""
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def duration_text(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _argument(value: ParameterValue) -> str:
    if value is None:
        return "$null"
    if isinstance(value, list):
        return ",".join(_argument(item) for item in value)
    text = str(value)
    return f"'{text}'" if not text or any(ch in text for ch in " ,;'\"$`") else text
