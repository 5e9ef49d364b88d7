"""``lync-failover``: the console script; its commands live in the modules it imports (the rehearsal and
site packages add more through entry points)."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

from worker.console import check_command, control_commands, record_commands, run_commands
from worker.console.app import app, show_error
from worker.console.preflight import PreflightError
from worker.console.watch import EXIT_USAGE

#: Entry points that add commands to the CLI, each ``register(app)`` (the rehearsal adds ``drill``, ``lab``).
COMMANDS_GROUP = "lync_failover.cli"
#: The command modules, registered on import.
COMMAND_MODULES = (run_commands, control_commands, check_command, record_commands)


def main() -> None:
    """The console script: preflight problems become a clear message and exit code 2, not a traceback."""
    add_commands()
    try:
        app()
    except PreflightError as error:
        show_error(str(error))
        sys.exit(EXIT_USAGE)


def add_commands() -> None:
    """Let installed packages add their commands (the rehearsal is one): the console imports none of them."""
    for entry_point in entry_points(group=COMMANDS_GROUP):
        entry_point.load()(app)


if __name__ == "__main__":
    main()
