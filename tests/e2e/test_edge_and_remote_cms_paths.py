"""The remaining branches end to end: an unavailable CMS on another pool, both Edge next-hop moves."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Runner
from tests.e2e.paths import check_failover


def test_unavailable_cms_elsewhere_fails_over_to_its_backup_pool(start_runner: Callable[..., Runner]) -> None:
    check_failover(
        start_runner, scenario="cms-elsewhere-unavailable", trigger="call", cms_pool="pool4.contoso.com"
    )


def test_edge_next_hop_moves_to_a_pool_at_the_same_site(start_runner: Callable[..., Runner]) -> None:
    check_failover(
        start_runner,
        scenario="edge-same-site",
        trigger="api",
        cms_pool="pool2.contoso.com",
        edge_next_hops={"edge1.contoso.com": "pool3.contoso.com"},
    )


def test_edge_next_hop_moves_to_a_pool_at_another_site(start_runner: Callable[..., Runner]) -> None:
    check_failover(
        start_runner,
        scenario="edge-other-site",
        trigger="call",
        cms_pool="pool2.contoso.com",
        edge_next_hops={"edge1.contoso.com": "pool2.contoso.com"},
    )
