"""Built-in plugin: the checks both CMS paths end with (seed steps 5 and 6, "Validate" and "replica status").

The Lync 2013 and 2010 plugins plan these steps through :func:`validation_calls`; this plugin plans nothing
itself.
"""

from __future__ import annotations

from plugins import hookimpl
from plugins.commands import send
from plugins.model import (
    CommandPurpose,
    Context,
    NotReadyError,
    PlannedCommand,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.remote import only_object, text, texts
from plugins.shell import Shell

#: The CMS status: ActiveMasterFqdn and ActiveFileTransferAgents (both empty = CMS unavailable).
CMS_STATUS = command("Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=True)
#: Every replica of the Central Management store and whether it is UpToDate.
REPLICA_STATUS = command("Get-CsManagementStoreReplicationStatus")


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """The CMS validation steps (read-only; they retry until the deadline while the CMS settles)."""
    return [
        StepSpec(name="cms.validate", phase="cms", mutating=False, action=validate_cms_location),
        StepSpec(name="cms.wait_for_replicas", phase="cms", mutating=False, action=wait_for_replicas),
    ]


def validation_calls(context: Context, server: str) -> list[StepCall]:
    """Validate the CMS now names Backup_Pool, then wait until every live replica is up to date."""
    pool = context.facts.cms_backup_pool or ""
    return [
        step_call(
            "cms.validate",
            "cms",
            server,
            params={"pool": pool},
            commands=[CMS_STATUS],
            description=f"ActiveMasterFqdn and ActiveFileTransferAgents name {pool}",
        ),
        step_call(
            "cms.wait_for_replicas",
            "cms",
            server,
            commands=[REPLICA_STATUS],
            description="every replica on a live server is UpToDate (polled until then)",
        ),
    ]


def cms_service_command(purpose: CommandPurpose) -> PlannedCommand:
    """``Get-CsService -CentralManagement``: the pool hosting the CMS, its version and whether it answers."""
    return command("Get-CsService", purpose, CentralManagement=True)


def validate_cms_location(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """ActiveMasterFqdn and every ActiveFileTransferAgents entry name the pool (or one of its servers)."""
    pool = str(call.params["pool"])
    accepted = {pool, *context.topology.pool(pool).servers}
    (planned,) = call.commands_for("read")
    status = only_object(send(shell, call, planned), "the Central Management store status")
    master = text(status, "ActiveMasterFqdn").lower()
    agents = [agent.lower() for agent in texts(status, "ActiveFileTransferAgents")]
    if master not in accepted or not agents or any(agent not in accepted for agent in agents):
        raise NotReadyError(
            f"the CMS status names master {master or '(none)'} and agents {agents}, not {pool}"
        )
    return StepResult(
        summary=f"the CMS is active on {pool}",
        facts={"active_master": master, "active_file_transfer_agents": agents},
    )


def wait_for_replicas(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Every replica outside the failed pool and unreachable servers is UpToDate (those never will be)."""
    dead = {*context.topology.pool(context.failed_pool).servers, *context.facts.unreachable_servers}
    (planned,) = call.commands_for("read")
    listing = send(shell, call, planned).objects
    replicas = {text(r, "ReplicaFqdn").lower(): bool(r.get("UpToDate")) for r in listing}
    behind = sorted(fqdn for fqdn, current in replicas.items() if fqdn not in dead and not current)
    if behind:
        raise NotReadyError(f"replicas not yet up to date: {', '.join(behind)}")
    return StepResult(
        summary=f"{len(replicas) - len(dead & replicas.keys())} live replicas up to date",
        facts={"replicas": replicas},
    )


def cms_already_on_backup_pool(shell: Shell, context: Context, call: StepCall) -> str | None:
    """A check for the CMS-moving steps: the topology's CMS service already names Backup_Pool and answers."""
    pool = context.facts.cms_backup_pool or ""
    (planned,) = call.commands_for("check")
    service = only_object(send(shell, call, planned), "the Central Management service")
    if text(service, "PoolFqdn").lower() == pool and bool(service.get("Active")):
        return f"the CMS is already on {pool}"
    return None
