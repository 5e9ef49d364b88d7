"""Pool cmdlets: fail a pool's users over to its backup pool and back, and the registrar's PoolState.

A failover takes time (its latency fault): it sets PoolState FailingOver and moves part of the users first
[I]; stopped there (pipeline stopped, its server lost) it stays FailingOver [I: field report].
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import cast

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, ps_object
from lab.model import FrontEndPool, PoolState

REGISTRAR_PREFIX = "Service:Registrar:"


def invoke_pool_failover(inv: Invocation) -> Iterator[None]:
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
    if pool.pool_state == "FailingOver":
        raise inv.error(lync_facts.POOL_FAILING_OVER.format(pool=pool.fqdn), "PoolFailingOver")
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
    inv.reach_sql(backup.backend.principal_server())
    if inv.flag("WhatIf"):
        inv.output.write_information(lync_facts.WHATIF_OPERATION.format(command=inv.command, pool=pool.fqdn))
        return
    lines = [line.format(pool=pool.fqdn, backup=backup.fqdn) for line in lync_facts.POOL_FAILOVER_PROGRESS]
    inv.verbose(lines[0])
    inv.verbose(lines[1])
    pool.pool_state = "FailingOver"
    users = [u for u in d.users if u.serviced_by == pool.fqdn]
    for user in users[: math.ceil(len(users) * lync_facts.FAILOVER_MIDWAY_SHARE)]:
        user.serviced_by = backup.fqdn
    yield
    for user in d.users:
        if user.serviced_by == pool.fqdn:
            user.serviced_by = backup.fqdn
    pool.pool_state = "FailedOver"
    pool.failed_over_to = backup.fqdn
    inv.verbose(lines[2])


def invoke_pool_failback(inv: Invocation) -> None:
    """The reverse of a failover: the pool's own users return to it; its servers must be running, and its
    backup pool too unless ``-DisasterMode``. PoolState becomes FailedBack [I]."""
    d = inv.deployment
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    if pool.pool_state not in ("FailedOver", "FailingOver") or pool.failed_over_to is None:
        raise inv.error(lync_facts.POOL_NOT_FAILED_OVER.format(pool=pool.fqdn), "NotFailedOver")
    down = [s for s in [*pool.front_ends, pool.backend.principal_server().fqdn] if not d.is_up(s)]
    if down:
        raise inv.error(
            lync_facts.POOL_FAILBACK_SERVERS_DOWN.format(pool=pool.fqdn, servers=", ".join(down)),
            "PoolUnreachable",
        )
    backup = inv.known_pool(pool.failed_over_to)
    if not inv.flag("DisasterMode") and not d.pool_is_up(backup):
        raise inv.error(
            lync_facts.POOL_FAILBACK_BACKUP_DOWN.format(pool=pool.fqdn, backup=backup.fqdn),
            "BackupPoolUnreachable",
        )
    inv.require_cms()
    inv.reach_sql(pool.backend.principal_server())
    if inv.flag("WhatIf"):
        inv.output.write_information(lync_facts.WHATIF_OPERATION.format(command=inv.command, pool=pool.fqdn))
        return
    lines = [line.format(pool=pool.fqdn, backup=backup.fqdn) for line in lync_facts.POOL_FAILBACK_PROGRESS]
    inv.verbose(lines[0])
    for user in d.users:
        if user.home_pool == pool.fqdn:
            user.serviced_by = pool.fqdn
    pool.pool_state = "FailedBack"
    pool.failed_over_to = None
    inv.verbose(lines[1])


def get_registrar_configuration(inv: Invocation) -> None:
    """Each Front End pool's registrar settings, or the one named ``Service:Registrar:<pool>``; from the
    store, or with ``-LocalStore`` from this server's replica."""
    if not inv.flag("LocalStore"):
        inv.require_cms()
    for pool in _registrar_pools(inv):
        inv.output.write_output(
            ps_object(
                lync_facts.REGISTRAR_SETTINGS,
                Identity=f"{REGISTRAR_PREFIX}{pool.fqdn}",
                PoolState=pool.pool_state,
            )
        )


def set_registrar_configuration(inv: Invocation) -> None:
    """``-PoolState``: set a pool's registrar state (the recovery of a failover stopped midway)."""
    inv.require_cms()
    state = inv.text("PoolState")
    pools = _registrar_pools(inv)
    if inv.flag("WhatIf") or state is None:
        return
    for pool in pools:
        pool.pool_state = cast(PoolState, state)  # the binder accepted one of the reference's four values


def _registrar_pools(inv: Invocation) -> list[FrontEndPool]:
    identity = inv.text("Identity")
    pools = inv.deployment.pools
    if identity is None:
        return list(pools)
    wanted = identity.lower()
    found = [p for p in pools if f"{REGISTRAR_PREFIX}{p.fqdn}".lower() == wanted]
    if not found:
        raise inv.error(
            lync_facts.REGISTRAR_CONFIGURATION_NOT_FOUND.format(identity=identity),
            "ConfigurationNotFound",
            category="ObjectNotFound",
        )
    return found


def _backup_pool(inv: Invocation, pool: FrontEndPool) -> FrontEndPool:
    if pool.backup_pool is None:
        raise inv.error(
            lync_facts.NO_BACKUP_POOL.format(pool=pool.fqdn), "NoBackupPool", category="ObjectNotFound"
        )
    return inv.known_pool(pool.backup_pool)


CMDLETS = (
    Cmdlet("Invoke-CsPoolFailover", invoke_pool_failover),
    Cmdlet("Invoke-CsPoolFailback", invoke_pool_failback),
    Cmdlet("Get-CsRegistrarConfiguration", get_registrar_configuration),
    Cmdlet("Set-CsRegistrarConfiguration", set_registrar_configuration),
)
