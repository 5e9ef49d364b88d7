"""The rehearsal's commands of ``lync-failover``: ``drill`` and ``lab``, added through an entry point."""

from __future__ import annotations

import typer

from worker.rehearsal import drill


def register(app: typer.Typer) -> None:
    """Add ``drill`` and ``lab`` to the operator's CLI."""
    app.command("drill")(drill.command)
    app.command(
        "lab",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )(lab)


def lab(ctx: typer.Context) -> None:
    """The simulated Lync lab (`lync-failover lab serve --help`): the same as `python -m lab`."""
    from lab.cli import app as lab_app  # the one place the runner touches the lab, and only when asked

    lab_app(args=ctx.args, prog_name="lync-failover lab")
