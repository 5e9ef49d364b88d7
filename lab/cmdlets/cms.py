"""Central Management store cmdlets: its status, its failover (Lync 2013) and its move (Lync 2010)."""

from __future__ import annotations

from datetime import datetime

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, Param, ps_object
from lab.model import Deployment, FrontEndPool

FAILOVER = "Invoke-CsManagementServerFailover"


def get_replication_status(inv: Invocation) -> None:
    """The store's status (``-CentralManagementStoreStatus``) or one state per replica (seed 3, 5, 6)."""
    d = inv.deployment
    replicas = d.replicas(inv.now)
    if inv.flag("CentralManagementStoreStatus"):
        master = d.cms.pool if d.cms_available() else ""
        inv.output.write_output(
            ps_object(
                lync_facts.STORE_STATUS,
                ActiveMasterFqdn=master,
                ActiveFileTransferAgents=[master] if master else [],
                ActiveReplicas=[r.fqdn for r in replicas if d.is_up(r.fqdn)],
                DeletedReplicas=[],
            )
        )
        return
    inv.require_cms()
    wanted = inv.fqdn("ReplicaFqdn")
    for replica in replicas:
        if wanted is None or replica.fqdn == wanted:
            inv.output.write_output(
                ps_object(
                    lync_facts.REPLICA_STATE,
                    ReplicaFqdn=replica.fqdn,
                    UpToDate=replica.up_to_date,
                    LastStatusReport=replica.last_status_report,
                    LastUpdateCreation=replica.last_update_creation,
                    ProductVersion=replica.product_version,
                )
            )


def invoke_management_server_failover(inv: Invocation) -> None:
    """``-WhatIf`` names the CMS pool (seed step 1); otherwise fail the CMS over to this pool (step 5).

    A CMS on a Lync 2010 pool is refused: it moves by step 6 (Install-CsDatabase, Move-CsManagementServer).
    """
    d = inv.deployment
    if inv.flag("WhatIf"):
        inv.output.write_information(lync_facts.WHATIF_HOSTED_ON.format(pool=d.cms.pool))
        inv.output.write_information(lync_facts.WHATIF_OPERATION.format(command=FAILOVER, pool=d.cms.pool))
        return
    if d.cms_pool().version < lync_facts.LYNC_2013:
        raise inv.error(
            lync_facts.CMS_ON_LYNC_2010.format(pool=d.cms.pool), "CmsOnLync2010", target=d.cms.pool
        )
    if inv.flag("Restore"):
        _restore(inv)
        return
    sql = inv.fqdn("BackupSqlServerFqdn")
    if sql is None:
        raise inv.missing("BackupSqlServerFqdn")
    target = d.pool_of_front_end(inv.server)
    if target is None or sql not in (s.fqdn for s in target.backend.servers()):
        raise inv.error(lync_facts.WRONG_BACKEND_SERVER.format(sql=sql), "WrongServer", target=sql)
    if not any(s.cms_database for s in target.backend.servers()):
        raise inv.error(_no_cms_database(d, target), "NoCentralManagementDatabase", target=target.fqdn)
    principal = target.backend.principal_server()
    if sql != principal.fqdn or not principal.cms_database or not d.is_up(sql):
        raise inv.error(lync_facts.NOT_CMS_PRINCIPAL.format(sql=sql), "NotPrincipal", target=sql)
    if d.cms.pool == target.fqdn and d.cms_available():
        raise inv.error(lync_facts.CMS_ALREADY_ON_POOL.format(pool=target.fqdn), "AlreadyHosted")
    _require_source_or_force(inv)
    _move_cms(d, target, service_on=target.front_ends, now=inv.now)


def move_management_server(inv: Invocation) -> None:
    """Move the CMS to this server's pool from exported files (seed step 6); name where setup must run."""
    d = inv.deployment
    pool = inv.front_end_pool_here()
    primary = pool.backend.primary
    if not any(s.cms_database and d.is_up(s.fqdn) for s in pool.backend.servers()):
        raise inv.error(
            lync_facts.CMS_DATABASE_NOT_INSTALLED.format(sql=primary.fqdn), "DatabaseNotInstalled"
        )
    files = [f.lower() for f in d.files.get(inv.server, [])]
    for name in ("ConfigurationFileName", "LisConfigurationFileName"):
        path = inv.text(name) or ""
        if path.lower() not in files:
            raise inv.error(
                lync_facts.FILE_NOT_FOUND.format(path=path),
                "FileNotFound",
                category="ObjectNotFound",
                target=path,
            )
    if d.cms.pool == pool.fqdn and d.cms_available():
        raise inv.error(lync_facts.CMS_ALREADY_ON_POOL.format(pool=pool.fqdn), "AlreadyHosted")
    _require_source_or_force(inv)
    _move_cms(d, pool, service_on=[inv.server], now=inv.now)
    inv.output.write_output(lync_facts.MOVE_DONE.format(pool=pool.fqdn))
    for server in pool.front_ends:
        if server != inv.server:
            inv.output.write_output(server)


def _restore(inv: Invocation) -> None:
    d = inv.deployment
    previous = d.cms.previous_pool
    if previous is None:
        raise inv.error(lync_facts.CMS_NOT_FAILED_OVER, "NothingToRestore")
    pool = inv.known_pool(previous)
    if not d.pool_is_up(pool) or not pool.backend.principal_server().cms_database:
        raise inv.error(lync_facts.CMS_RESTORE_UNREACHABLE.format(pool=previous), "RestoreTargetUnavailable")
    _move_cms(d, pool, service_on=pool.front_ends, now=inv.now)


def _no_cms_database(d: Deployment, target: FrontEndPool) -> str:
    backup = d.cms_pool().backup_pool
    return lync_facts.NO_CMS_DATABASE_IN_POOL.format(
        pool=target.fqdn,
        cms_pool=d.cms.pool,
        backup=f'"{backup}"' if backup else lync_facts.NO_BACKUP_POOL_ASSIGNED,
    )


def _require_source_or_force(inv: Invocation) -> None:
    if not inv.flag("Force") and not inv.deployment.cms_available():
        raise inv.error(
            lync_facts.CMS_SOURCE_UNREACHABLE, "SourceUnreachable", category="ResourceUnavailable"
        )


def _move_cms(d: Deployment, pool: FrontEndPool, *, service_on: list[str], now: datetime) -> None:
    d.cms.previous_pool = d.cms.pool if d.cms.pool != pool.fqdn else d.cms.previous_pool
    d.cms.pool = pool.fqdn
    d.cms.available = True
    d.cms.service_on = list(service_on)
    d.cms.moved_at = now


CMDLETS = (
    Cmdlet(
        "Get-CsManagementStoreReplicationStatus",
        (Param("CentralManagementStoreStatus", switch=True), Param("ReplicaFqdn")),
        get_replication_status,
    ),
    Cmdlet(
        FAILOVER,
        (
            Param("BackupSqlServerFqdn"),
            Param("BackupSqlInstanceName"),
            Param("BackupMirrorSqlServerFqdn"),
            Param("BackupMirrorSqlInstanceName"),
            Param("Force", switch=True),
            Param("Report"),
            Param("Restore", switch=True),
            Param("WhatIf", switch=True),
        ),
        invoke_management_server_failover,
    ),
    Cmdlet(
        "Move-CsManagementServer",
        (
            Param("ConfigurationFileName", mandatory=True, aliases=("CsConfiguration",)),
            Param("LisConfigurationFileName", mandatory=True, aliases=("CsLisConfiguration",)),
            Param("Force", switch=True),
            Param("TargetFqdn"),
        ),
        move_management_server,
    ),
)
