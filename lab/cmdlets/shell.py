"""PowerShell's own commands the procedure uses: ``Import-Module`` and ``Test-Path``."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, Param


def import_module(inv: Invocation) -> None:
    """Accept the Lync modules; any other name is PowerShell's module-not-found error."""
    name = inv.text("Name") or ""
    if name.lower() not in (m.lower() for m in lync_facts.MODULE_NAMES):
        raise inv.error(
            lync_facts.MODULE_NOT_FOUND.format(name=name),
            "Modules_ModuleNotFound",
            category="ResourceUnavailable",
            target=name,
        )


def test_path(inv: Invocation) -> None:
    """Whether the file exists on this server (the scenario's export files)."""
    path = (inv.text("Path") or "").lower()
    files = inv.deployment.files.get(inv.server, [])
    inv.output.write_output(any(f.lower() == path for f in files))


CMDLETS = (
    Cmdlet("Import-Module", (Param("Name", mandatory=True, position=0),), import_module),
    Cmdlet("Test-Path", (Param("Path", mandatory=True, position=0),), test_path),
)
