"""Built-in plugin: users, not just a flag. A sample of the users homed on the failed pool (``Get-CsUser``),
and after the failover, for each, ``Get-CsUserPoolInfo``: the backup pool it names is the one failed over to,
and the backup pool's registrar it names answers. Microsoft: "If the user's primary pool has been failed
over, then that user will be registered with the primary Front End server on the backup (replica) pool. That
server is listed in the output as the BackupPoolPrimaryRegistrar." No published property says where a user
is registered right now, so the check stands on these two.
"""

from __future__ import annotations

from plugins.kit.commands import send
from plugins.kit.errors import PreconditionError
from plugins.kit.hookspecs import hookimpl
from plugins.kit.model import Context, Facts, StepCall, StepResult, StepSpec, command, step_call
from plugins.kit.remote import only_object, text
from plugins.kit.requests import Request
from plugins.kit.shell import Shell


@hookimpl
def lync_failover_steps() -> list[StepSpec]:
    """Sample the failed pool's users; verify each would be serviced by the backup pool."""
    return [
        StepSpec(name="users.sample", mutating=False, action=sample_users),
        StepSpec(name="users.verify_serviced", mutating=False, action=verify_serviced),
    ]


@hookimpl
def lync_failover_plan(phase: str, context: Context) -> list[StepCall]:
    """discover: ``Get-CsUser`` of up to ``user_sample`` users homed on the failed pool; verify: their pool
    information (both on a Front End of the backup pool)."""
    request, backup_pool = context.request, context.facts.backup_pool
    if not isinstance(request, Request) or request.user_sample == 0 or backup_pool is None:
        return []
    server, pool = context.topology.front_end(backup_pool), context.failed_pool
    if phase == "discover":
        # -Filter is an OPATH filter passed as a string parameter, never script; pool is an inventory FQDN.
        homed = command("Get-CsUser", Filter=f'RegistrarPool -eq "{pool}"', ResultSize=request.user_sample)
        return [step_call("users.sample", phase, server, commands=[homed])]
    if phase == "verify" and context.facts.sampled_users:
        infos = [
            command("Get-CsUserPoolInfo", Identity=sip, LocalStore=True)
            for sip in context.facts.sampled_users
        ]
        return [
            step_call(
                "users.verify_serviced",
                phase,
                server,
                commands=infos,
                description=f"{len(infos)} users of {pool}: backup pool {backup_pool}, its registrar answers",
            )
        ]
    return []


def sample_users(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """The SIP addresses of up to ``user_sample`` users homed on the failed pool."""
    (homed,) = call.commands_for("read")
    found = [text(user, "SipAddress").lower() for user in send(shell, call, homed).objects]
    sampled = [sip for sip in found if sip]
    return StepResult(
        summary=f"{len(sampled)} users of {context.failed_pool} sampled: {', '.join(sampled) or 'none'}",
        facts=Facts(sampled_users=sampled),
    )


def verify_serviced(shell: Shell, context: Context, call: StepCall) -> StepResult:
    """Each sampled user names the backup pool as its backup pool (else the step fails, naming them); those
    whose backup registrar does not answer are named in the summary."""
    backup = context.facts.backup_pool or ""
    front_ends = set(context.topology.pool(backup).servers)
    registrars: dict[str, list[str]] = {}
    elsewhere = []
    for planned in call.commands_for("read"):
        sip = str(planned.parameters["Identity"])
        info = only_object(send(shell, call, planned), f"the pool information of {sip}")
        registrar = text(info, "BackupPoolPrimaryRegistrar").lower()
        if text(info, "BackupPoolFqdn").lower() != backup or registrar not in front_ends:
            elsewhere.append(f"{sip} (backup pool {text(info, 'BackupPoolFqdn') or 'none'})")
        else:
            registrars.setdefault(registrar, []).append(sip)
    checked = len(call.commands_for("read"))
    if elsewhere:
        raise PreconditionError(
            f"{len(elsewhere)} of {checked} sampled users of {context.failed_pool} do not have {backup} as "
            f"backup pool, so it does not service them: {', '.join(elsewhere)}. Check their pool's backup "
            "pairing in Topology Builder"
        )
    silent = sorted(registrar for registrar in registrars if not shell.reachable(registrar))
    waiting = [sip for registrar in silent for sip in registrars[registrar]]
    answering = ", ".join(sorted(set(registrars) - set(silent))) or "none"
    summary = (
        f"{checked - len(waiting)} of {checked} sampled users of {context.failed_pool} have {backup} as "
        f"backup pool and a backup registrar that answers ({answering}; Get-CsUserPoolInfo)"
    )
    if waiting:
        summary += (
            f"; {len(waiting)} name a backup registrar that does not answer, {', '.join(silent)}: "
            f"{', '.join(waiting)} (Lync signs them in through another Front End of {backup}; check it)"
        )
    return StepResult(summary=summary)
