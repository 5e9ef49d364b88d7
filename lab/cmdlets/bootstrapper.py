"""``Bootstrapper.exe /Setup`` through the cmd shell: install the CMS service on this Front End."""

from __future__ import annotations

from collections.abc import Sequence

from lab import lync_facts
from lab.api import ExecResult
from lab.model import Deployment


def is_bootstrapper(executable: str) -> bool:
    """Whether the path names Bootstrapper (any directory, any case, ``.exe`` optional)."""
    name = executable.replace("/", "\\").rsplit("\\", 1)[-1].strip('"').lower()
    return name in lync_facts.BOOTSTRAPPER_NAMES


def run_bootstrapper(d: Deployment, server: str, executable: str, arguments: Sequence[str]) -> ExecResult:
    """Run local setup on ``server``: exit 0 with a few lines, or 1 with usage or the reason on stderr."""
    if not is_bootstrapper(executable):
        return ExecResult(1, stderr=lync_facts.CMD_NOT_RECOGNIZED.format(name=executable))
    folder = executable.strip('"').replace("/", "\\").rpartition("\\")[0]
    version = d.version_of(server)
    if folder and version is not None and folder.lower() != lync_facts.DEPLOYMENT_FOLDERS[version].lower():
        return ExecResult(1, stderr=lync_facts.CMD_PATH_NOT_FOUND)
    unknown = [a for a in arguments if a.lower() != lync_facts.BOOTSTRAPPER_SETUP]
    if unknown or not arguments:
        switch = unknown[0] if unknown else "(none)"
        return ExecResult(1, stderr=lync_facts.BOOTSTRAPPER_USAGE.format(switch=switch))
    if not d.cms_available():
        return ExecResult(1, stderr=lync_facts.CMS_UNAVAILABLE)
    if server not in d.cms_pool().front_ends:
        return ExecResult(0, stdout="\r\n".join(lync_facts.BOOTSTRAPPER_NOTHING).format(server=server))
    if server not in d.cms.service_on:
        d.cms.service_on.append(server)
    return ExecResult(0, stdout="\r\n".join(lync_facts.BOOTSTRAPPER_OUTPUT).format(server=server))
