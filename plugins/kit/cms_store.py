"""The Central Management store as plugins read it: status, replicas, service, validation."""

from __future__ import annotations

from plugins.kit.commands import send
from plugins.kit.model import CommandPurpose, Context, PlannedCommand, StepCall, command, step_call
from plugins.kit.remote import only_object, text
from plugins.kit.shell import Shell

#: The CMS status: ActiveMasterFqdn and ActiveFileTransferAgents (both empty = CMS unavailable).
CMS_STATUS = command("Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
#: Every replica of the Central Management store and whether it is UpToDate.
REPLICA_STATUS = command("Get-CsManagementStoreReplicationStatus")
#: The built-in steps that end both CMS paths (seed steps 5 and 6: "Validate", "replica status").
VALIDATE_STEP = "cms.validate"
REPLICAS_STEP = "cms.wait_for_replicas"


def cms_service_command(purpose: CommandPurpose) -> PlannedCommand:
    """``Get-CsService -CentralManagement``: the pool hosting the CMS, its version and whether it answers."""
    return command("Get-CsService", purpose, CentralManagement=True)


def validation_calls(
    context: Context, server: str, pool: str | None = None, phase: str = "cms"
) -> list[StepCall]:
    """Validate the CMS now names ``pool`` (default: Backup_Pool), then wait until every live replica is up
    to date."""
    pool = pool or context.facts.cms_backup_pool or ""
    return [
        step_call(
            VALIDATE_STEP,
            phase,
            server,
            params={"pool": pool},
            commands=[CMS_STATUS],
            description=f"ActiveMasterFqdn and ActiveFileTransferAgents name {pool}",
        ),
        step_call(
            REPLICAS_STEP,
            phase,
            server,
            commands=[REPLICA_STATUS],
            description="every replica on a live server is UpToDate (polled until then)",
        ),
    ]


def cms_already_on_backup_pool(shell: Shell, context: Context, call: StepCall) -> str | None:
    """A check for the CMS-moving steps: the topology's CMS service already names Backup_Pool and answers."""
    return cms_already_on(shell, call, context.facts.cms_backup_pool or "")


def cms_already_on(shell: Shell, call: StepCall, pool: str) -> str | None:
    """Why the step is skipped when the call's planned ``Get-CsService -CentralManagement`` (its check)
    shows the CMS answering on ``pool``; None otherwise."""
    (planned,) = call.commands_for("check")
    service = only_object(send(shell, call, planned), "the Central Management service")
    if text(service, "PoolFqdn").lower() == pool and bool(service.get("Active")):
        return f"the CMS is already on {pool}"
    return None
