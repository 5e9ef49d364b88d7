"""The ``lync-failover`` Typer app, its consoles, and how a command says what went wrong.

Exit codes: 0 done (run succeeded), 1 the run or dry run failed, 2 bad input or setup (nothing was sent),
3 refused, declined, or the outcome is unknown (timeout).
"""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from worker.console.watch import EXIT_USAGE

app = typer.Typer(
    help="Fail over Lync Server Front End pools, a whole site, and back, with the lync-failover runbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=not sys.stdout.isatty())
errors = Console(stderr=True, soft_wrap=not sys.stderr.isatty())

RunId = Annotated[str, typer.Argument(help="The run id (`lync-failover runs` lists them).")]
WatchTimeout = Annotated[float, typer.Option(help="Seconds to watch before giving up (the run goes on).")]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` as an error and exit with ``code``."""
    show_error(message)
    raise typer.Exit(code)


def show_error(message: str) -> None:
    """``message`` on stderr, marked as an error."""
    errors.print(f"[bold red]error:[/] {escape(message)}")
