"""PowerShell's own commands the procedure uses: ``Import-Module`` and ``Test-Path``."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation


def import_module(inv: Invocation) -> None:
    """Load the management shell module of this server's version; any other name is not found."""
    version = inv.deployment.version_of(inv.server)
    available = set(lync_facts.MODULES.values()) if version is None else {lync_facts.MODULES[version]}
    for name in inv.texts("Name"):
        if name.lower() not in (m.lower() for m in available):
            raise inv.error(
                lync_facts.MODULE_NOT_FOUND.format(name=name),
                "Modules_ModuleNotFound",
                category="ResourceUnavailable",
                target=name,
            )


def test_path(inv: Invocation) -> None:
    """Whether each file exists on this server (the scenario's export files, what the lab wrote)."""
    for path in inv.texts("Path"):
        inv.output.write_output(inv.deployment.has_file(inv.server, path))


CMDLETS = (Cmdlet("Import-Module", import_module), Cmdlet("Test-Path", test_path))
