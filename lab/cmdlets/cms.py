"""Central Management store cmdlets: its status, its failover (Lync 2013 and later) and its move (2010).

A failover or move takes time (its latency fault). While it runs, the store is being moved: the status
names the new master with no file transfer agent yet [I], another failover or move is refused with
Microsoft's "being moved" text [C], and the topology's active CMS service is still the old one [I]. A
stopped (interrupted) one leaves the CMS where it was [I].
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, ps_object
from lab.model import Deployment, FrontEndPool, SqlServer

FAILOVER = "Invoke-CsManagementServerFailover"


def get_replication_status(inv: Invocation) -> None:
    """The store's status (``-CentralManagementStoreStatus``) or one state per replica (seed 3, 5, 6)."""
    d = inv.deployment
    replicas = d.replicas(inv.now)
    if inv.flag("CentralManagementStoreStatus"):
        master = d.cms.pool if d.cms_available() else (d.cms.moving_to or "")
        inv.output.write_output(
            ps_object(
                lync_facts.STORE_STATUS,
                ActiveMasterFqdn=master,
                ActiveFileTransferAgents=[master] if d.cms_available() else [],
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


def invoke_management_server_failover(inv: Invocation) -> Iterator[None]:
    """``-WhatIf`` names the CMS pool (seed step 1); otherwise fail the CMS over to this server's pool.

    DisasterRecovery (``-BackupSqlServerFqdn ... -Force``, seed step 5): to the database the topology
    defines for this pool, whichever of its SQL servers is principal. Normal without parameters: a planned
    failover of an available CMS to this pool; ``-Restore``: back to the pool it was failed over from. A CMS
    on a Lync 2010 pool is refused: it moves by step 6 (Install-CsDatabase, Move-CsManagementServer).
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
    _refuse_while_moving(inv)
    if inv.flag("Restore"):
        target = _restore_target(inv)
    elif inv.parameter_set == "Normal":
        target = _planned_target(inv)
    else:
        target = _disaster_target(inv)
    if d.cms.pool == target.fqdn and d.cms_available():
        raise inv.error(lync_facts.CMS_ALREADY_ON_POOL.format(pool=target.fqdn), "AlreadyHosted")
    if not inv.flag("Force"):
        _require_source(inv)
    yield from _move(inv, target, service_on=target.front_ends)


def move_management_server(inv: Invocation) -> Iterator[None]:
    """Move the CMS to this server's pool from exported files (seed step 6); name where setup must run."""
    d = inv.deployment
    if not inv.local:
        raise inv.error(lync_facts.MUST_RUN_LOCALLY, "RemoteSessionNotSupported")
    pool = inv.front_end_pool_here()
    installed = [s for s in pool.backend.servers() if s.cms_database and d.is_up(s.fqdn)]
    if not installed:
        raise inv.error(
            lync_facts.CMS_DATABASE_NOT_INSTALLED.format(sql=pool.backend.primary.fqdn),
            "DatabaseNotInstalled",
        )
    inv.reach_sql(installed[0])
    for name in ("ConfigurationFileName", "LisConfigurationFileName"):
        path = inv.text(name)
        if path is not None and not d.has_file(inv.server, path):
            raise inv.error(
                lync_facts.FILE_NOT_FOUND.format(path=path),
                "FileNotFound",
                category="ObjectNotFound",
                target=path,
            )
    _refuse_while_moving(inv)
    if d.cms.pool == pool.fqdn and d.cms_available():
        raise inv.error(lync_facts.CMS_ALREADY_ON_POOL.format(pool=pool.fqdn), "AlreadyHosted")
    if not inv.flag("Force") or inv.text("ConfigurationFileName") is None:
        _require_source(inv)
    yield from _move(inv, pool, service_on=[inv.server])
    inv.output.write_output(lync_facts.MOVE_DONE.format(pool=pool.fqdn))
    for server in pool.front_ends:
        if server != inv.server:
            inv.output.write_output(server)


def _disaster_target(inv: Invocation) -> FrontEndPool:
    """The pool this runs in, when ``-BackupSqlServerFqdn`` (and its mirror) are its topology's database."""
    d = inv.deployment
    sql = inv.fqdn("BackupSqlServerFqdn") or ""
    target = d.pool_of_front_end(inv.server)
    if target is None or sql not in (s.fqdn for s in target.backend.servers()):
        raise inv.error(lync_facts.CMS_FAILOVER_WRONG_POOL.format(sql=sql), "WrongServer", target=sql)
    if not target.hosts_cms_database():
        raise inv.error(_no_cms_database(d, target), "NoCentralManagementDatabase", target=target.fqdn)
    backend = target.backend
    _topology_server(inv, target, sql, backend.primary, "primary")
    mirror = inv.fqdn("BackupMirrorSqlServerFqdn")
    if backend.mirror is not None and mirror is None:
        raise inv.error(
            lync_facts.MIRROR_NOT_GIVEN.format(pool=target.fqdn, mirror=backend.mirror.fqdn), "MirrorNotGiven"
        )
    if mirror is not None:
        _topology_server(inv, target, mirror, backend.mirror, "mirror")
    principal = backend.principal_server()
    if not d.is_up(principal.fqdn):
        down = ", ".join(f"{s.fqdn} is not running" for s in backend.servers() if not d.is_up(s.fqdn))
        raise inv.error(
            lync_facts.CMS_DATABASE_UNREACHABLE.format(pool=target.fqdn, servers=down),
            "SqlServerUnreachable",
            category="ConnectionError",
        )
    inv.reach_sql(principal)
    return target


def _topology_server(
    inv: Invocation, pool: FrontEndPool, given: str, defined: SqlServer | None, role: str
) -> None:
    if defined is None or given != defined.fqdn:
        expected = defined.fqdn if defined is not None else "none"
        raise inv.error(
            lync_facts.NOT_TOPOLOGY_DATABASE.format(sql=given, role=role, pool=pool.fqdn, expected=expected),
            "NotTopologyDatabase",
            target=given,
        )


def _planned_target(inv: Invocation) -> FrontEndPool:
    """A planned failover (no database parameters) to this server's pool, which must hold a CMS database."""
    d = inv.deployment
    target = inv.front_end_pool_here()
    if not target.hosts_cms_database():
        raise inv.error(_no_cms_database(d, target), "NoCentralManagementDatabase", target=target.fqdn)
    inv.reach_sql(target.backend.principal_server())
    return target


def _restore_target(inv: Invocation) -> FrontEndPool:
    d = inv.deployment
    previous = d.cms.previous_pool
    if previous is None:
        raise inv.error(lync_facts.CMS_NOT_FAILED_OVER, "NothingToRestore")
    pool = inv.known_pool(previous)
    if not d.pool_is_up(pool) or not pool.backend.principal_server().cms_database:
        raise inv.error(lync_facts.CMS_RESTORE_UNREACHABLE.format(pool=previous), "RestoreTargetUnavailable")
    inv.reach_sql(pool.backend.principal_server())
    return pool


def _refuse_while_moving(inv: Invocation) -> None:
    if inv.deployment.cms.moving_to is not None:
        raise inv.error(lync_facts.CMS_BEING_MOVED, "CentralManagementStoreBeingMoved")


def _require_source(inv: Invocation) -> None:
    if not inv.deployment.cms_available():
        raise inv.error(
            lync_facts.CMS_SOURCE_UNREACHABLE, "SourceUnreachable", category="ResourceUnavailable"
        )


def _no_cms_database(d: Deployment, target: FrontEndPool) -> str:
    backup = d.cms_pool().backup_pool
    return lync_facts.NO_CMS_DATABASE_IN_POOL.format(
        pool=target.fqdn,
        cms_pool=d.cms.pool,
        backup=f'"{backup}"' if backup else lync_facts.NO_BACKUP_POOL_ASSIGNED,
    )


def _move(inv: Invocation, pool: FrontEndPool, *, service_on: list[str]) -> Iterator[None]:
    """Mark the move under way, let its time pass, then move the CMS (an interruption leaves it put)."""
    d = inv.deployment
    d.cms.moving_to = pool.fqdn
    try:
        yield
    finally:
        d.cms.moving_to = None
    _moved(d, pool, service_on=service_on, now=inv.now)


def _moved(d: Deployment, pool: FrontEndPool, *, service_on: list[str], now: datetime) -> None:
    d.cms.previous_pool = d.cms.pool if d.cms.pool != pool.fqdn else d.cms.previous_pool
    d.cms.pool = pool.fqdn
    d.cms.available = True
    d.cms.service_on = list(service_on)
    d.cms.moved_at = now


CMDLETS = (
    Cmdlet("Get-CsManagementStoreReplicationStatus", get_replication_status),
    Cmdlet(FAILOVER, invoke_management_server_failover),
    Cmdlet("Move-CsManagementServer", move_management_server),
)
