"""Moving the Context through Celery: the topology stays out of messages and is rebuilt from the inventory."""

from __future__ import annotations

from functools import reduce
from typing import Any

from plugins.kit.model import Context, Facts, PoolInfo, StepCall, Topology
from worker.inventory import Inventory, get_inventory


def topology(inventory: Inventory | None = None) -> Topology:
    """The inventory's pools and their servers, as plugins see them."""
    inventory = inventory or get_inventory()
    return Topology(
        pools=[
            PoolInfo(
                fqdn=pool.fqdn,
                site=pool.site,
                role=pool.role,
                servers=[server.fqdn for server in inventory.servers_in(pool.fqdn)],
                version=pool.version,
            )
            for pool in inventory.pools
        ]
    )


def dump_context(context: Context) -> dict[str, Any]:
    """The context as a task argument: run id, request and facts (JSON, no topology, no secrets)."""
    return context.model_dump(mode="json", exclude={"topology"})


def load_context(data: dict[str, Any] | list[dict[str, Any]]) -> Context:
    """A context from a task argument, with the topology of this worker's inventory; after parallel steps
    (a list, one context each), their facts joined."""
    if isinstance(data, list):
        first, *others = data
        facts = reduce(joined, (Facts.model_validate(other["facts"]) for other in others), _facts(first))
        return Context.model_validate({**first, "facts": facts, "topology": topology()})
    return Context.model_validate({**data, "topology": topology()})


def joined(facts: Facts, branch: Facts) -> Facts:
    """What parallel steps found, together: lists and maps united; a single value kept unless unknown."""
    update: dict[str, object] = {}
    for name in Facts.model_fields:
        mine, theirs = getattr(facts, name), getattr(branch, name)
        if isinstance(mine, list) and isinstance(theirs, list):
            update[name] = mine + [item for item in theirs if item not in mine]
        elif isinstance(mine, dict) and isinstance(theirs, dict):
            update[name] = mine | theirs
        elif mine is None:
            update[name] = theirs
    return facts.model_copy(update=update)


def _facts(data: dict[str, Any]) -> Facts:
    return Facts.model_validate(data["facts"])


def routed(call: StepCall) -> StepCall:
    """The call with the queue of its server's site."""
    return call.model_copy(update={"queue": get_inventory().queue_for(call.server)})
