"""Check a failover request at the door, against the inventory, before anything runs."""

from __future__ import annotations

import re

from plugins.kit.model import Request
from worker.inventory import Inventory, InventoryError

_FQDN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class RequestError(ValueError):
    """The request is wrong; the message says what and how to fix it. Nothing was run."""


def validate_request(inventory: Inventory, pool: str, target: str | None, dry_run: bool) -> Request:
    """The request, normalised; RequestError when a pool is not an FQDN, unknown or not a Front End pool."""
    pool = _front_end_pool(inventory, pool, "pool")
    if target is not None:
        target = _front_end_pool(inventory, target, "target")
        if target == pool:
            raise RequestError(
                f"target {target} is the pool being failed over: name its backup pool, or no target"
            )
    return Request(pool=pool, target=target, dry_run=bool(dry_run))


def _front_end_pool(inventory: Inventory, fqdn: object, what: str) -> str:
    if not isinstance(fqdn, str) or not _FQDN.match(fqdn.lower().removesuffix(".")):
        raise RequestError(f"{what} {fqdn!r} is not a fully qualified domain name like pool1.contoso.com")
    fqdn = fqdn.lower().removesuffix(".")  # an absolute name (trailing dot) is the same pool
    try:
        entry = inventory.pool(fqdn)
    except InventoryError:
        known = ", ".join(pool.fqdn for pool in inventory.front_end_pools())
        raise RequestError(
            f"{what} {fqdn} is not in the inventory; its Front End pools are: {known}"
        ) from None
    if entry.role != "FrontEnd":
        raise RequestError(f"{what} {fqdn} is an {entry.role} pool, not a Front End pool")
    return fqdn
