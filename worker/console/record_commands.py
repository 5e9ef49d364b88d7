"""Commands that read runs from Redis: ``watch``, ``report``, ``runs``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tasks.memory import last_readiness
from tasks.record import get_run, list_runs
from worker.console import preflight
from worker.console.app import RunId, WatchTimeout, app, console, errors, fail
from worker.console.audit import load_audit
from worker.console.readiness import verdicts
from worker.console.report_html import render_html
from worker.console.report_text import render_json, render_markdown, render_text
from worker.console.terminal import runs_table
from worker.console.watch import follow
from worker.redis_connection import redacted_url
from worker.settings import get_settings


class Format(StrEnum):
    """The report's formats."""

    text = "text"
    markdown = "markdown"
    json = "json"
    html = "html"


RENDERERS = {
    Format.text: render_text,
    Format.markdown: render_markdown,
    Format.json: render_json,
    Format.html: render_html,
}


@app.command()
def watch(run_id: RunId, timeout: WatchTimeout = 6 * 3600) -> None:
    """Follow a run live until it ends: exit 0 succeeded, 1 failed, 3 refused or unknown."""
    preflight.redis_reachable()
    known_run(run_id)
    raise typer.Exit(follow(run_id, timeout, console, errors))


@app.command()
def report(
    run_id: RunId,
    format: Annotated[Format, typer.Option("--format", help="text, markdown, json or html.")] = Format.text,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """The audit report: request, facts, plan, every remote command, and the timeline."""
    preflight.redis_reachable()
    known_run(run_id)
    audit = load_audit(run_id)
    assert audit is not None  # known_run checked it
    text = RENDERERS[format](audit)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}; choose another --output")
    console.print(f"report written to {output}")


@app.command()
def runs(limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 20) -> None:
    """Recent runs, newest first: state, what they are about, start, duration."""
    url = preflight.redis_reachable()
    recent = list_runs(limit)
    if not recent:
        console.print(f"No runs recorded in Redis at {redacted_url(url)}.")
        return
    console.print(runs_table(recent))
    checked = last_readiness()
    run = get_run(checked) if checked is not None else None
    if run is not None:
        ready = verdicts(run.facts.findings)
        not_ready = [name for name, ok, _ in ready if not ok]
        when = f"{run.ended:%Y-%m-%d %H:%M} UTC" if run.ended else "(running)"
        console.print(
            f"Last readiness check: {checked}, {when}: "
            + (f"NOT ready: {', '.join(not_ready)}" if not_ready else f"all {len(ready)} ready")
            + f" (lync-failover report {checked})"
        )


def known_run(run_id: str) -> None:
    """Exit 2 with a clear message when Redis has no run ``run_id``."""
    if get_run(run_id) is None:
        fail(
            f"no run {run_id} in Redis at {redacted_url(get_settings().redis_url)}: "
            "check the id (`lync-failover runs` lists recent runs; records expire after 90 days)"
        )
