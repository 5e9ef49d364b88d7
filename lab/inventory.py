"""Write the runner's inventory file (docs/inventory.md) for the servers a running lab serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

INVENTORY_FORMAT = "lync-failover-inventory/1"
CONTROL_QUEUE = "lync.control"
CREDENTIAL_NAME = "lab"
PASSWORD_ENV = "LAB_PASSWORD"


@dataclass(frozen=True)
class ServedServer:
    """One server of the lab as the inventory lists it."""

    fqdn: str
    pool: str
    site: str
    role: str
    endpoint: str


def site_queue(site: str) -> str:
    """The Celery queue of a site: ``Datacenter1`` -> ``lync.site.datacenter1``."""
    return "lync.site." + re.sub(r"[^a-z0-9]+", "-", site.lower()).strip("-")


def build_inventory(
    servers: Iterable[ServedServer],
    *,
    username: str,
    auth: str,
    password_file: Path | None,
    ca_bundle: Path | None,
    pool_versions: Mapping[str, int],
) -> dict[str, object]:
    """The inventory document for ``servers``: sites, pools, endpoints and the lab's one credential."""
    served = sorted(servers, key=lambda s: s.fqdn)
    sites = sorted({s.site for s in served})
    pools: dict[str, ServedServer] = {}
    for server in served:
        pools.setdefault(server.pool, server)
    entries: list[dict[str, object]] = []
    for server in served:
        entry: dict[str, object] = {
            "fqdn": server.fqdn,
            "pool": server.pool,
            "endpoint": server.endpoint,
            "auth": auth,
            "credential": CREDENTIAL_NAME,
        }
        if ca_bundle is not None:
            entry["ca_bundle"] = ca_bundle.name
        entries.append(entry)
    pool_entries: list[dict[str, object]] = []
    for fqdn, first in sorted(pools.items()):
        pool: dict[str, object] = {"fqdn": fqdn, "site": first.site, "role": first.role}
        if fqdn in pool_versions:
            pool["version"] = pool_versions[fqdn]
        pool_entries.append(pool)
    return {
        "format": INVENTORY_FORMAT,
        "control_queue": CONTROL_QUEUE,
        "sites": [{"name": site, "queue": site_queue(site)} for site in sites],
        "pools": pool_entries,
        "servers": entries,
        "credentials": {CREDENTIAL_NAME: _credential(username, password_file)},
    }


def _credential(username: str, password_file: Path | None) -> dict[str, str]:
    credential = {"username": username, "password_env": PASSWORD_ENV}
    if password_file is not None:
        credential["password_file"] = password_file.name
    return credential


def write_inventory(path: Path, document: Mapping[str, object]) -> None:
    """Write ``document`` to ``path`` atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
