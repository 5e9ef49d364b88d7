"""``lync-failover drill``: rehearse a whole failover on this machine and check the lab's end state.

It starts a Redis (``REDIS_URL``, else an embedded one), the lab on a scenario, one worker per lab site
plus the control queue, triggers the failover through the same task ``celery call lync.failover`` sends,
shows it live, and exits 0 only when the run succeeded and the lab's state matches the scenario's expected
end state. The drill is the one part of the runner that knows the lab, and it meets it only as a child
process and over HTTP.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import redis
import typer
from rich.console import Console
from rich.table import Table

from plugins.kit.requests import AnyRequest, FailbackRequest, ReadinessRequest, Request, SiteRequest
from worker.console.preflight import PreflightError, consumers, redis_reachable
from worker.redis_connection import redacted_url
from worker.rehearsal.redis_server import EmbeddedRedis
from worker.rehearsal.stack import (
    Stack,
    StackError,
    celery_client,
    start_beat,
    start_flower,
    start_lab,
    start_workers,
)
from worker.settings import get_settings

DEFAULT_SCENARIO = "cms-2013-primary"
RUN_DEADLINE_S = 900.0
#: How long the slow operations take in production (Microsoft's disaster-recovery targets: CMS failover
#: 5 minutes, pool failover 15 minutes; replication settles in about 2 minutes), scaled by --time-scale.
PRODUCTION_SECONDS = {
    "Invoke-CsManagementServerFailover": 300.0,
    "Move-CsManagementServer": 300.0,
    "Install-CsDatabase": 120.0,
    "Invoke-CsPoolFailover": 900.0,
}
REPLICATION_SECONDS = 120.0
DEFAULT_TIME_SCALE = 0.01


class DrillInterrupted(Exception):
    """Ctrl-C or SIGTERM: stop everything the drill started."""


def command(
    scenario: Annotated[
        str, typer.Option(help="The lab scenario to fail over (lab/scenarios/).")
    ] = DEFAULT_SCENARIO,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the final report, as JSON, on stdout.")
    ] = False,
    keep_running: Annotated[
        bool, typer.Option(help="Leave the lab, workers and Redis up afterwards; print how to reach them.")
    ] = False,
    flower: Annotated[bool, typer.Option(help="Also start Flower (basic auth, on 127.0.0.1).")] = False,
    report_file: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also save the audit report here (.html, .md, .json, or text for any other name).",
        ),
    ] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Lab durations relative to production (1 = a 15-minute pool failover takes 15 minutes).",
        ),
    ] = DEFAULT_TIME_SCALE,
) -> None:
    """Rehearse a full failover against the lab and check the end state (exit 0 only when both are right)."""
    raise typer.Exit(
        run_drill(
            scenario,
            json_output=json_output,
            keep_running=keep_running,
            flower=flower,
            time_scale=time_scale,
            report_file=report_file,
        )
    )


def run_drill(
    scenario: str,
    *,
    json_output: bool,
    keep_running: bool,
    flower: bool,
    time_scale: float = DEFAULT_TIME_SCALE,
    report_file: Path | None = None,
) -> int:
    """The drill; returns the exit code."""
    stream = sys.stderr if json_output else sys.stdout
    # Wide enough for the step table and the timeline when the output goes to a file or a CI log.
    console = Console(file=stream, width=None if stream.isatty() else 120)
    problem = _unwritable(report_file) if report_file is not None else ""
    if problem:
        console.print(f"[red]the drill could not start:[/red] cannot write {report_file}: {problem}")
        console.print("Choose another --report file (its directory must exist and be writable).")
        return 2
    hint = _report_hint(report_file, keep_running=keep_running, embedded=not os.environ.get("REDIS_URL"))
    directory = Path(tempfile.mkdtemp(prefix="lync-drill-"))
    try:
        with _interruptible(), _redis(console) as redis_url:
            stack = Stack(directory, redis_url)
            try:
                report = _rehearse(stack, scenario, console, flower=flower, time_scale=time_scale, hint=hint)
                _show_audit(report["run_id"], console, report_file, stack.client)
                _summarize(report, console)
                if json_output:
                    sys.stdout.write(json.dumps(report, indent=2) + "\n")
                if keep_running:
                    _describe(stack, console)
                    threading.Event().wait()
                return 0 if report["state"] == "succeeded" and report["lab_verification"]["ok"] else 1
            finally:
                stack.stop()
    except DrillInterrupted:
        console.print("[yellow]interrupted: everything the drill started is stopped[/yellow]")
        return 130
    except (StackError, PreflightError) as error:
        console.print(f"[red]the drill could not start:[/red] {error}")
        return 2
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _rehearse(
    stack: Stack, scenario: str, console: Console, *, flower: bool, time_scale: float, hint: str
) -> dict[str, Any]:
    console.print(f"[bold]Failover drill[/bold]: scenario [cyan]{scenario}[/cyan]")
    lab = start_lab(scenario, stack.directory / "lab")
    stack.children.append(lab.child)
    stack.lab = lab
    lab.post("/faults", production_faults(time_scale))
    console.print(f"lab: control API {lab.control_url}, inventory {lab.inventory_path}")
    pool_failover = PRODUCTION_SECONDS["Invoke-CsPoolFailover"]
    console.print(
        f"lab time scale {time_scale:g}: a {pool_failover / 60:.0f}-minute pool failover takes "
        f"{pool_failover * time_scale:.0f} s"
    )
    queues = lab.queues()
    _refuse_foreign_workers(stack.redis_url, queues)
    workers = start_workers(stack.redis_url, lab.inventory_path, queues, stack.directory / "logs")
    stack.children.extend(workers.children.values())
    stack.children.append(start_beat(stack.redis_url, lab.inventory_path, stack.directory / "logs"))
    console.print(f"workers: one per queue ({', '.join(queues)}); celery beat for the readiness schedule")
    if flower:
        _start_flower(stack, console)
    from tasks.record import get_run
    from tasks.run import Report
    from tasks.runbook import start
    from worker.celery_app import app, configure
    from worker.console.watch import follow
    from worker.inventory import inventory_at

    configure(app, replace(get_settings(), redis_url=stack.redis_url, inventory_path=lab.inventory_path))
    state = lab.get("/state")
    assert isinstance(state, dict)
    request = rehearsal_request(state)
    result = start(request, queue=inventory_at(lab.inventory_path).control_queue)
    console.print(f"run [bold]{result.id}[/bold]: {REHEARSALS[request.workflow]} {request.subject}")
    follow(result.id, RUN_DEADLINE_S, console, console, result, report_hint=hint, client=stack.client)
    run = get_run(result.id, stack.client)
    report: dict[str, Any] = (
        Report.of(run).model_dump(mode="json")
        if run is not None
        else {"run_id": result.id, "state": "refused", "error": str(result.result)}
    )
    verification = lab.get("/verify")
    assert isinstance(verification, dict)
    report["lab_verification"] = verification
    return report


def production_faults(time_scale: float) -> dict[str, Any]:
    """The lab's faults for Microsoft's durations at ``time_scale`` (the slow cmdlets, replication)."""
    return {
        "latency": PRODUCTION_SECONDS,
        "latency_scale": time_scale,
        "replication_lag_seconds": REPLICATION_SECONDS * time_scale,
    }


#: What the drill says it does, by the scenario's ``rehearse``.
REHEARSALS = {
    "failover": "failing over",
    "site": "failing over the site",
    "failback": "failing back",
    "readiness": "checking the readiness of",
}


def rehearsal_request(state: dict[str, Any]) -> AnyRequest:
    """What the scenario rehearses (its ``rehearse``): a pool failover, a site failover, a failback or a
    readiness check."""
    if state.get("rehearse") == "readiness":
        return ReadinessRequest()
    if state.get("rehearse") == "site":
        return SiteRequest(site=str(state["failed_site"]))
    if state.get("rehearse") == "failback":
        return FailbackRequest(pool=str(state["failed_pool"]))
    return Request(pool=str(state["failed_pool"]))


def _show_audit(run_id: str, console: Console, report_file: Path | None, client: redis.Redis) -> None:
    """The facts the run acted on and its timeline; the whole audit into ``report_file`` if given."""
    from worker.console.audit import load_audit
    from worker.console.report_html import render_html
    from worker.console.report_text import ascii_bar, render_json, render_markdown, render_text

    audit = load_audit(run_id, client)
    if audit is None:
        return
    facts = Table(title="Facts the plan rested on", title_justify="left", show_header=False)
    for label, value in audit.facts():
        facts.add_row(label, value)
    console.print(facts)
    bars = audit.timeline()
    span = max((bar.end_s for bar in bars), default=0.0) or 1.0
    console.print("[bold]Timeline[/bold]")
    for bar in bars:
        timing = f"{bar.start_s:6.1f}s {bar.end_s:6.1f}s {ascii_bar(bar, span)}"
        line = f"{timing} {bar.step.outcome:<9} {bar.step.id}"
        console.print(line, no_wrap=True, overflow="ellipsis", markup=False, highlight=False)
    if report_file is not None:
        renderers = {".html": render_html, ".md": render_markdown, ".json": render_json}
        try:
            report_file.write_text(renderers.get(report_file.suffix, render_text)(audit), encoding="utf-8")
        except OSError as error:  # the verdict below still counts: say so and go on
            console.print(f"[red]could not save the audit report to {report_file}:[/red] {error}")
        else:
            console.print(f"audit report saved to {report_file}")


def _unwritable(path: Path) -> str:
    """Why ``path`` cannot be written ("" when it can); a file the check creates is removed again."""
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        return error.strerror or str(error)
    if not existed:
        path.unlink()
    return ""


def _report_hint(report_file: Path | None, *, keep_running: bool, embedded: bool) -> str:
    """Where the operator finds the run's report once the drill has ended ("" for the usual command)."""
    if report_file is not None:
        return f"Audit report: {report_file} (saved below)."
    if embedded and not keep_running:
        return (
            "Its record goes away with the drill's embedded Redis when the drill ends: pass --report FILE "
            "to keep the audit report (or --keep-running to query it with lync-failover report)."
        )
    return ""


def _refuse_foreign_workers(redis_url: str, queues: list[str]) -> None:
    """Stop before any worker started: a worker already on one of the drill's queues in this Redis (another
    lab's, or production's) would take the drill's tasks."""
    client = celery_client(redis_url, get_settings().sentinel_master)
    try:
        found = consumers(client, queues)
    finally:
        client.close()
    if found:
        listed = "; ".join(f"{queue}: {', '.join(workers)}" for queue, workers in sorted(found.items()))
        raise StackError(
            f"workers already listen on the drill's queues in the Redis of REDIS_URL ({listed}): they would "
            "take the drill's tasks. Unset REDIS_URL (the drill then starts its own embedded Redis) or stop "
            "those workers."
        )


def _summarize(report: dict[str, Any], console: Console) -> None:
    verification = report["lab_verification"]
    if verification["ok"]:
        console.print("[green]lab end state matches the scenario's expected end state[/green]")
    else:
        console.print("[red]lab end state differs from the scenario's expected end state:[/red]")
        for difference in verification["differences"]:
            console.print(f"  - {difference}")


def _start_flower(stack: Stack, console: Console) -> None:
    password = secrets.token_urlsafe(12)
    password_file = stack.directory / "flower.password"
    password_file.write_text(password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    child, stack.flower_url = start_flower(stack.redis_url, stack.directory, f"drill:{password}")
    stack.children.append(child)
    console.print(f"Flower: {stack.flower_url} (user drill, password in {password_file})")


def _describe(stack: Stack, console: Console) -> None:
    console.print("[bold]still running[/bold] (Ctrl-C stops everything):")
    console.print(f"  REDIS_URL={redacted_url(stack.redis_url)}")
    if stack.lab is not None:
        console.print(f"  LYNC_FAILOVER_INVENTORY={stack.lab.inventory_path}")
        console.print(f"  lab control API: {stack.lab.control_url}")
    if stack.flower_url:
        console.print(f"  Flower: {stack.flower_url}")
    console.print(
        "  try: lync-failover runs; lync-failover report <run id> --format html --output report.html"
    )


@contextmanager
def _redis(console: Console) -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        console.print(f"redis: REDIS_URL ({redacted_url(redis_reachable(configured))})")
        yield configured
        return
    with EmbeddedRedis() as url:
        console.print(f"redis: embedded, {url}")
        yield url


@contextmanager
def _interruptible() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into DrillInterrupted, so cleanup runs on both."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise DrillInterrupted

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
