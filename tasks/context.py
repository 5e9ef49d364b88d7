"""Moving the Context through Celery: the topology stays out of messages and is rebuilt from the inventory."""

from __future__ import annotations

from typing import Any

from plugins.kit.model import Context, PoolInfo, StepCall, Topology
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


def load_context(data: dict[str, Any]) -> Context:
    """A context from a task argument, with the topology of this worker's inventory."""
    return Context.model_validate({**data, "topology": topology()})


def routed(call: StepCall) -> StepCall:
    """The call with the queue of its server's site."""
    return call.model_copy(update={"queue": get_inventory().queue_for(call.server)})
