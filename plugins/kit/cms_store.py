"""The Central Management store as plugins read it: status, replicas, service, validation."""

from __future__ import annotations

from plugins.kit.commands import send
from plugins.kit.errors import NotReadyError
from plugins.kit.model import CommandPurpose, Context, PlannedCommand, StepCall, command, step_call
from plugins.kit.remote import is_true_value, only_object, text, texts
from plugins.kit.shell import RemoteObject, Shell


def cms_status_command(purpose: CommandPurpose = "read") -> PlannedCommand:
    """The CMS status: ActiveMasterFqdn and ActiveFileTransferAgents (both empty = CMS unavailable)."""
    return command("Get-CsManagementStoreReplicationStatus", purpose, CentralManagementStoreStatus=True)


CMS_STATUS = cms_status_command()
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


def active_cms_pools(services: list[RemoteObject]) -> list[str]:
    """The pools of the CMS services ``Get-CsService -CentralManagement`` marks Active (the active master's;
    one when the topology is consistent). Every pool that can host the CMS database has a service listed,
    in no order that means anything."""
    return [text(service, "PoolFqdn").lower() for service in services if is_true_value(service.get("Active"))]


def cms_already_on_backup_pool(shell: Shell, context: Context, call: StepCall) -> str | None:
    """A check for the CMS-moving steps: the topology's active CMS service is Backup_Pool's."""
    return cms_already_on(shell, call, context.facts.cms_backup_pool or "")


def cms_already_on(shell: Shell, call: StepCall, pool: str) -> str | None:
    """Why the step is skipped when the call's planned ``Get-CsService -CentralManagement`` (its check)
    marks ``pool``'s CMS service the one Active; None otherwise."""
    (planned,) = call.commands_for("check")
    if active_cms_pools(send(shell, call, planned).objects) == [pool]:
        return f"the CMS is already on {pool}"
    return None


def store_status(shell: Shell, call: StepCall) -> tuple[str, list[str]]:
    """The call's ``recheck`` status read: (ActiveMasterFqdn, ActiveFileTransferAgents), lower case."""
    planned = next(c for c in call.commands_for("recheck") if c.parameters == CMS_STATUS.parameters)
    status = only_object(send(shell, call, planned), "the Central Management store status")
    return text(status, "ActiveMasterFqdn").lower(), [
        a.lower() for a in texts(status, "ActiveFileTransferAgents")
    ]


def move_under_way(shell: Shell, context: Context, call: StepCall, error: Exception) -> Exception | None:
    """Diagnosis of the CMS-moving steps: a failover or move to Backup_Pool already under way (the store
    names it master, with no file transfer agent yet) is waited for; the step's check then finds the CMS
    there. An earlier attempt of the same step, still running, is the usual cause."""
    pool = context.facts.cms_backup_pool or ""
    master, agents = store_status(shell, call)
    if master in {pool, *context.topology.pool(pool).servers} and not agents:
        return NotReadyError(
            f"a CMS failover to {pool} is under way (ActiveMasterFqdn {master}, no file transfer agent yet): "
            "waiting for it to end"
        )
    return None


def store_not_ready(shell: Shell, context: Context, call: StepCall, error: Exception) -> Exception | None:
    """Diagnosis of steps that write to the store: it is not available (yet), so wait."""
    master, agents = store_status(shell, call)
    if not master or not agents:
        return NotReadyError(
            f"the Central Management store is not available (ActiveMasterFqdn {master or '(none)'}, file "
            f"transfer agents {agents or '(none)'})"
        )
    return None
