"""``python -m lab serve``: start a simulated Lync deployment and say how to reach it."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from lab.engine import StateFileError
from lab.scenario import DEFAULT_SCENARIO, ScenarioError
from lab.serve import LabOptions, LabServer

_Choice = TypeVar("_Choice", bound=str)
app = typer.Typer(help="The Lync lab: a simulated Lync Server deployment that speaks WinRM/PSRP on loopback.")
# Wide and unwrapped when not on a terminal, so endpoints and paths stay whole in logs.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


@app.callback()
def main() -> None:
    """The Lync lab."""


@app.command()
def serve(
    scenario: Annotated[
        str | None,
        typer.Option(
            help=f"A scenario name (lab/scenarios/NAME.yaml) or a path (default: {DEFAULT_SCENARIO}, or the "
            "--state file's scenario when resuming)."
        ),
    ] = None,
    inventory: Annotated[
        Path | None, typer.Option(help="Where to write the inventory (default: DIRECTORY/inventory.json).")
    ] = None,
    control_port: Annotated[int, typer.Option(help="Port of the control API (0 = any free port).")] = 0,
    directory: Annotated[Path, typer.Option(help="Where the lab keeps its files.")] = Path(".lab"),
    transport: Annotated[str, typer.Option(help="http (message encryption) or https.")] = "http",
    auth: Annotated[
        str,
        typer.Option(help="credssp (the second hop works), ntlm (it does not), basic (https only) or any."),
    ] = "credssp",
    state: Annotated[
        Path | None, typer.Option(help="Resume from this state file if it exists; save to it on exit.")
    ] = None,
) -> None:
    """Serve a scenario until SIGTERM or Ctrl-C."""
    try:
        options = LabOptions(
            scenario=scenario,
            directory=directory,
            inventory=inventory,
            transport=_choice(transport, ("http", "https"), "--transport"),
            auth=_choice(auth, ("basic", "ntlm", "credssp", "any"), "--auth"),
            control_port=control_port,
            state=state,
        )
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from error
    try:
        lab = LabServer(options)
    except (ScenarioError, StateFileError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from error
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    lab.start()
    try:
        describe(lab)
        stop.wait()
    finally:
        lab.stop()
        console.print("lab stopped" + (f"; state saved to {state}" if state else ""))


def describe(lab: LabServer) -> None:
    """Print where everything is: endpoints, control API, inventory, credentials (never the password)."""
    console.print(f"[bold]Lync lab[/bold]: scenario [cyan]{lab.engine.scenario}[/cyan]")
    table = Table("server", "pool", "site", "endpoint", "state")
    for server in lab.engine.servers():
        endpoint = lab.endpoints.get(server.fqdn)
        if endpoint is None:
            continue
        state = "up" if lab.engine.is_up(server.fqdn) else "[red]down[/red]"
        table.add_row(server.fqdn, server.pool, server.site, endpoint.url, state)
    console.print(table)
    where = f"in {lab.password_file}" if lab.password_file else "from LAB_PASSWORD"
    console.print(f"administrator: {lab.engine.administrator} (password {where})")
    console.print(
        f"inventory:     {lab.inventory_path}  (export LYNC_FAILOVER_INVENTORY={lab.inventory_path})"
    )
    console.print(f"control API:   {lab.control_url}  (GET /state /journal /verify /faults, POST /faults)")
    console.print("stop with Ctrl-C or SIGTERM")


def _choice(value: str, allowed: tuple[_Choice, ...], option: str) -> _Choice:
    for choice in allowed:
        if value == choice:
            return choice
    raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)
