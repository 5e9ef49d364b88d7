"""Built-in plugin: fail the CMS over to Backup_Pool when it ran on Lync 2013 or later (seed step 5).

Sends the reference's documented form: "You can only invoke the failover to the database defined in the
Topology Builder" and "If the database defined in the Topology Builder is mirrored, add the
BackupMirrorSqlServerFqdn and BackupMirrorSqlInstanceName parameters": ``-BackupSqlServerFqdn`` is always
the topology's primary, its mirror goes in ``-BackupMirrorSql*``, and ``-Force`` (disaster recovery).
The seed's "mirror is principal" branch (its ``-MirrorSQLServerFqdn``, which does not exist) needs no other
form: the cmdlet reaches whichever partner is principal. The mirror state is still read, to stop before
acting when a mirrored database has no principal, and to report which partner serves it
(docs/procedure.md).
"""

from __future__ import annotations

from plugins.kit.cms_store import (
    cms_already_on_backup_pool,
    cms_service_command,
    cms_status_command,
    move_under_way,
    validation_calls,
)
from plugins.kit.commands import send, send_acts
from plugins.kit.errors import PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import (
    Context,
    Facts,
    PlannedCommand,
    StepCall,
    StepResult,
    StepSpec,
    command,
    step_call,
)
from plugins.kit.remote import text
from plugins.kit.shell import ParameterValue, Shell
from plugins.kit.versions import lync_version

#: Get-CsDatabaseMirrorState's states [C: its page]: the partner serving the database, and what both sides
#: report for a database without a mirror.
PRINCIPAL = "Principal"
NOT_MIRRORED = "DatabaseInaccessibleOrMirroringNotEnabled"


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Read the CMS database's mirror state; fail the CMS over to the principal."""
    return [
        StepSpec(name="cms2013.read_mirror_state", mutating=False, action=read_mirror_state),
        StepSpec(
            name="cms2013.fail_over_cms",
            mutating=True,
            action=fail_over_cms,
            check=cms_already_on_backup_pool,
            diagnose=move_under_way,
        ),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """inspect: the mirror state; cms: failover, validation, replicas (only when the CMS must fail over)."""
    facts = context.facts
    pool = facts.cms_backup_pool
    version = lync_version(facts.cms_version)
    if not context.cms_must_fail_over() or version is None or not version.cms_failover or pool is None:
        return []
    server = context.topology.front_end(pool)
    if phase == "inspect":
        mirror_state = command(
            "Get-CsDatabaseMirrorState", DatabaseType="CentralMgmt", PoolFqdn=pool, LocalStore=True
        )
        return [step_call("cms2013.read_mirror_state", phase, server, commands=[mirror_state])]
    if phase == "cms":
        failover = step_call(
            "cms2013.fail_over_cms",
            phase,
            server,
            commands=[cms_service_command("check"), failover_command(context), cms_status_command("recheck")],
            description=f"fail the CMS over to {pool}",
        )
        return [failover, *validation_calls(context, server)]
    return []


def failover_command(context: Context) -> PlannedCommand:
    """Invoke-CsManagementServerFailover in the documented form: the topology's primary as the backup SQL
    server, its mirror (if any) as the backup mirror, whichever of them is principal."""
    backend = context.facts.cms_backend
    if backend is None:
        raise PreconditionError(
            "Backup_Pool's SQL servers are unknown: discovery.find_backup_sql must run first"
        )
    parameters: dict[str, ParameterValue] = {
        "BackupSqlServerFqdn": backend.primary_server,
        "BackupSqlInstanceName": backend.primary_instance,
    }
    if backend.mirror_server:
        parameters |= {
            "BackupMirrorSqlServerFqdn": backend.mirror_server,
            "BackupMirrorSqlInstanceName": backend.mirror_instance,
        }
    parameters["Force"] = True
    return PlannedCommand(cmdlet="Invoke-CsManagementServerFailover", parameters=parameters, purpose="act")


def fail_over_cms(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 5, second bullet: ``Invoke-CsManagementServerFailover`` on a Front End of Backup_Pool."""
    send_acts(shell, call)
    pool = context.facts.cms_backup_pool
    return StepResult(summary=f"the CMS failed over to {pool}", facts=Facts(cms_pool=pool, cms_active=True))


def read_mirror_state(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Seed step 5, first bullet: which Back End of Backup_Pool is principal for the CMS database.

    A database without a mirror in the topology reports DatabaseInaccessibleOrMirroringNotEnabled on both
    sides (Microsoft's own sample): its primary serves it, and the failover itself tells whether it answers.
    """
    backend = context.facts.cms_backend
    pool = context.facts.cms_backup_pool or ""
    if backend is None:
        raise PreconditionError(
            "Backup_Pool's SQL servers are unknown: discovery.find_backup_sql must run first"
        )
    (mirror_state,) = call.commands_for("read")
    states = send(shell, call, mirror_state)
    if not states.objects:
        raise PreconditionError(
            f"Get-CsDatabaseMirrorState listed no CMS database on {pool}: check the pool's back end in the "
            "topology, then run again"
        )
    on_primary = {text(state, "StateOnPrimary") for state in states.objects}
    on_mirror = {text(state, "StateOnMirror") for state in states.objects}
    if on_primary == {PRINCIPAL}:
        principal = "primary"
    elif on_mirror == {PRINCIPAL}:
        principal = "mirror"
    elif not backend.mirror_server and on_primary | on_mirror <= {NOT_MIRRORED}:
        return StepResult(
            summary=f"{pool}'s CMS database is not mirrored: its primary {backend.primary_server} serves it",
            facts=Facts(cms_backend=backend),
        )
    else:
        raise PreconditionError(
            f"no single Back End of {pool} is principal for every CMS database "
            f"(primary: {sorted(on_primary)}, "
            f"mirror: {sorted(on_mirror)}): bring the databases to one principal (Invoke-CsDatabaseFailover) "
            "and run again"
        )
    updated = backend.model_copy(update={"principal": principal})
    server = updated.primary_server if principal == "primary" else updated.mirror_server
    return StepResult(
        summary=f"the {principal} Back End {server} is principal for the CMS database",
        facts=Facts(cms_backend=updated),
    )
