"""Back-end database cmdlets: ``Get-CsDatabaseMirrorState`` and ``Install-CsDatabase``."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, Param, ps_object
from lab.model import Deployment, FrontEndPool, SqlServer


def get_database_mirror_state(inv: Invocation) -> None:
    """One mirror state per database of that type on the pool's back end (seed step 5)."""
    given = inv.text("DatabaseType") or ""
    kind = given.lower()
    if kind not in lync_facts.DATABASES:
        valid = ", ".join(k.title() if k != "centralmgmt" else "CentralMgmt" for k in lync_facts.DATABASES)
        raise inv.error(
            lync_facts.BAD_DATABASE_TYPE.format(value=given, valid=valid),
            "CannotConvertArgumentNoMessage",
            category="InvalidArgument",
        )
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    present = (
        pool.backend.primary.cms_database if kind == "centralmgmt" else kind in lync_facts.POOL_DATABASE_TYPES
    )
    if not present:
        raise inv.error(
            lync_facts.DATABASE_NOT_PRESENT.format(database=given, pool=pool.fqdn),
            "DatabaseNotPresent",
            category="ObjectNotFound",
        )
    on_primary = _state(inv.deployment, pool, pool.backend.primary)
    on_mirror = _state(inv.deployment, pool, pool.backend.mirror)
    if pool.backend.mirror is None:
        status = lync_facts.INACCESSIBLE
    elif lync_facts.INACCESSIBLE in (on_primary, on_mirror):
        status = lync_facts.DISCONNECTED
    else:
        status = lync_facts.SYNCHRONIZED
    for name in lync_facts.DATABASES[kind]:
        inv.output.write_output(
            ps_object(
                lync_facts.MIRROR_STATE,
                DatabaseName=name,
                StateOnPrimary=on_primary,
                StateOnMirror=on_mirror,
                MirroringStatusOnPrimary=status,
                MirroringStatusOnSecondary=status,
            )
        )


def install_database(inv: Invocation) -> None:
    """Install a clean Central Management database on a SQL server (seed step 6)."""
    if not inv.flag("CentralManagementDatabase"):
        raise inv.error(lync_facts.INSTALL_ONLY_CMS, "DatabaseTypeNotSupported", category="InvalidArgument")
    sql_fqdn = inv.fqdn("SqlServerFqdn") or ""
    found = inv.deployment.sql_server(sql_fqdn)
    if found is None:
        raise inv.error(
            lync_facts.SQL_SERVER_NOT_FOUND.format(sql=sql_fqdn),
            "SqlServerNotFound",
            category="ObjectNotFound",
        )
    pool, sql = found
    instance = inv.text("SqlInstanceName")
    if instance is not None and instance.lower() != sql.instance.lower():
        raise inv.error(
            lync_facts.SQL_INSTANCE_NOT_FOUND.format(sql=sql.fqdn, instance=instance),
            "SqlInstanceNotFound",
            category="ObjectNotFound",
        )
    if not inv.deployment.is_up(sql.fqdn):
        raise inv.error(
            lync_facts.SQL_SERVER_DOWN.format(sql=sql.fqdn),
            "SqlServerUnreachable",
            category="ConnectionError",
        )
    holds_active_cms = (
        inv.deployment.cms.pool == pool.fqdn and sql.fqdn == pool.backend.principal_server().fqdn
    )
    if sql.cms_database and inv.flag("Clean") and holds_active_cms:
        inv.deployment.cms.available = False
    sql.cms_database = True
    for line in lync_facts.INSTALL_DATABASE_PROGRESS:
        inv.verbose(line.format(sql=sql.fqdn, instance=sql.instance))


def _state(d: Deployment, pool: FrontEndPool, sql: SqlServer | None) -> str:
    if sql is None or not d.is_up(sql.fqdn):
        return lync_facts.INACCESSIBLE
    return lync_facts.PRINCIPAL if sql is pool.backend.principal_server() else lync_facts.MIRROR


CMDLETS = (
    Cmdlet(
        "Get-CsDatabaseMirrorState",
        (Param("DatabaseType", mandatory=True), Param("PoolFqdn", mandatory=True)),
        get_database_mirror_state,
    ),
    Cmdlet(
        "Install-CsDatabase",
        (
            Param("CentralManagementDatabase", switch=True),
            Param("SqlServerFqdn", mandatory=True),
            Param("SqlInstanceName"),
            Param("Clean", switch=True),
            Param("DatabasePaths"),
            Param("UseDefaultSqlPaths", switch=True),
        ),
        install_database,
    ),
)
