"""User cmdlets: ``Get-CsUser`` (the home pool, which a failover does not change) and ``Get-CsUserPoolInfo``
(the primary and backup pools, and who services the user now)."""

from __future__ import annotations

import re

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, ps_object
from lab.model import User


def get_user(inv: Invocation) -> None:
    """Every user, the one named by ``-Identity`` (``sip:`` optional), or those ``-Filter`` names by their
    registrar pool (lync_facts.REGISTRAR_POOL_FILTER), at most ``-ResultSize`` of them.

    An unknown identity is a non-terminating error, as scripts that pass ``-ErrorAction SilentlyContinue``
    expect of the product [I: lync_facts.USER_NOT_FOUND].
    """
    users = _users(inv, required=False)
    query = inv.text("Filter")
    if query is not None:
        match = re.match(lync_facts.REGISTRAR_POOL_FILTER, query, re.IGNORECASE)
        if match is None:
            raise inv.error(lync_facts.FILTER_NOT_SIMULATED.format(filter=query), "FilterNotSimulated")
        users = [user for user in users if user.home_pool == match.group(1).lower()]
    limit = inv.arguments.get("ResultSize")
    for user in users[: int(str(limit))] if limit is not None else users:
        inv.output.write_output(
            ps_object(
                lync_facts.AD_USER,
                Identity=user.sip,
                DisplayName=user.sip.removeprefix("sip:").split("@")[0].title(),
                SipAddress=user.sip,
                RegistrarPool=user.home_pool,
                Enabled=True,
            )
        )


def get_user_pool_info(inv: Invocation) -> None:
    """The user's primary pool and its registrars, the backup pool and its registrar [C property names], and
    the pool servicing the user now (``UserServicesPoolFqdn`` [I: name not published]).

    "If the user's primary pool has been failed over, then that user will be registered with the primary
    Front End server on the backup (replica) pool" [C]: the backup pool's first Front End [I].
    """
    if not inv.flag("LocalStore"):
        inv.require_cms()
    d = inv.deployment
    for user in _users(inv, required=True):
        primary = inv.known_pool(user.home_pool)
        backup = d.pool(primary.backup_pool) if primary.backup_pool else None
        inv.output.write_output(
            ps_object(
                lync_facts.USER_POOL_INFO,
                Identity=user.sip,
                PrimaryPoolFqdn=primary.fqdn,
                PrimaryPoolPrimaryRegistrar=primary.front_ends[0],
                PrimaryPoolMachinesInPreferredOrder=list(primary.front_ends),
                BackupPoolFqdn=backup.fqdn if backup else None,
                BackupPoolPrimaryRegistrar=backup.front_ends[0] if backup else None,
                UserServicesPoolFqdn=user.serviced_by,
            )
        )


def _users(inv: Invocation, *, required: bool) -> list[User]:
    identity = inv.text("Identity")
    users = inv.deployment.users
    if identity is None:
        return list(users)
    wanted = identity.lower() if identity.lower().startswith("sip:") else f"sip:{identity.lower()}"
    found = [u for u in users if u.sip == wanted]
    if not found:
        error = inv.error(
            lync_facts.USER_NOT_FOUND.format(identity=identity), "UserNotFound", category="ObjectNotFound"
        )
        if required:
            raise error
        inv.output.write_error(error)
    return found


CMDLETS = (Cmdlet("Get-CsUser", get_user), Cmdlet("Get-CsUserPoolInfo", get_user_pool_info))
