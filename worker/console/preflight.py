"""Before the CLI sends anything: inventory usable, pool known, Redis reachable, workers listening?

Each check raises :class:`PreflightError` with a message naming the problem and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import redis
from celery import Celery

from plugins.kit.requests import AnyRequest, Request, SiteRequest
from worker.inventory import Inventory, InventoryError, get_inventory
from worker.redis_connection import RedisUrlError, ping, redacted_url
from worker.refusals import RequestError
from worker.settings import get_settings

_Request = TypeVar("_Request")
#: How long a Redis connection attempt or a worker inspection may take.
REDIS_TIMEOUT_S = 3.0
INSPECT_TIMEOUT_S = 2.0


class PreflightError(Exception):
    """Something the operator must fix before the command can work; nothing was sent."""


def inventory() -> Inventory:
    """The inventory named by ``LYNC_FAILOVER_INVENTORY``, checked."""
    try:
        return get_inventory()
    except InventoryError as error:
        raise PreflightError(
            f"the inventory cannot be used:\n{error}\n"
            "Set LYNC_FAILOVER_INVENTORY to a valid inventory file (docs/inventory.md)."
        ) from None


def checked(validate: Callable[[], _Request]) -> _Request:
    """The request ``validate`` makes, checked against the inventory as the launcher will check it."""
    try:
        return validate()
    except RequestError as error:
        raise PreflightError(str(error)) from None


def redis_reachable(url: str | None = None) -> str:
    """``url`` (default: the settings' Redis URL), once it answers a PING (a Sentinel set: its master)."""
    url = url or get_settings().redis_url
    try:
        ping(url, REDIS_TIMEOUT_S)
    except RedisUrlError as error:
        raise PreflightError(str(error)) from None
    except redis.RedisError as error:
        raise PreflightError(
            f"cannot reach Redis at {redacted_url(url)} ({error}).\n"
            "Start Redis, or set REDIS_URL to the Redis the workers use "
            "(redis://[:PASSWORD@]HOST:PORT/DB, or a Sentinel set: sentinel://[:PASSWORD@]HOST:PORT/DB;...)."
        ) from None
    return url


def consumers(app: Celery, queues: Iterable[str]) -> dict[str, list[str]]:
    """The workers (node names) consuming each of ``queues`` right now; a queue no worker serves is absent."""
    wanted = set(queues)
    replies = app.control.inspect(timeout=INSPECT_TIMEOUT_S).active_queues() or {}
    found: dict[str, list[str]] = {}
    for worker, consumed in sorted(replies.items()):
        for queue in consumed:
            if queue["name"] in wanted:
                found.setdefault(queue["name"], []).append(worker)
    return found


def workers_listening(app: Celery, queues: Iterable[str]) -> None:
    """Every queue in ``queues`` has at least one worker consuming it."""
    wanted = set(queues)
    missing = sorted(wanted - set(consumers(app, wanted)))
    if missing:
        commands = "\n".join(
            f"  celery -A worker worker -Q {queue} --hostname {queue}@%h -E" for queue in missing
        )
        names = ", ".join(missing)
        raise PreflightError(
            f"no worker is listening on {names}: the run would wait there forever.\n"
            f"Start one on a host that can reach those servers:\n{commands}"
        )


def queues_before_discovery(inventory: Inventory, request: AnyRequest) -> list[str]:
    """The queues a run may use before its plan is known: the control queue, and every site that has a
    Front End pool other than the failed ones (discovery, the CMS and the Edge steps run there)."""
    failed = failed_pools(inventory, request)
    sites = {entry.site for entry in inventory.front_end_pools() if entry.fqdn not in failed}
    return [inventory.control_queue, *(site.queue for site in inventory.sites if site.name in sites)]


def failed_pools(inventory: Inventory, request: AnyRequest) -> list[str]:
    """The pools a run fails over: its pool, or every Front End pool of its site; none for the others."""
    if isinstance(request, Request):
        return [request.pool]
    if isinstance(request, SiteRequest):
        return [entry.fqdn for entry in inventory.front_end_pools() if entry.site == request.site]
    return []
