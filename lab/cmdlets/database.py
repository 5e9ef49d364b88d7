"""Back-end database cmdlets: Get-CsDatabaseMirrorState, Install-CsDatabase and Test-CsDatabase."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, ps_object
from lab.model import Deployment, FrontEndPool, SqlServer


def get_database_mirror_state(inv: Invocation) -> None:
    """One mirror state per database of that type (every type without ``-DatabaseType``) on the pool's back
    end (seed step 5); the pool's databases come from the store, or this server's replica (-LocalStore)."""
    if not inv.flag("LocalStore"):
        inv.require_cms()
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    given = inv.text("DatabaseType")
    held = _database_types(pool)
    if given is not None and given.lower() not in held:
        raise inv.error(
            lync_facts.DATABASE_NOT_PRESENT.format(database=given, pool=pool.fqdn),
            "DatabaseNotPresent",
            category="ObjectNotFound",
        )
    d = inv.deployment
    reachable = [s for s in pool.backend.servers() if d.is_up(s.fqdn)]
    if reachable:
        inv.reach_sql(reachable[0])
    on_primary = _state(d, pool, pool.backend.primary)
    on_mirror = _state(d, pool, pool.backend.mirror)
    if pool.backend.mirror is None:
        status = lync_facts.NO_MIRRORING_STATUS
    elif lync_facts.INACCESSIBLE in (on_primary, on_mirror):
        status = lync_facts.DISCONNECTED
    else:
        status = lync_facts.SYNCHRONIZED
    for kind in [given.lower()] if given is not None else [k for k in held if k != "cms"]:
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
    if inv.parameter_set != "ByCMS":
        raise inv.error(lync_facts.INSTALL_ONLY_CMS, "DatabaseTypeNotSupported", category="InvalidArgument")
    pool, sql = _named_sql_server(inv, inv.fqdn("SqlServerFqdn") or "")
    if not inv.deployment.is_up(sql.fqdn):
        raise inv.error(
            lync_facts.SQL_SERVER_DOWN.format(sql=sql.fqdn),
            "SqlServerUnreachable",
            category="ConnectionError",
        )
    inv.reach_sql(sql)
    if inv.flag("WhatIf"):
        return
    holds_active_cms = (
        inv.deployment.cms.pool == pool.fqdn and sql.fqdn == pool.backend.principal_server().fqdn
    )
    if sql.cms_database and inv.flag("Clean") and holds_active_cms:
        inv.deployment.cms.available = False
    sql.cms_database = True
    for line in lync_facts.INSTALL_DATABASE_PROGRESS:
        inv.verbose(line.format(sql=sql.fqdn, instance=sql.instance))


def test_database(inv: Invocation) -> None:
    """``Test-CsDatabase -CentralManagementDatabase``: each Central Management database on the SQL Server
    instance (``-SqlServerFqdn``; else the store's own, read from the store), the version expected and the
    one installed ("" and Succeed false where there is none, or the server cannot be reached)."""
    if inv.parameter_set != "ByCMS":
        raise inv.error(lync_facts.TEST_ONLY_CMS, "DatabaseTypeNotSupported", category="InvalidArgument")
    d = inv.deployment
    given = inv.fqdn("SqlServerFqdn")
    if given is None:
        inv.require_cms()
    _, sql = _named_sql_server(inv, given or inv.known_pool(d.cms.pool).backend.principal_server().fqdn)
    installed = sql.cms_database and d.is_up(sql.fqdn)
    for name in lync_facts.DATABASES["cms"]:
        expected = lync_facts.CMS_DATABASE_VERSIONS[name]
        inv.output.write_output(
            ps_object(
                lync_facts.TASK_OUTPUT,
                SqlServerFqdn=sql.fqdn,
                SqlInstanceName=sql.instance,
                DatabaseName=name,
                ExpectedVersion=expected,
                InstalledVersion=expected if installed else "",
                Succeed=installed,
            )
        )


def _named_sql_server(inv: Invocation, sql_fqdn: str) -> tuple[FrontEndPool, SqlServer]:
    """The pool and SQL server ``-SqlServerFqdn`` names, its instance checked against ``-SqlInstanceName``."""
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
    return pool, sql


def _database_types(pool: FrontEndPool) -> list[str]:
    """The -DatabaseType values (lower case) whose databases the pool's back end holds."""
    cms = ["centralmgmt", "cms"] if pool.backend.primary.cms_database else []
    return cms + list(lync_facts.POOL_DATABASE_TYPES)


def _state(d: Deployment, pool: FrontEndPool, sql: SqlServer | None) -> str:
    if pool.backend.mirror is None or sql is None or not d.is_up(sql.fqdn):
        return lync_facts.INACCESSIBLE
    return lync_facts.PRINCIPAL if sql is pool.backend.principal_server() else lync_facts.MIRROR


CMDLETS = (
    Cmdlet("Get-CsDatabaseMirrorState", get_database_mirror_state),
    Cmdlet("Install-CsDatabase", install_database),
    Cmdlet("Test-CsDatabase", test_database),
)
