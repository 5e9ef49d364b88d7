"""Topology cmdlets: pools, services, backup pairs, the Edge next hop and publishing."""

from __future__ import annotations

from lab import lync_facts
from lab.api import PSValue
from lab.cmdlets.base import Cmdlet, Invocation, Param, ps_object
from lab.model import Deployment, EdgePool, FrontEndPool

SERVICE_SWITCHES = ("CentralManagement", "EdgeServer", "Registrar", "UserDatabase")


def get_pool(inv: Invocation) -> None:
    """Front End and Edge pools, or the one named by ``-Identity``."""
    d = inv.deployment
    identity = inv.fqdn("Identity")
    objects = [_display_pool(d, p) for p in d.pools] + [_display_edge_pool(e) for e in d.edge_pools]
    if identity is not None:
        objects = [o for o in objects if o.properties["Fqdn"] == identity]
        if not objects:
            inv.known_pool(identity)
    for value in objects:
        inv.output.write_output(value)


def get_service(inv: Invocation) -> None:
    """The services of one kind (``-CentralManagement``, ``-EdgeServer``, ...), or all, by pool if asked."""
    chosen = [s for s in SERVICE_SWITCHES if inv.flag(s)]
    if len(chosen) > 1:
        raise inv.error(
            lync_facts.AMBIGUOUS_PARAMETER_SET, "AmbiguousParameterSet", category="InvalidArgument"
        )
    d = inv.deployment
    objects: list[PSValue] = []
    for kind in chosen or SERVICE_SWITCHES:
        if kind == "CentralManagement":
            objects.append(_central_management(d))
        elif kind == "EdgeServer":
            objects += [_edge_server(d, e) for e in d.edge_pools]
        elif kind == "Registrar":
            objects += [_registrar(p) for p in d.pools]
        else:
            objects += [_user_database(p) for p in d.pools]
    pool = inv.fqdn("PoolFqdn")
    for value in objects:
        if pool is None or value.properties["PoolFqdn"] == pool:
            inv.output.write_output(value)


def get_pool_backup_relationship(inv: Invocation) -> None:
    """The backup pool of ``-PoolFqdn``."""
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    if pool.backup_pool is None:
        raise inv.error(
            lync_facts.NO_BACKUP_POOL.format(pool=pool.fqdn), "NoBackupPool", category="ObjectNotFound"
        )
    inv.output.write_output(
        ps_object(lync_facts.BACKUP_RELATION, PoolFqdn=pool.fqdn, BackupPoolFqdn=pool.backup_pool)
    )


def set_edge_server(inv: Invocation) -> None:
    """Point an Edge pool's internal next hop at another Front End pool (effective at once)."""
    edge_fqdn = inv.fqdn("Identity", "EdgeServer:") or ""
    edge = inv.deployment.edge_pool(edge_fqdn)
    if edge is None:
        raise inv.error(
            lync_facts.EDGE_POOL_NOT_FOUND.format(pool=edge_fqdn),
            "EdgePoolNotFound",
            category="ObjectNotFound",
        )
    hop_fqdn = inv.fqdn("Registrar", "Registrar:") or ""
    hop = inv.deployment.pool(hop_fqdn)
    if hop is None:
        reason = "it is not a Front End pool of the topology"
    elif not all(inv.deployment.is_up(s) for s in hop.front_ends):
        reason = "not all of its Front End servers are running"
    else:
        reason = ""
    if reason:
        raise inv.error(
            lync_facts.NEXT_HOP_NOT_USABLE.format(pool=hop_fqdn, reason=reason),
            "InvalidNextHop",
            target=hop_fqdn,
        )
    inv.require_cms()
    edge.next_hop = hop_fqdn


def enable_topology(inv: Invocation) -> None:
    """Publish the topology (recorded as a publish)."""
    inv.require_cms()
    inv.deployment.publishes += 1


def _services(d: Deployment, pool: FrontEndPool) -> list[str]:
    services = [f"Registrar:{pool.fqdn}", f"UserServer:{pool.fqdn}"]
    return services + ([f"CentralManagement:{pool.fqdn}"] if d.cms.pool == pool.fqdn else [])


def _display_pool(d: Deployment, pool: FrontEndPool) -> PSValue:
    return ps_object(
        lync_facts.DISPLAY_POOL,
        Identity=pool.fqdn,
        Fqdn=pool.fqdn,
        Site=f"Site:{pool.site}",
        Computers=list(pool.front_ends),
        Services=_services(d, pool),
    )


def _display_edge_pool(edge: EdgePool) -> PSValue:
    return ps_object(
        lync_facts.DISPLAY_POOL,
        Identity=edge.fqdn,
        Fqdn=edge.fqdn,
        Site=f"Site:{edge.site}",
        Computers=list(edge.servers),
        Services=[f"EdgeServer:{edge.fqdn}"],
    )


def _central_management(d: Deployment) -> PSValue:
    pool = d.cms_pool()
    return ps_object(
        lync_facts.DISPLAY_CENTRAL_MANAGEMENT,
        Identity=f"CentralManagement:{pool.fqdn}",
        PoolFqdn=pool.fqdn,
        SiteId=f"Site:{pool.site}",
        Version=pool.version,
        Active=d.cms_available(),
    )


def _edge_server(d: Deployment, edge: EdgePool) -> PSValue:
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
    Cmdlet("Get-CsPool", (Param("Identity", position=0),), get_pool),
    Cmdlet(
        "Get-CsService", (*(Param(s, switch=True) for s in SERVICE_SWITCHES), Param("PoolFqdn")), get_service
    ),
    Cmdlet(
        "Get-CsPoolBackupRelationship",
        (Param("PoolFqdn", mandatory=True), Param("Force", switch=True), Param("LocalStore", switch=True)),
        get_pool_backup_relationship,
    ),
    Cmdlet(
        "Set-CsEdgeServer",
        (Param("Identity", mandatory=True, position=0), Param("Registrar", mandatory=True)),
        set_edge_server,
    ),
    Cmdlet("Enable-CsTopology", (), enable_topology),
)
