"""``Get-CsUser``: users and their home pool (a failover does not change it)."""

from __future__ import annotations

from lab import lync_facts
from lab.cmdlets.base import Cmdlet, Invocation, Param, ps_object


def get_user(inv: Invocation) -> None:
    """Every user, or the one named by ``-Identity`` (``sip:`` optional).

    An unknown identity is a non-terminating error, as scripts that pass ``-ErrorAction SilentlyContinue``
    expect of the product [I: lync_facts.USER_NOT_FOUND].
    """
    identity = inv.text("Identity")
    users = inv.deployment.users
    if identity is not None:
        wanted = identity.lower() if identity.lower().startswith("sip:") else f"sip:{identity.lower()}"
        users = [u for u in users if u.sip == wanted]
        if not users:
            inv.output.write_error(
                inv.error(
                    lync_facts.USER_NOT_FOUND.format(identity=identity),
                    "UserNotFound",
                    category="ObjectNotFound",
                )
            )
    for user in users:
        inv.output.write_output(
            ps_object(
                lync_facts.AD_USER,
                Identity=user.sip,
                SipAddress=user.sip,
                RegistrarPool=user.home_pool,
                Enabled=True,
            )
        )


CMDLETS = (Cmdlet("Get-CsUser", (Param("Identity", position=0),), get_user),)
