"""Going back: once the failed pool is up again, its users return to it, with the Edge next hops its
failover moved; the CMS stays where it is unless asked."""

from __future__ import annotations

from collections.abc import Callable

from tasks.lock import lock_key
from tasks.run import Report
from tests.e2e.harness import Runner, is_read_only
from tests.e2e.paths import lab_state

POOL1, POOL3 = "pool1.contoso.com", "pool3.contoso.com"
POOL1_SERVERS = ["fe01.pool1.contoso.com", "fe02.pool1.contoso.com", "sql01.contoso.com"]


def test_a_failover_then_a_failback_returns_the_users_and_the_edge_next_hop_it_moved(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("edge-same-site")
    failover = runner.wait(runner.call(pool=POOL1))
    assert isinstance(failover, Report) and failover.state == "succeeded", failover
    assert runner.lab.engine.state()["edge_next_hops"] == {"edge1.contoso.com": POOL3}
    runner.lab.engine.set_faults({"up": POOL1_SERVERS})  # pool1 is back
    seen = len(runner.lab.engine.journal())

    report = runner.wait(runner.call_task("lync.failback", pool=POOL1))

    assert isinstance(report, Report) and report.state == "succeeded", (
        f"{report}\n{runner.workers.logs()[-3000:]}"
    )
    state = lab_state(runner)
    assert state["pool_states"][POOL1] == "FailedBack"
    assert {user: pool for user, pool in state["users"].items() if "heidi" not in user} == {
        "sip:alice@contoso.com": POOL1,
        "sip:bob@contoso.com": POOL1,
    }
    assert state["edge_next_hops"] == {"edge1.contoso.com": POOL1}
    assert state["cms"]["pool"] == "pool2.contoso.com", "the CMS stays where the failover left it"
    changes = [line for line in runner.commands(seen) if not is_read_only(line)]
    edge = "-Identity EdgeServer:edge1.contoso.com -Registrar Registrar:pool1.contoso.com"
    assert changes == [
        f"fe01.pool1 Set-CsEdgeServer {edge}",
        f"fe01.pool1 Invoke-CsPoolFailback -PoolFqdn {POOL1} -Verbose",
    ]
    assert runner.redis.get(lock_key(POOL1)) is None

    # Failing back again changes nothing: every step finds its effect in place.
    again_from = len(runner.lab.engine.journal())
    again = runner.wait(runner.call_task("lync.failback", pool=POOL1))
    assert isinstance(again, Report) and again.state == "succeeded", again
    assert all(is_read_only(line) for line in runner.commands(again_from)), runner.commands(again_from)


def test_a_failback_while_the_pool_is_still_down_changes_nothing_and_says_which_servers(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("edge-same-site")
    before = runner.lab.engine.state()["pool_states"]

    error = runner.wait(runner.call_task("lync.failback", pool=POOL1))

    assert type(error).__name__ == "RunFailed", error
    for part in (
        "failback.check_pool_back",
        "is not back",
        "fe01.pool1.contoso.com",
        "fe02.pool1.contoso.com",
    ):
        assert part in str(error), error
    assert runner.lab.engine.state()["pool_states"] == before
    assert all(is_read_only(line) for line in runner.commands()), runner.commands()
