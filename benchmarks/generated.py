"""Lab scenarios of a chosen size, written to a directory: the lab serves a scenario file by path.

``bootstrap_scenario(n)`` is ``cms-2010`` with ``n`` Front Ends for Bootstrapper (Backup_Pool has ``n + 1``);
``site_scenario(n)`` is a lost Datacenter1 of ``n`` Lync 2013 pools, each paired with one in Datacenter2, the
CMS on the first, no Edge pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lab.scenario import SCENARIO_DIRECTORY, load_scenario

#: The shipped scenario the Bootstrapper fan-out grows from (the Lync 2010 CMS path).
BOOTSTRAP_BASE = "cms-2010"
EXPORTS = ["c:\\CsConfigurationFile.zip", "c:\\CsLisConfigurationFile.zip"]


def write_scenario(document: dict[str, Any], directory: Path) -> Path:
    """Write ``document`` as ``<name>.yaml`` in ``directory``, check the lab loads it, return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    load_scenario(str(path))
    return path


def bootstrap_scenario(others: int) -> dict[str, Any]:
    """``cms-2010`` with ``others + 1`` Front Ends in Backup_Pool (pool2): Bootstrapper runs on ``others``."""
    base = SCENARIO_DIRECTORY / f"{BOOTSTRAP_BASE}.yaml"
    document: dict[str, Any] = yaml.safe_load(base.read_text(encoding="utf-8"))
    front_ends = [f"fe{index:02d}.pool2.contoso.com" for index in range(1, others + 2)]
    for pool in document["pools"]:
        if pool["fqdn"] == "pool2.contoso.com":
            pool["front_ends"] = front_ends
    document["files"] = {server: list(EXPORTS) for server in front_ends}
    document["name"] = f"bench-bootstrap-{others}"
    document["description"] = f"{BOOTSTRAP_BASE} with Bootstrapper on {others} Front Ends of pool2"
    return document


def site_scenario(pools: int) -> dict[str, Any]:
    """Datacenter1 lost with ``pools`` pools (pool1..); each fails over to its pair in Datacenter2."""
    lost = [f"pool{index}.contoso.com" for index in range(1, pools + 1)]
    backups = [f"pool{index}.contoso.com" for index in range(pools + 1, 2 * pools + 1)]
    documents = [
        _pool(fqdn, "Datacenter1", backup, cms=index == 0)
        for index, (fqdn, backup) in enumerate(zip(lost, backups, strict=True))
    ]
    documents += [
        _pool(fqdn, "Datacenter2", home, cms=index == 0)
        for index, (fqdn, home) in enumerate(zip(backups, lost, strict=True))
    ]
    down = [server for pool in documents[:pools] for server in _servers(pool)]
    return {
        "name": f"bench-site-{pools}",
        "description": f"Datacenter1 lost with {pools} pools, each paired with one in Datacenter2",
        "sites": ["Datacenter1", "Datacenter2"],
        "rehearse": "site",
        "failed_site": "Datacenter1",
        "pools": documents,
        "cms": {"pool": lost[0]},
        "users": [
            {"sip": f"sip:user{index}@contoso.com", "home_pool": fqdn} for index, fqdn in enumerate(lost)
        ],
        "down_servers": down,
        "expected": {
            "cms_pool": backups[0],
            "users_by_home_pool": dict(zip(lost, backups, strict=True)),
            "pool_states": dict.fromkeys(lost, "FailedOver"),
            "replicas_up_to_date": True,
        },
    }


def _pool(fqdn: str, site: str, backup: str, *, cms: bool) -> dict[str, Any]:
    """A one-Front-End Lync 2013 pool with its own SQL server (holding a CMS database when ``cms``)."""
    name = fqdn.split(".", 1)[0]
    return {
        "fqdn": fqdn,
        "site": site,
        "version": 6,
        "front_ends": [f"fe01.{fqdn}"],
        "backend": {"primary": {"fqdn": f"sql-{name}.contoso.com", "instance": "rtc", "cms_database": cms}},
        "backup_pool": backup,
    }


def _servers(pool: dict[str, Any]) -> list[str]:
    return [*pool["front_ends"], pool["backend"]["primary"]["fqdn"]]
