"""Pool cmdlets: fail a pool's users over to its backup pool and back, and the registrar's state."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, Param, ps_object
from lab.model import FrontEndPool

REGISTRAR_PREFIX = "Service:Registrar:"


def invoke_pool_failover(inv: Invocation) -> None:
    """Seed step 7: the pool's users are serviced by its backup pool; checks in the product's order."""
    d = inv.deployment
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    backup = _backup_pool(inv, pool)
    if inv.server not in backup.front_ends:
        raise inv.error(
            lync_facts.POOL_FAILOVER_WRONG_SERVER.format(backup=backup.fqdn, pool=pool.fqdn), "WrongServer"
        )
    if pool.pool_state == "FailedOver":
        raise inv.error(
            lync_facts.POOL_ALREADY_FAILED_OVER.format(
                pool=pool.fqdn, backup=pool.failed_over_to or backup.fqdn
            ),
            "AlreadyFailedOver",
        )
    if any(e.next_hop == pool.fqdn for e in d.edge_pools):
        raise inv.error(lync_facts.EDGE_NEXT_HOP.format(pool=pool.fqdn), "EdgeNextHop", target=pool.fqdn)
    inv.require_cms(lync_facts.POOL_FAILOVER_CMS_UNAVAILABLE.format(pool=pool.fqdn))
    replicas = {r.fqdn: r.up_to_date for r in d.replicas(inv.now)}
    if d.cms.moved_at is not None and not all(replicas[s] for s in backup.front_ends if d.is_up(s)):
        raise inv.error(lync_facts.POOL_FAILOVER_CMS_REPLICATING.format(pool=pool.fqdn), "CmsNotFailedOver")
    if not inv.flag("DisasterMode") and not d.pool_is_up(pool):
        raise inv.error(
            lync_facts.POOL_FAILOVER_NEEDS_DISASTER_MODE.format(pool=pool.fqdn), "PoolUnreachable"
        )
    if inv.flag("WhatIf"):
        inv.output.write_information(lync_facts.WHATIF_OPERATION.format(command=inv.command, pool=pool.fqdn))
        return
    lines = [line.format(pool=pool.fqdn, backup=backup.fqdn) for line in lync_facts.POOL_FAILOVER_PROGRESS]
    inv.verbose(lines[0])
    inv.verbose(lines[1])
    for user in d.users:
        if user.serviced_by == pool.fqdn:
            user.serviced_by = backup.fqdn
    pool.pool_state = "FailedOver"
    pool.failed_over_to = backup.fqdn
    inv.verbose(lines[2])


def invoke_pool_failback(inv: Invocation) -> None:
    """The reverse of a failover: the pool's own users return to it; its servers must be running."""
    d = inv.deployment
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    if pool.pool_state != "FailedOver" or pool.failed_over_to is None:
        raise inv.error(lync_facts.POOL_NOT_FAILED_OVER.format(pool=pool.fqdn), "NotFailedOver")
    down = [s for s in [*pool.front_ends, pool.backend.principal_server().fqdn] if not d.is_up(s)]
    if down:
        raise inv.error(
            lync_facts.POOL_FAILBACK_SERVERS_DOWN.format(pool=pool.fqdn, servers=", ".join(down)),
            "PoolUnreachable",
        )
    inv.require_cms()
    lines = [
        line.format(pool=pool.fqdn, backup=pool.failed_over_to) for line in lync_facts.POOL_FAILBACK_PROGRESS
    ]
    inv.verbose(lines[0])
    for user in d.users:
        if user.home_pool == pool.fqdn:
            user.serviced_by = pool.fqdn
    pool.pool_state = "Active"
    pool.failed_over_to = None
    inv.verbose(lines[1])


def get_registrar_configuration(inv: Invocation) -> None:
    """Each Front End pool's registrar ``PoolState``, or the one named ``Service:Registrar:<pool>``."""
    identity = inv.text("Identity")
    pools = inv.deployment.pools
    if identity is not None:
        wanted = identity.lower()
        pools = [p for p in pools if f"{REGISTRAR_PREFIX}{p.fqdn}".lower() == wanted]
        if not pools:
            raise inv.error(
                lync_facts.REGISTRAR_CONFIGURATION_NOT_FOUND.format(identity=identity),
                "ConfigurationNotFound",
                category="ObjectNotFound",
            )
    for pool in pools:
        inv.output.write_output(
            ps_object(
                lync_facts.REGISTRAR_CONFIGURATION,
                Identity=f"{REGISTRAR_PREFIX}{pool.fqdn}",
                PoolState=pool.pool_state,
            )
        )


def _backup_pool(inv: Invocation, pool: FrontEndPool) -> FrontEndPool:
    if pool.backup_pool is None:
        raise inv.error(
            lync_facts.NO_BACKUP_POOL.format(pool=pool.fqdn), "NoBackupPool", category="ObjectNotFound"
        )
    return inv.known_pool(pool.backup_pool)


CMDLETS = (
    Cmdlet(
        "Invoke-CsPoolFailover",
        (
            Param("PoolFqdn", mandatory=True),
            Param("DisasterMode", switch=True),
            Param("FlushStorageService", switch=True),
            Param("Force", switch=True),
            Param("WaitTime"),
            Param("WhatIf", switch=True),
        ),
        invoke_pool_failover,
    ),
    Cmdlet(
        "Invoke-CsPoolFailback",
        (Param("PoolFqdn", mandatory=True), Param("Force", switch=True)),
        invoke_pool_failback,
    ),
    Cmdlet("Get-CsRegistrarConfiguration", (Param("Identity", position=0),), get_registrar_configuration),
)
