"""Built-in plugin: the checks both CMS paths end with (seed steps 5 and 6, "Validate" and "replica status").

The Lync 2013 and 2010 plugins plan these steps (plugins.kit.cms_store.validation_calls); this plugin only
provides them.
"""

from __future__ import annotations

from plugins.kit.cms_store import REPLICAS_STEP, VALIDATE_STEP
from plugins.kit.commands import send
from plugins.kit.errors import NotReadyError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import Context, Facts, StepCall, StepResult, StepSpec
from plugins.kit.remote import only_object, text, texts
from plugins.kit.shell import Shell


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """The CMS validation steps (read-only; they retry until the deadline while the CMS settles)."""
    return [
        StepSpec(name=VALIDATE_STEP, mutating=False, action=validate_cms_location),
        StepSpec(name=REPLICAS_STEP, mutating=False, action=wait_for_replicas),
    ]


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
        facts=Facts(active_master=master, active_file_transfer_agents=agents),
    )


def wait_for_replicas(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Every replica on a server that is up is UpToDate. A lagging replica's server is probed: a server
    that is down (or that the inventory cannot reach) never holds the run; the summary names it."""
    known = {server for pool in context.topology.pools for server in pool.servers}
    failed = {server for pool in context.failed_pools() for server in context.topology.pool(pool).servers}
    dead = failed | set(context.facts.unreachable_servers)
    (planned,) = call.commands_for("read")
    listing = send(shell, call, planned).objects
    replicas = {text(r, "ReplicaFqdn").lower(): bool(r.get("UpToDate")) for r in listing}
    lagging = sorted(fqdn for fqdn, current in replicas.items() if not current and fqdn not in dead)
    unknown = [fqdn for fqdn in lagging if fqdn not in known]
    down = [fqdn for fqdn in lagging if fqdn in known and not shell.reachable(fqdn)]
    behind = [fqdn for fqdn in lagging if fqdn not in unknown and fqdn not in down]
    if behind:
        raise NotReadyError(f"replicas not yet up to date: {', '.join(behind)}")
    waited = [fqdn for fqdn in replicas if fqdn not in dead and fqdn not in down and fqdn not in unknown]
    ignored = [*(f"{fqdn} (down)" for fqdn in [*sorted(dead & replicas.keys()), *down])]
    ignored += [f"{fqdn} (not in the inventory)" for fqdn in unknown]
    return StepResult(
        summary=f"{len(waited)} live replicas up to date"
        + (f"; not waited for: {', '.join(ignored)}" if ignored else ""),
        facts=Facts(replicas=replicas, unreachable_servers=[*context.facts.unreachable_servers, *down]),
    )
