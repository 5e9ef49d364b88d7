"""Check a request at the door, strictly, before anything runs: each argument of the right JSON type (a
``dry_run`` of ``""``, ``0`` or ``"false"`` is refused, never taken for false), no unknown argument, every
pool and site in the inventory."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from plugins.kit.requests import FailbackRequest, ReadinessRequest, Request, SiteRequest
from worker.inventory import Inventory, InventoryError
from worker.refusals import RequestError

_FQDN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_Kind = TypeVar("_Kind", bound=BaseModel)
#: What each launcher takes, in the order positional arguments fill them.
FAILOVER_ARGUMENTS = ("pool", "target", "dry_run")
SITE_ARGUMENTS = ("site", "dry_run")
FAILBACK_ARGUMENTS = ("pool", "dry_run", "move_cms_back")
READINESS_ARGUMENTS = ("site",)


def arguments_of(
    task: str, names: Sequence[str], args: Sequence[object], kwargs: Mapping[str, object]
) -> dict[str, object]:
    """The launcher's arguments by name: positional ones fill ``names`` in order."""
    if len(args) > len(names):
        raise RequestError(
            f"{task} takes at most {len(names)} positional arguments ({', '.join(names)}), not {len(args)}"
        )
    named = dict(zip(names, args, strict=False))
    twice = sorted(set(named) & set(kwargs))
    if twice:
        raise RequestError(f"{task} got {', '.join(twice)} both by position and by name: give each once")
    return {**named, **kwargs}


def failover_request(inventory: Inventory, arguments: Mapping[str, object]) -> Request:
    """A pool failover; RequestError when an argument is wrong or a pool is not an FQDN, unknown or not a
    Front End pool."""
    request = _parse(Request, "lync.failover", arguments)
    pool = _front_end_pool(inventory, request.pool, "pool")
    target = None if request.target is None else _front_end_pool(inventory, request.target, "target")
    if target == pool:
        raise RequestError(
            f"target {target} is the pool being failed over: name its backup pool, or no target"
        )
    site = None if request.lost_site is None else _site(inventory, request.lost_site, "lost_site")
    return request.model_copy(update={"pool": pool, "target": target, "lost_site": site})


def site_request(inventory: Inventory, arguments: Mapping[str, object]) -> SiteRequest:
    """A site failover; RequestError when the site is unknown or has no Front End pool to fail over."""
    request = _parse(SiteRequest, "lync.failover_site", arguments)
    name = _site(inventory, request.site)
    if not any(pool.site == name for pool in inventory.front_end_pools()):
        raise RequestError(
            f"site {name} has no Front End pool in the inventory: there is nothing to fail over"
        )
    return request.model_copy(update={"site": name})


def failback_request(inventory: Inventory, arguments: Mapping[str, object]) -> FailbackRequest:
    """A failback of a Front End pool of the inventory."""
    request = _parse(FailbackRequest, "lync.failback", arguments)
    return request.model_copy(update={"pool": _front_end_pool(inventory, request.pool, "pool")})


def readiness_request(inventory: Inventory, arguments: Mapping[str, object]) -> ReadinessRequest:
    """A readiness check of every site, or of one site of the inventory."""
    request = _parse(ReadinessRequest, "lync.readiness", arguments)
    return request.model_copy(
        update={"site": None if request.site is None else _site(inventory, request.site)}
    )


def _parse(kind: type[_Kind], task: str, arguments: Mapping[str, object]) -> _Kind:
    """``kind`` from the arguments, strictly; RequestError naming every wrong argument and what it takes.

    The request's ``workflow`` is the launcher's own: given as an argument, it is an unknown one.
    """
    fields = [name for name in kind.model_fields if name != "workflow"]
    own = [name for name in fields if name in kind.__annotations__]  # its own first, then the shared
    takes = ", ".join(own + [name for name in fields if name not in own])
    if "workflow" in arguments:
        raise RequestError(f"{task} has no argument 'workflow'. {task} takes: {takes}")
    try:
        return kind.model_validate({**arguments, "workflow": kind.model_fields["workflow"].default})
    except ValidationError as error:
        problems = "; ".join(_problem(task, detail) for detail in error.errors())
        raise RequestError(f"{problems}. {task} takes: {takes}") from None


def _problem(task: str, detail: ErrorDetails) -> str:
    name = ".".join(str(part) for part in detail["loc"])
    given = detail.get("input")
    if detail["type"] == "value_error":  # a rule of the request itself (e.g. pause_before's phases)
        rule = str(detail.get("ctx", {}).get("error", detail["msg"]))
        return f"{name}: {rule}" if name else rule
    if detail["type"] == "extra_forbidden":
        return f"{task} has no argument {name!r}"
    if detail["type"] == "missing":
        return f"{name} is required"
    if detail["type"] in ("bool_type", "bool_parsing"):
        return f"{name} must be true or false (a JSON boolean), not {given!r}"
    if detail["type"] in ("string_type", "literal_error"):
        return (
            f"{name} must be text, not {given!r}"
            if detail["type"] == "string_type"
            else f"{name}: {detail['msg']}"
        )
    return f"{name}: {detail['msg']} (got {given!r})"


def _site(inventory: Inventory, site: object, what: str = "site") -> str:
    """The inventory's name of ``site`` (compared without case); RequestError naming the argument ``what``."""
    names = {entry.name.lower(): entry.name for entry in inventory.sites}
    if not isinstance(site, str) or site.lower() not in names:
        raise RequestError(
            f"{what} {site!r} is not in the inventory; its sites are: {', '.join(names.values())}"
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
