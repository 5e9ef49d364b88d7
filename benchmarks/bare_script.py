"""The operator's alternative to the runner: a bare pypsrp script that sends the same cmdlets one after
another, over one runspace pool per server (opened on first use, the Lync module imported once), reused."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

from pypsrp.powershell import PowerShell, RunspacePool

from plugins.kit.versions import lync_version
from tasks.run import JournalEntry
from worker.credentials import resolve_credential
from worker.executor import wsman_for
from worker.inventory import Inventory


class NotACmdlet(ValueError):
    """The bare script replays cmdlets only (no executables, nothing run locally)."""


def replay(inventory: Inventory, commands: Sequence[JournalEntry]) -> float:
    """Send ``commands`` in order; the seconds it took, pools opened on the way included."""
    with _pools(inventory) as pool_for:
        started = time.perf_counter()
        for command in commands:
            if "-" not in command.command or "\\" in command.command:
                raise NotACmdlet(f"the bare script sends cmdlets only, not {command.command}")
            shell = PowerShell(pool_for(command.server)).add_cmdlet(command.command)
            for name, value in command.parameters.items():
                shell.add_parameter(name, value)
            shell.invoke()
            if shell.had_errors and command.outcome == "ok":
                raise RuntimeError(f"{command.line} failed on {command.server}; it succeeded for the runner")
        return time.perf_counter() - started


@contextmanager
def _pools(inventory: Inventory) -> Iterator[Callable[[str], RunspacePool]]:
    """``pool_for(server)``: the server's runspace pool, opened (and the module imported) on first use."""
    with ExitStack() as stack:
        opened: dict[str, RunspacePool] = {}

        def pool_for(server: str) -> RunspacePool:
            if server not in opened:
                opened[server] = stack.enter_context(_open(inventory, server))
            return opened[server]

        yield pool_for


@contextmanager
def _open(inventory: Inventory, server: str) -> Iterator[RunspacePool]:
    entry = inventory.server(server)
    wsman = wsman_for(entry, resolve_credential(entry, inventory=inventory))
    version = lync_version(inventory.pool(entry.pool).version)
    with RunspacePool(wsman) as pool:
        if version is not None:
            PowerShell(pool).add_cmdlet("Import-Module").add_parameter("Name", version.module).invoke()
        yield pool
