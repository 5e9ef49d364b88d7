"""The door's check of a request: each refusal names the argument at fault, and nothing the runner sets for
itself (a request's ``workflow``) or takes for false (a ``dry_run`` of 0) gets through."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from tasks.requests import failback_request, failover_request, readiness_request, site_request
from tests.worker.inventory_data import inventory_data
from worker.inventory import Inventory
from worker.refusals import RequestError

INVENTORY = Inventory.model_validate(inventory_data())
POOL = "pool1.contoso.com"
SITE = "Datacenter1"
Check = Callable[[Inventory, Mapping[str, object]], object]


@pytest.mark.parametrize(
    ("check", "arguments", "refusal"),
    [
        (failover_request, {"pool": POOL, "workflow": "x"}, "lync.failover has no argument 'workflow'"),
        (site_request, {"site": SITE, "workflow": "x"}, "lync.failover_site has no argument 'workflow'"),
        (failback_request, {"pool": POOL, "workflow": "x"}, "lync.failback has no argument 'workflow'"),
        (readiness_request, {"workflow": "readiness"}, "lync.readiness has no argument 'workflow'"),
        (readiness_request, {"dry_run": 0}, "dry_run must be true or false (a JSON boolean), not 0"),
        (readiness_request, {"dry_run": True}, "dry_run: a readiness check changes nothing"),
        (failover_request, {"pool": POOL, "pause_before": ["nope"]}, "pause_before: 'nope' is not a phase"),
        (site_request, {"site": SITE, "pause_before": ["x"]}, "pause_before: 'x' is not a phase"),
        (failover_request, {"pool": POOL, "lost_site": "Nowhere"}, "lost_site 'Nowhere' is not in the"),
    ],
)
def test_a_refusal_names_the_argument_at_fault(
    check: Check, arguments: dict[str, object], refusal: str
) -> None:
    with pytest.raises(RequestError) as refused:
        check(INVENTORY, arguments)

    assert refusal in str(refused.value)


def test_a_readiness_check_takes_a_false_dry_run() -> None:
    assert readiness_request(INVENTORY, {"dry_run": False}).dry_run is False
