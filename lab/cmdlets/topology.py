"""Topology cmdlets: pools, services, backup pairs, the Edge next hop and publishing."""

from __future__ import annotations

from lab import lync_facts
from lab.api import PSValue
from lab.cmdlets.base import Cmdlet, Invocation, ps_object
from lab.model import Deployment, EdgePool, FrontEndPool

#: The Get-CsService parameter sets (one per role switch) whose services the lab models.
SERVICE_KINDS = ("CentralManagement", "EdgeServer", "Registrar", "UserDatabase")


def get_pool(inv: Invocation) -> None:
    """Front End and Edge pools, or the one named by ``-Identity`` (read from the topology's local copy)."""
    d = inv.deployment
    identity = inv.fqdn("Identity")
    objects = [_cluster(d, p) for p in d.pools] + [_edge_cluster(e) for e in d.edge_pools]
    site = inv.text("Site")
    if site is not None:
        objects = [o for o in objects if str(o.properties["Site"]).lower() == f"site:{site.lower()}"]
    if identity is not None:
        objects = [o for o in objects if o.properties["Fqdn"] == identity]
        if not objects:
            inv.known_pool(identity)
    for value in objects:
        inv.output.write_output(value)


def get_service(inv: Invocation) -> None:
    """The services of the role its switch names, or every modelled role (the Identity set), by pool.

    Read from the topology's local copy, so it answers while the Central Management store is down (the
    seed runs it then) [I: lync_facts.TOPOLOGY_READS_LOCAL].
    """
    d = inv.deployment
    kinds = SERVICE_KINDS if inv.parameter_set in ("Identity", "Filter") else (inv.parameter_set,)
    objects: list[PSValue] = []
    for kind in kinds:
        if kind == "CentralManagement":
            objects += [_central_management(d, p) for p in d.pools if p.hosts_cms_database()]
        elif kind == "EdgeServer":
            objects += [_edge_server(e) for e in d.edge_pools]
        elif kind == "Registrar":
            objects += [_registrar(p) for p in d.pools]
        elif kind == "UserDatabase":
            objects += [_user_database(p) for p in d.pools]
    pool = inv.fqdn("PoolFqdn")
    identity = inv.text("Identity")
    for value in objects:
        if pool is not None and value.properties["PoolFqdn"] != pool:
            continue
        if identity is not None and str(value.properties["Identity"]).lower() != identity.lower():
            continue
        inv.output.write_output(value)


def get_pool_backup_relationship(inv: Invocation) -> None:
    """The backup pool of ``-PoolFqdn``: from the Central Management store, or with ``-LocalStore`` from this
    server's replica (which answers while the store is down)."""
    if not inv.flag("LocalStore"):
        inv.require_cms()
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    if pool.backup_pool is None:
        raise inv.error(
            lync_facts.NO_BACKUP_POOL.format(pool=pool.fqdn), "NoBackupPool", category="ObjectNotFound"
        )
    inv.output.write_output(
        ps_object(lync_facts.BACKUP_RELATION, PoolFqdn=pool.fqdn, BackupPoolFqdn=pool.backup_pool)
    )


def set_edge_server(inv: Invocation) -> None:
    """Point an Edge pool's internal next hop at another Front End pool (effective at once).

    The port parameters are accepted and change nothing the lab models.
    """
    edge_fqdn = inv.fqdn("Identity", "EdgeServer:") or ""
    edge = inv.deployment.edge_pool(edge_fqdn)
    if edge is None:
        raise inv.error(
            lync_facts.EDGE_POOL_NOT_FOUND.format(pool=edge_fqdn),
            "EdgePoolNotFound",
            category="ObjectNotFound",
        )
    hop_fqdn = inv.fqdn("Registrar", "Registrar:")
    if hop_fqdn is not None:
        _check_next_hop(inv, hop_fqdn)
    inv.require_cms()
    if inv.flag("WhatIf"):
        inv.output.write_information(
            lync_facts.WHATIF_OPERATION.format(command=inv.command, pool=f"EdgeServer:{edge.fqdn}")
        )
        return
    if hop_fqdn is not None:
        edge.next_hop = hop_fqdn


def enable_topology(inv: Invocation) -> None:
    """Publish the topology (recorded as a publish)."""
    inv.require_cms()
    if not inv.flag("WhatIf"):
        inv.deployment.publishes += 1


def _check_next_hop(inv: Invocation, hop_fqdn: str) -> None:
    hop = inv.deployment.pool(hop_fqdn)
    if hop is None:
        reason = "it is not a Front End pool of the topology"
    elif not all(inv.deployment.is_up(s) for s in hop.front_ends):
        reason = "not all of its Front End servers are running"
    else:
        return
    raise inv.error(
        lync_facts.NEXT_HOP_NOT_USABLE.format(pool=hop_fqdn, reason=reason), "InvalidNextHop", target=hop_fqdn
    )


def _services(d: Deployment, pool: FrontEndPool) -> list[str]:
    services = [f"Registrar:{pool.fqdn}", f"UserServer:{pool.fqdn}"]
    return services + ([f"CentralManagement:{pool.fqdn}"] if pool.hosts_cms_database() else [])


def _cluster(d: Deployment, pool: FrontEndPool) -> PSValue:
    return ps_object(
        lync_facts.CLUSTER,
        Identity=pool.fqdn,
        Fqdn=pool.fqdn,
        Site=f"Site:{pool.site}",
        Computers=list(pool.front_ends),
        Services=_services(d, pool),
    )


def _edge_cluster(edge: EdgePool) -> PSValue:
    return ps_object(
        lync_facts.CLUSTER,
        Identity=edge.fqdn,
        Fqdn=edge.fqdn,
        Site=f"Site:{edge.site}",
        Computers=list(edge.servers),
        Services=[f"EdgeServer:{edge.fqdn}"],
    )


def _central_management(d: Deployment, pool: FrontEndPool) -> PSValue:
    """One CMS service per pool that can host the CMS database; Active on the one holding the active
    master [C: more than one is listed, exactly one Active; I: the active one is the topology's CMS pool,
    whether or not it answers]."""
    return ps_object(
        lync_facts.DISPLAY_CENTRAL_MANAGEMENT,
        Identity=f"CentralManagement:{pool.fqdn}",
        PoolFqdn=pool.fqdn,
        SiteId=f"Site:{pool.site}",
        Version=pool.version,
        Active=pool.fqdn == d.cms.pool,
    )


def _edge_server(edge: EdgePool) -> PSValue:
    return ps_object(
        lync_facts.DISPLAY_EDGE_SERVER,
        Identity=f"EdgeServer:{edge.fqdn}",
        PoolFqdn=edge.fqdn,
        SiteId=f"Site:{edge.site}",
        Registrar=f"Registrar:{edge.next_hop}",
    )


def _registrar(pool: FrontEndPool) -> PSValue:
    return ps_object(
        lync_facts.DISPLAY_REGISTRAR,
        Identity=f"Registrar:{pool.fqdn}",
        PoolFqdn=pool.fqdn,
        SiteId=f"Site:{pool.site}",
        Version=pool.version,
        BackupPoolFqdn=pool.backup_pool or "",
    )


def _user_database(pool: FrontEndPool) -> PSValue:
    primary, mirror = pool.backend.primary, pool.backend.mirror
    return ps_object(
        lync_facts.DISPLAY_USER_DATABASE,
        Identity=f"UserDatabase:{primary.fqdn}",
        PoolFqdn=primary.fqdn,
        SqlInstanceName=primary.instance,
        MirrorSqlServerFqdn=mirror.fqdn if mirror else "",
        MirrorSqlInstanceName=mirror.instance if mirror else "",
        DependentServiceList=[f"UserServer:{pool.fqdn}", f"Registrar:{pool.fqdn}"],
    )


CMDLETS = (
    Cmdlet("Get-CsPool", get_pool),
    Cmdlet("Get-CsService", get_service),
    Cmdlet("Get-CsPoolBackupRelationship", get_pool_backup_relationship),
    Cmdlet("Set-CsEdgeServer", set_edge_server),
    Cmdlet("Enable-CsTopology", enable_topology),
)
