"""The seed's CMS branches end to end: 2013 primary or mirror principal, Lync 2010, CMS healthy elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Runner
from tests.e2e.paths import check_failover


def test_cms_on_failed_2013_pool_fails_over_to_primary_principal(start_runner: Callable[..., Runner]) -> None:
    check_failover(
        start_runner,
        scenario="cms-2013-primary",
        trigger="call",
        cms_pool="pool2.contoso.com",
        edge_next_hops={"edge2.contoso.com": "pool2.contoso.com"},
    )


def test_cms_on_failed_2013_pool_fails_over_to_mirror_principal(start_runner: Callable[..., Runner]) -> None:
    check_failover(start_runner, scenario="cms-2013-mirror", trigger="api", cms_pool="pool2.contoso.com")


def test_cms_on_failed_2010_pool_moves_and_bootstraps(start_runner: Callable[..., Runner]) -> None:
    check_failover(start_runner, scenario="cms-2010", trigger="call", cms_pool="pool2.contoso.com")


def test_cms_healthy_elsewhere_stays_put(start_runner: Callable[..., Runner]) -> None:
    check_failover(
        start_runner, scenario="cms-elsewhere-healthy", trigger="api", cms_pool="pool3.contoso.com"
    )
