"""Check a request at the door, against the inventory, before anything runs."""

from __future__ import annotations

import re

from plugins.kit.requests import FailbackRequest, ReadinessRequest, Request, SiteRequest
from worker.inventory import Inventory, InventoryError

_FQDN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class RequestError(ValueError):
    """The request is wrong; the message says what and how to fix it. Nothing was run."""


def validate_request(
    inventory: Inventory,
    pool: str,
    target: str | None,
    dry_run: bool,
    parent: str | None = None,
    lost_site: str | None = None,
) -> Request:
    """A pool failover; RequestError when a pool is not an FQDN, unknown or not a Front End pool."""
    pool = _front_end_pool(inventory, pool, "pool")
    if target is not None:
        target = _front_end_pool(inventory, target, "target")
        if target == pool:
            raise RequestError(
                f"target {target} is the pool being failed over: name its backup pool, or no target"
            )
    site = None if lost_site is None else _site(inventory, lost_site)
    return Request(pool=pool, target=target, dry_run=bool(dry_run), parent=parent, lost_site=site)


def validate_site(inventory: Inventory, site: str, dry_run: bool) -> SiteRequest:
    """A site failover; RequestError when the site is unknown or has no Front End pool to fail over."""
    name = _site(inventory, site)
    if not any(pool.site == name for pool in inventory.front_end_pools()):
        raise RequestError(
            f"site {name} has no Front End pool in the inventory: there is nothing to fail over"
        )
    return SiteRequest(site=name, dry_run=bool(dry_run))


def validate_failback(inventory: Inventory, pool: str, dry_run: bool, move_cms_back: bool) -> FailbackRequest:
    """A failback of a Front End pool of the inventory."""
    return FailbackRequest(
        pool=_front_end_pool(inventory, pool, "pool"),
        dry_run=bool(dry_run),
        move_cms_back=bool(move_cms_back),
    )


def validate_readiness(inventory: Inventory, site: str | None) -> ReadinessRequest:
    """A readiness check of every site, or of one site of the inventory."""
    return ReadinessRequest(site=None if site is None else _site(inventory, site))


def _site(inventory: Inventory, site: object) -> str:
    """The inventory's name of ``site`` (compared without case)."""
    names = {entry.name.lower(): entry.name for entry in inventory.sites}
    if not isinstance(site, str) or site.lower() not in names:
        raise RequestError(
            f"site {site!r} is not in the inventory; its sites are: {', '.join(names.values())}"
        )
    return names[site.lower()]


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
