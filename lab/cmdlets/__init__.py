"""The cmdlets the lab answers, one module per family; :func:`find` looks one up as PowerShell would."""

from __future__ import annotations

from lab import lync_facts
from lab.api import PowerShellError
from lab.cmdlets import backup, cms, database, pool, services, shell, tasks, topology, users
from lab.cmdlets.base import Cmdlet

CMDLETS: dict[str, Cmdlet] = {
    c.name.lower(): c
    for family in (shell, topology, cms, database, pool, users, services, backup, tasks)
    for c in family.CMDLETS
}


def find(name: str, server_version: int | None = None) -> Cmdlet:
    """The cmdlet by name (without case); PowerShell's CommandNotFoundException otherwise.

    ``server_version`` is the Lync version of the server it runs on (None: not a Front End): a cmdlet whose
    reference page does not apply to that version is unknown there, as in that version's shell.
    """
    cmdlet = CMDLETS.get(name.lower())
    if cmdlet is None or not cmdlet.syntax.exists_on(server_version):
        raise PowerShellError(
            lync_facts.COMMAND_NOT_FOUND.format(name=name),
            error_id="CommandNotFoundException",
            category="ObjectNotFound",
            target=name,
        )
    return cmdlet
