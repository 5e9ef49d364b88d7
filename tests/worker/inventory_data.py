"""A small valid inventory (two sites, two Front End pools, an Edge pool) for the worker's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def inventory_data(endpoint: str = "https://127.0.0.1:45001/wsman") -> dict[str, Any]:
    """A fresh, valid inventory as the JSON it is written in."""
    return {
        "format": "lync-failover-inventory/1",
        "control_queue": "lync.control",
        "sites": [
            {"name": "Datacenter1", "queue": "lync.site.datacenter1"},
            {"name": "Datacenter2", "queue": "lync.site.datacenter2"},
        ],
        "pools": [
            {"fqdn": "pool1.contoso.com", "site": "Datacenter1", "role": "FrontEnd", "version": 6},
            {"fqdn": "pool2.contoso.com", "site": "Datacenter2", "role": "FrontEnd", "version": 6},
            {"fqdn": "edge1.contoso.com", "site": "Datacenter1", "role": "Edge"},
        ],
        "servers": [
            {
                "fqdn": "fe01.pool1.contoso.com",
                "pool": "pool1.contoso.com",
                "endpoint": endpoint,
                "auth": "ntlm",
                "credential": "lab",
                "ca_bundle": "lab-ca.pem",
            },
            {
                "fqdn": "fe01.pool2.contoso.com",
                "pool": "pool2.contoso.com",
                "endpoint": "http://127.0.0.1:45002/wsman",
                "auth": "basic",
                "credential": "lab",
                "encryption": "never",
            },
        ],
        "credentials": {
            "lab": {
                "username": "CONTOSO\\lyncadmin",
                "password_file": "lab.password",
                "password_env": "LAB_PW",
            }
        },
    }


def write_inventory(directory: Path, data: dict[str, Any], name: str = "inventory.json") -> Path:
    """Write ``data`` as ``name`` in ``directory`` and return the path."""
    path = directory / name
    path.write_text(json.dumps(data, indent=2))
    return path
