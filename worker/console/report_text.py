"""The audit report as sections of tables, rendered as plain text, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest

from plugins.kit.model import Finding
from worker.console.audit import Audit, Bar, duration_text, planned_commands_text, seconds_between
from worker.console.readiness import EVERY_POOL, verdicts

#: Characters of the text timeline's bar column.
BAR_WIDTH = 40


@dataclass(frozen=True)
class Section:
    """A titled table of the report."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


def sections(audit: Audit) -> list[Section]:
    """The report's tables, in reading order: run, request and facts, plan, steps, commands, timeline."""
    run = audit.run
    summary = [
        ("run id", audit.run_id),
        ("state", run.state),
        ("about", run.subject),
        ("started", run.started.isoformat()),
        ("ended", run.ended.isoformat() if run.ended else "(still running)"),
        ("duration", duration_text(seconds_between(run.started, run.ended)) if run.ended else ""),
    ]
    if run.error:
        summary.append(("error", run.error))
    if run.cancelled_by:
        summary.append(("cancelled by", run.cancelled_by))
    bars = audit.timeline()
    span = max((bar.end_s for bar in bars), default=0.0) or 1.0
    return [
        Section("Run", ("", ""), summary),
        Section("Request and facts", ("", ""), audit.facts()),
        *(_readiness(run.facts.findings) if run.facts.findings else []),
        *(
            [
                Section(
                    "Pools, each in its own run",
                    ("pool", "run", "state", "backup pool", "error"),
                    [(o.pool, o.run_id, o.state, o.target or "", o.error) for o in run.pools],
                )
            ]
            if run.pools
            else []
        ),
        *(
            [
                Section(
                    "Pauses for approval",
                    ("before phase", "state", "since", "by", "at", "reason"),
                    [(g.phase, g.state, _time(g.since), g.by, _time(g.at), g.reason) for g in run.gates],
                )
            ]
            if run.gates
            else []
        ),
        Section(
            "Plan",
            ("#", "step", "phase", "server", "queue", "commands", "description"),
            [
                (
                    str(index),
                    call.id,
                    call.phase,
                    call.server,
                    call.queue,
                    planned_commands_text(call),
                    call.description,
                )
                for index, call in enumerate(audit.plan, 1)
            ],
        ),
        Section(
            "Steps",
            ("step", "state", "server", "worker", "attempts", "started", "ended", "result"),
            [
                (
                    step.id,
                    step.state,
                    step.server,
                    step.worker,
                    str(step.attempts),
                    _time(step.first_started),
                    _time(step.ended),
                    step.result,
                )
                for step in run.steps
            ],
        ),
        Section(
            "Commands",
            ("#", "started", "server", "command", "outcome", "error", "took", "step"),
            [
                (
                    str(index),
                    c.started.isoformat(),
                    c.server,
                    c.line,
                    c.outcome,
                    c.error,
                    duration_text(c.seconds),
                    c.step,
                )
                for index, c in enumerate(audit.commands, 1)
            ],
        ),
        Section(
            "Timeline",
            ("from", "to", "outcome", "step", ""),
            [
                (
                    f"+{bar.start_s:.1f} s",
                    f"+{bar.end_s:.1f} s",
                    bar.step.outcome,
                    bar.step.id,
                    ascii_bar(bar, span),
                )
                for bar in bars
            ],
        ),
    ]


def _readiness(findings: list[Finding]) -> list[Section]:
    """A readiness check's verdict per pool, then every finding."""
    return [
        Section(
            "Readiness: verdict per pool",
            ("pool", "verdict", "what to fix"),
            [
                (pool, "ready" if ready else "NOT ready", "\n".join(fixes))
                for pool, ready, fixes in verdicts(findings)
            ],
        ),
        Section(
            "Readiness: every check",
            ("pool", "check", "result", "detail"),
            [(f.pool or EVERY_POOL, f.check, "ok" if f.ok else "FAILED", f.detail) for f in findings],
        ),
    ]


def render_text(audit: Audit) -> str:
    """Plain text: aligned columns, then each command's output."""
    parts = [f"lync-failover run {audit.run_id}"]
    for section in sections(audit):
        parts.append(f"\n{section.title.upper()}\n{_aligned(section)}")
    outputs = [
        f"#{index} {c.server}: {c.line} -> {c.outcome}\n" + _indent(c.output)
        for index, c in enumerate(audit.commands, 1)
        if c.output
    ]
    if outputs:
        parts.append("\nCOMMAND OUTPUT\n" + "\n".join(outputs))
    return "\n".join(parts) + "\n"


def render_markdown(audit: Audit) -> str:
    """Markdown: a heading and a table per section, then each command's output in a code block."""
    parts = [f"# lync-failover run `{audit.run_id}`"]
    for section in sections(audit):
        parts.append(f"\n## {section.title}\n\n{_markdown_table(section)}")
    outputs = [
        f"### #{index} `{c.line}` on {c.server}: {c.outcome}\n\n```\n{c.output}\n```"
        for index, c in enumerate(audit.commands, 1)
        if c.output
    ]
    if outputs:
        parts.append("\n## Command output\n\n" + "\n\n".join(outputs))
    return "\n".join(parts) + "\n"


def render_json(audit: Audit) -> str:
    """The whole audit as indented JSON."""
    return json.dumps(audit.to_json(), indent=2) + "\n"


def _aligned(section: Section) -> str:
    """Aligned columns; a cell of several lines (a step's commands) continues on the lines below."""
    if not section.rows:
        return "  (none)"
    table = [section.headers, *section.rows] if any(section.headers) else section.rows
    lines = [
        tuple(line or "" for line in cells)
        for row in table
        for cells in zip_longest(*(cell.splitlines() or [""] for cell in row))
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(section.headers))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _markdown_table(section: Section) -> str:
    if not section.rows:
        return "(none)"
    headers = section.headers if any(section.headers) else ("", "")
    lines = [_markdown_row(headers), _markdown_row(tuple("---" for _ in headers))]
    lines += [_markdown_row(row) for row in section.rows]
    return "\n".join(lines)


def _markdown_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", "<br>") for cell in cells) + " |"


def ascii_bar(bar: Bar, span: float) -> str:
    """The bar as text: ``|   ####    |``, ``span`` seconds wide."""
    begin = min(BAR_WIDTH - 1, int(bar.start_s / span * BAR_WIDTH))
    length = max(1, round((bar.end_s - bar.start_s) / span * BAR_WIDTH))
    return "|" + (" " * begin + "#" * length).ljust(BAR_WIDTH)[:BAR_WIDTH] + "|"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _time(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""
