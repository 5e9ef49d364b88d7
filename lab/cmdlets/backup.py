"""``Get-CsBackupServiceStatus``: the Backup Service's state for a pool and its backup pool.

The reference says only that it returns System.Object [C]; the per-module entries (``BackupModules``:
Identity, ExportStatus, ImportStatus) and their values follow Microsoft's TechNet blog [C]; the pool names
beside them are the lab's [I: not published]. No overall state is published, so the lab shows none. The
``backup_service`` fault sets the export state of one direction (from a pool to its backup pool) to make it
not normal.
"""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, ps_object


def get_backup_service_status(inv: Invocation) -> None:
    """The pool's Backup Service: what it exports to its backup pool and what that pool imports."""
    d = inv.deployment
    pool = inv.known_pool(inv.fqdn("PoolFqdn") or "")
    if pool.backup_pool is None:
        raise inv.error(
            lync_facts.NO_BACKUP_POOL.format(pool=pool.fqdn), "NoBackupPool", category="ObjectNotFound"
        )
    if not any(d.is_up(server) for server in pool.front_ends):
        raise inv.error(
            lync_facts.BACKUP_SERVICE_UNREACHABLE.format(pool=pool.fqdn),
            "BackupServiceUnreachable",
            category="ConnectionError",
        )
    export = d.backup_export.get(pool.fqdn, lync_facts.EXPORT_NORMAL)
    imported = lync_facts.IMPORT_ERROR if export == "ErrorState" else lync_facts.IMPORT_NORMAL
    category = inv.text("Category")
    categories = [category] if category is not None else list(lync_facts.BACKUP_MODULES)
    modules = []
    for name in (m for c in categories for m in lync_facts.BACKUP_MODULES[c]):
        master = name == lync_facts.CMS_MASTER_MODULE and d.cms.pool != pool.fqdn
        modules.append(
            ps_object(
                lync_facts.BACKUP_MODULE_STATUS,
                Identity=name,
                ExportStatus=lync_facts.NOT_INITIALIZED if master else export,
                ImportStatus=imported,
            )
        )
    inv.output.write_output(
        ps_object(
            lync_facts.BACKUP_SERVICE_STATUS,
            PoolFqdn=pool.fqdn,
            BackupPoolFqdn=pool.backup_pool,
            BackupModules=modules,
        )
    )


CMDLETS = (Cmdlet("Get-CsBackupServiceStatus", get_backup_service_status),)
