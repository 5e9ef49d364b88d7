"""What the runner remembers across runs: the Edge next hops a failover moved (a failback moves them back),
and the last readiness check."""

from __future__ import annotations

from typing import cast

import redis

from plugins.kit.model import EdgeMove, Facts, Finding
from plugins.kit.requests import AnyRequest, FailbackRequest, ReadinessRequest
from tasks.liveness import live_sites
from tasks.record import redis_client
from worker.inventory import Inventory


def moves_key(pool: str) -> str:
    """The Edge moves made away from ``pool``: edge pool -> EdgeMove (JSON)."""
    return f"lync:edge_moves:{pool.lower()}"


def remember_edge_moves(moves: list[EdgeMove], client: redis.Redis | None = None) -> None:
    """Keep each move under the pool the Edge used before, until a failback of that pool restores it."""
    client = client or redis_client()
    for move in moves:
        client.hset(moves_key(move.from_pool), move.edge_pool, move.model_dump_json())


def edge_moves_from(pool: str, client: redis.Redis | None = None) -> list[EdgeMove]:
    """The Edge next hops failovers moved away from ``pool`` and no failback has moved back."""
    client = client or redis_client()
    raw = cast(dict[str, str], client.hgetall(moves_key(pool)))
    return [EdgeMove.model_validate_json(value) for _, value in sorted(raw.items())]


def forget_edge_moves(pool: str, restored: list[str], client: redis.Redis | None = None) -> None:
    """The failback of ``pool`` moved these Edge pools back."""
    if restored:
        (client or redis_client()).hdel(moves_key(pool), *restored)


#: The run id of the last readiness check.
LAST_READINESS_KEY = "lync:readiness:last"


def remember_readiness(run_id: str, client: redis.Redis | None = None) -> None:
    """This readiness check is the last one."""
    (client or redis_client()).set(LAST_READINESS_KEY, run_id)


def last_readiness(client: redis.Redis | None = None) -> str | None:
    """The run id of the last readiness check that ended, if any."""
    found = (client or redis_client()).get(LAST_READINESS_KEY)
    return str(found) if found else None


def initial_facts(request: AnyRequest, inventory: Inventory) -> Facts:
    """What a run knows before discovery: a failback, which Edge next hops to move back; a readiness
    check, which sites have a live worker."""
    if isinstance(request, FailbackRequest):
        return Facts(edge_moves=edge_moves_from(request.pool))
    if isinstance(request, ReadinessRequest):
        live = live_sites(inventory)
        silent = [site for site in inventory.sites if site.name not in live]
        return Facts(
            live_sites=live,
            findings=[
                Finding(
                    check=f"a worker in {site.name}",
                    pool=None,
                    ok=False,
                    detail=f"no worker consumes {site.queue}: the site's pools were not checked, and a "
                    "failover's steps there would wait",
                    fix=f"start one on a host of {site.name}: celery -A worker worker -Q {site.queue}",
                )
                for site in silent
            ],
        )
    return Facts()
