"""Built-in plugin: read-only discovery of the seed's steps 1-3 (backup pool, CMS location, version, status).

Runs on a Front End of the surviving pool. Nothing here changes the deployment.
"""

from __future__ import annotations

from plugins.kit.cms_store import CMS_STATUS, REPLICA_STATUS, active_cms_pools, cms_service_command
from plugins.kit.commands import send
from plugins.kit.errors import PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    Facts,
    PlannedCommand,
    SqlBackEnd,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.kit.remote import is_true_value, only_object, strip_prefix, text, texts
from plugins.kit.requests import Request, SiteRequest
from plugins.kit.shell import CmdletError, RemoteObject, Shell
from plugins.kit.versions import lync_version


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """The discovery steps."""
    return [
        StepSpec(name="discovery.find_backup_pool", mutating=False, action=find_backup_pool),
        StepSpec(name="discovery.find_backup_pools", mutating=False, action=find_backup_pools),
        StepSpec(name="discovery.locate_cms", mutating=False, action=locate_cms),
        StepSpec(name="discovery.check_cms_status", mutating=False, action=check_cms_status),
        StepSpec(
            name="discovery.find_cms_backup_pool",
            mutating=False,
            action=find_cms_backup_pool,
        ),
        StepSpec(name="discovery.find_backup_sql", mutating=False, action=find_backup_sql),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """locate: the backup pool(s); discover: CMS location, status, Backup_Pool; inspect: Backup_Pool's SQL."""
    if phase == "locate" and isinstance(context.request, SiteRequest):
        relationships = [backup_relationship_command(pool) for pool in context.failed_pools()]
        server = _locating_server(context)
        return [step_call("discovery.find_backup_pools", phase, server, commands=relationships)]
    if phase == "locate" and isinstance(context.request, Request):
        relationship = backup_relationship_command(context.failed_pool)
        return [
            step_call("discovery.find_backup_pool", phase, _locating_server(context), commands=[relationship])
        ]
    survivor = context.survivor_pool()
    if phase == "discover" and survivor is not None:
        server = context.topology.front_end(survivor)
        whatif = command("Invoke-CsManagementServerFailover", WhatIf=True)
        # The status is read only when Get-CsService does not mark exactly one CMS service Active.
        locate = [whatif, cms_service_command("read"), CMS_STATUS]
        return [
            step_call("discovery.locate_cms", phase, server, commands=locate),
            step_call("discovery.check_cms_status", phase, server, commands=[CMS_STATUS, REPLICA_STATUS]),
            # Its -PoolFqdn is the CMS pool locate_cms finds in this same round: made at run time.
            step_call("discovery.find_cms_backup_pool", phase, server),
        ]
    cms_backup_pool = context.facts.cms_backup_pool
    if phase == "inspect" and context.cms_must_fail_over() and cms_backup_pool is not None:
        server = context.topology.front_end(cms_backup_pool)
        databases = command("Get-CsService", UserDatabase=True)
        return [step_call("discovery.find_backup_sql", phase, server, commands=[databases])]
    return []


def backup_relationship_command(pool: str) -> PlannedCommand:
    """``Get-CsPoolBackupRelationship -PoolFqdn <pool> -LocalStore``: the pool's backup pool, from the local
    replica of the Front End asked, which answers while the Central Management store is down (the disaster
    this runs in); pairs change only with a topology publish, which every replica receives."""
    return command("Get-CsPoolBackupRelationship", PoolFqdn=pool, LocalStore=True)


def find_backup_pool(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 2 for the failed pool: ``Get-CsPoolBackupRelationship`` names the pool that takes over."""
    (relationship,) = call.commands_for("read")
    relation = only_object(send(shell, call, relationship), "the backup relationship")
    backup = text(relation, "BackupPoolFqdn").lower()
    target = context.request.target if isinstance(context.request, Request) else None
    if target is not None and target != backup:
        raise PreconditionError(
            f"{target} is not the backup pool of {context.failed_pool} (the topology says {backup}): "
            f"Invoke-CsPoolFailover only fails over to the backup pool. Run again with target={backup} "
            "or without a target."
        )
    return StepResult(
        summary=f"the backup pool of {context.failed_pool} is {backup}",
        facts=Facts(backup_pool=backup, backup_pools={context.failed_pool: backup}),
    )


def find_backup_pools(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 2 for each pool of a lost site; a pool without a backup pool is named, and its own run
    will stop saying so, while the others fail over."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for relationship in call.commands_for("read"):
        pool = str(relationship.parameters["PoolFqdn"])
        try:
            relation = only_object(send(shell, call, relationship), "the backup relationship")
        except (CmdletError, PreconditionError):
            missing.append(pool)
            continue
        found[pool] = text(relation, "BackupPoolFqdn").lower()
    pairs = ", ".join(f"{pool} -> {backup}" for pool, backup in found.items()) or "none"
    lacking = f"; no backup pool: {', '.join(missing)}" if missing else ""
    return StepResult(summary=f"backup pools: {pairs}{lacking}", facts=Facts(backup_pools=found))


def locate_cms(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 1 (``-WhatIf``) and step 2 (version): where the Central Management Server lives.

    ``Get-CsService -CentralManagement`` lists a CMS service for every pool that can host the CMS database;
    CMS_Pool is the one it marks Active, never the first listed. When none or several are Active (a
    failover left the topology inconsistent), the store's ActiveMasterFqdn decides, then the pool the
    ``-WhatIf`` text names (its wording is not published: only which listed pool it names is read).
    """
    whatif_command, service_command, status_command = call.commands_for("read")
    whatif = send(shell, call, whatif_command)
    services = send(shell, call, service_command).objects
    by_pool = {text(service, "PoolFqdn").lower(): service for service in services}
    if not by_pool:
        raise PreconditionError(
            "Get-CsService -CentralManagement listed no Central Management service: check the topology "
            "(Topology Builder) on this Front End, then run again"
        )
    active = active_cms_pools(services)
    if len(active) == 1:
        cms_pool, how = active[0], "marked Active"
    else:
        cms_pool, how = _tie_break(shell, call, status_command, whatif.information, active or list(by_pool))
    service = by_pool[cms_pool]
    version = _version(service)
    return StepResult(
        summary=f"CMS on {cms_pool} ({how}; version {'unknown' if version is None else version})",
        facts=Facts(
            cms_pool=cms_pool,
            cms_version=version,
            cms_active=is_true_value(service.get("Active")),
            cms_whatif=whatif.information,
        ),
    )


def _tie_break(
    shell: Shell, call: StepCall, status_command: PlannedCommand, whatif: list[str], candidates: list[str]
) -> tuple[str, str]:
    """CMS_Pool among ``candidates`` when the Active flags do not decide: the store's active master, else
    the one pool the ``-WhatIf`` text names."""
    status = only_object(send(shell, call, status_command), "the Central Management store status")
    master = text(status, "ActiveMasterFqdn").lower()
    by_master = [pool for pool in candidates if master and (master == pool or master.endswith(f".{pool}"))]
    if len(by_master) == 1:
        return by_master[0], f"ActiveMasterFqdn {master}"
    named = [pool for pool in candidates if any(pool in line.lower() for line in whatif)]
    if len(named) == 1:
        return named[0], "named by -WhatIf"
    raise PreconditionError(
        f"cannot tell which pool hosts the CMS: Get-CsService -CentralManagement marks "
        f"{len(candidates) if candidates else 'no'} services Active among {', '.join(candidates)}, the store "
        f"names master {master or '(none)'}, and -WhatIf names {', '.join(named) or 'none of them'}. Check "
        "the Central Management services in Topology Builder (Microsoft's 'Can't perform a CMS failover' "
        "support article), then run again"
    )


def check_cms_status(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 3: ActiveMasterFqdn and ActiveFileTransferAgents (both empty = CMS unavailable), replicas."""
    status_command, replicas_command = call.commands_for("read")
    status = only_object(send(shell, call, status_command), "the Central Management store status")
    master = text(status, "ActiveMasterFqdn").lower()
    agents = [agent.lower() for agent in texts(status, "ActiveFileTransferAgents")]
    replicas: dict[str, bool] = {}
    if master and agents:
        listing = send(shell, call, replicas_command)
        replicas = {text(r, "ReplicaFqdn").lower(): bool(r.get("UpToDate")) for r in listing.objects}
    summary = f"CMS status: master {master or '(none)'}, file transfer agents {agents or '(none)'}"
    return StepResult(
        summary=summary,
        facts=Facts(active_master=master, active_file_transfer_agents=agents, replicas=replicas),
    )


def find_cms_backup_pool(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 2 for CMS_Pool: its backup pool (Backup_Pool), asked only when the CMS must fail over.

    The seed asks ``Get-CsPoolBackupRelationship`` only for a Lync 2013 CMS_Pool: Lync 2010 pools have no
    backup pairing, so a Lync 2010 CMS moves to the failover target (context.survivor_pool).
    """
    cms_pool = context.facts.cms_pool
    if cms_pool is None:
        raise PreconditionError("the CMS pool is not known: discovery.locate_cms must run first")
    if not context.cms_must_fail_over():
        return StepResult(
            summary=f"the CMS on {cms_pool} is healthy: no CMS failover, Backup_Pool not needed",
            facts=Facts(cms_fails_over=False),
        )
    target = context.survivor_pool()
    version = lync_version(context.facts.cms_version)
    if version is not None and not version.cms_failover and target is not None:
        return StepResult(
            summary=f"Backup_Pool is the failover target {target} (Lync 2010 pools have no backup pairing)",
            facts=Facts(cms_fails_over=True, cms_backup_pool=target),
        )
    relation = only_object(
        send(shell, call, backup_relationship_command(cms_pool)), "the backup relationship"
    )
    backup = text(relation, "BackupPoolFqdn").lower()
    if backup in context.failed_pools():
        raise PreconditionError(
            f"the CMS on {cms_pool} must fail over but has no surviving backup pool: its backup pool is "
            f"{backup}, a pool being failed over. Bring {cms_pool}'s Front Ends and SQL back so the CMS "
            f"answers (then it need not fail over), or move the CMS by hand to a surviving pool, then "
            "run again"
        )
    return StepResult(
        summary=f"Backup_Pool (backup of {cms_pool}) is {backup}",
        facts=Facts(cms_fails_over=True, cms_backup_pool=backup),
    )


def find_backup_sql(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Backup_Pool's back-end SQL servers and instances, from ``Get-CsService -UserDatabase``."""
    pool = context.facts.cms_backup_pool or ""
    (databases,) = call.commands_for("read")
    services = send(shell, call, databases).objects
    for service in services:
        dependents = {strip_prefix(item) for item in texts(service, "DependentServiceList")}
        if pool in dependents:
            backend = SqlBackEnd(
                primary_server=text(service, "PoolFqdn").lower(),
                primary_instance=text(service, "SqlInstanceName"),
                mirror_server=text(service, "MirrorSqlServerFqdn").lower(),
                mirror_instance=text(service, "MirrorSqlInstanceName"),
            )
            return StepResult(
                summary=f"{pool} back end: {backend.primary_server}\\{backend.primary_instance}"
                + (
                    f", mirror {backend.mirror_server}\\{backend.mirror_instance}"
                    if backend.mirror_server
                    else ""
                ),
                facts=Facts(cms_backend=backend),
            )
    raise PreconditionError(f"no user database serves {pool} in the topology (Get-CsService -UserDatabase)")


def _version(service: RemoteObject) -> int | None:
    """The CMS service's Version (5 = Lync 2010, 6 = 2013, ...); None when it wrote none."""
    version = text(service, "Version").strip()
    if not version:
        return None
    if not version.isdigit():
        raise PreconditionError(
            f'Get-CsService -CentralManagement wrote Version "{version}", not a number: check the CMS '
            "service in Topology Builder"
        )
    return int(version)


def _locating_server(context: Context) -> str:
    """Where to ask for backup pools: the requested target, else the first surviving Front End pool; pools at
    another site than the failed ones come first (a disaster takes the neighbours of a failed pool too)."""
    if isinstance(context.request, Request) and context.request.target is not None:
        return context.topology.front_end(context.request.target)
    pools = context.topology.front_end_pools()
    failed = context.failed_pools()
    failed_sites = {p.site for p in pools if p.fqdn in failed}
    survivors = [p for p in pools if p.fqdn not in failed and p.servers]
    for pool in sorted(survivors, key=lambda p: p.site in failed_sites):
        return pool.servers[0]
    raise PreconditionError(f"no Front End pool other than {', '.join(failed)} is in the inventory")
