"""The cmdlets the lab answers, one module per family; :func:`find` looks one up as PowerShell would."""

from __future__ import annotations

from lab import lync_facts
from lab.api import PowerShellError
from lab.cmdlets import cms, database, pool, shell, topology, users
from lab.cmdlets.base import Cmdlet

CMDLETS: dict[str, Cmdlet] = {
    c.name.lower(): c for family in (shell, topology, cms, database, pool, users) for c in family.CMDLETS
}


def find(name: str) -> Cmdlet:
    """The cmdlet by name (without case); PowerShell's CommandNotFoundException otherwise."""
    cmdlet = CMDLETS.get(name.lower())
    if cmdlet is None:
        raise PowerShellError(
            lync_facts.COMMAND_NOT_FOUND.format(name=name),
            error_id="CommandNotFoundException",
            category="ObjectNotFound",
            target=name,
        )
    return cmdlet
