"""The users check over scripted answers: a user whose backup pool is not the failover target fails the
verification, naming them; a sample of 0 plans no users step."""

from __future__ import annotations

import pluggy
import pytest

from plugins.builtin.users import verify_serviced
from plugins.kit.errors import PreconditionError
from plugins.kit.requests import Request
from plugins.planning import plan_phase
from tests.plugins.scripted_shell import ScriptedShell
from tests.plugins.test_planning import FE1, POOL1, POOL2, POOL3, context

SAMPLED = {"backup_pool": POOL2, "sampled_users": ["sip:alice@contoso.com", "sip:bob@contoso.com"]}


def test_a_sampled_user_paired_with_another_pool_fails_the_verification(pm: pluggy.PluginManager) -> None:
    ctx = context(SAMPLED)
    (call,) = plan_phase(pm, "verify", ctx)[-1:]
    backup_of = {"sip:alice@contoso.com": POOL2, "sip:bob@contoso.com": POOL3}
    shell = ScriptedShell(
        {
            "Get-CsUserPoolInfo": lambda asked: [
                {"BackupPoolFqdn": backup_of[str(asked["Identity"])], "BackupPoolPrimaryRegistrar": FE1}
            ]
        }
    )

    with pytest.raises(PreconditionError) as refused:
        verify_serviced(shell, ctx, call)

    message = str(refused.value)
    assert f"1 of 2 sampled users of {POOL1} do not have {POOL2} as backup pool" in message, message
    assert f"sip:bob@contoso.com (backup pool {POOL3})" in message, message


def test_a_sample_of_none_plans_no_users_step(pm: pluggy.PluginManager) -> None:
    none = context(SAMPLED).model_copy(update={"request": Request(pool=POOL1, user_sample=0)})
    planned = [call.step for phase in ("discover", "verify") for call in plan_phase(pm, phase, none)]

    assert not [step for step in planned if step.startswith("users.")], planned
