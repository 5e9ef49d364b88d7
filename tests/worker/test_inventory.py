"""The inventory loads when it is right and names the file, the entry and the problem when it is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.worker.inventory_data import inventory_data, write_inventory
from worker.inventory import InventoryError, load_inventory


def test_a_valid_inventory_answers_where_servers_live(tmp_path: Path) -> None:
    inventory = load_inventory(write_inventory(tmp_path, inventory_data()))

    assert [pool.fqdn for pool in inventory.front_end_pools()] == ["pool1.contoso.com", "pool2.contoso.com"]
    assert [pool.fqdn for pool in inventory.edge_pools()] == ["edge1.contoso.com"]
    assert [server.fqdn for server in inventory.servers_in("POOL2.contoso.com")] == ["fe01.pool2.contoso.com"]
    assert inventory.site_of("fe01.pool2.contoso.com") == "Datacenter2"
    assert inventory.site_of("edge1.contoso.com") == "Datacenter1"
    assert inventory.queue_for("FE01.pool1.contoso.com") == "lync.site.datacenter1"
    assert inventory.control_queue == "lync.control"


def test_endpoint_parts_and_relative_paths_resolve_next_to_the_inventory(tmp_path: Path) -> None:
    inventory = load_inventory(write_inventory(tmp_path, inventory_data()))

    tls_server = inventory.server("fe01.pool1.contoso.com")
    assert (tls_server.use_tls, tls_server.host, tls_server.port, tls_server.path) == (
        True,
        "127.0.0.1",
        45001,
        "wsman",
    )
    assert tls_server.tls_verify == str(tmp_path / "lab-ca.pem")
    assert inventory.server("fe01.pool2.contoso.com").tls_verify is True
    assert inventory.credentials["lab"].password_file == tmp_path / "lab.password"


def test_the_yaml_form_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory_data()))

    assert load_inventory(path).server("fe01.pool1.contoso.com").auth == "ntlm"


def _unknown_pool(data: dict[str, Any]) -> None:
    data["servers"][1]["pool"] = "pool9.contoso.com"


def _unknown_site(data: dict[str, Any]) -> None:
    data["pools"][2]["site"] = "Datacenter9"


def _duplicate_server(data: dict[str, Any]) -> None:
    data["servers"].append(dict(data["servers"][0]))


def _bad_endpoint(data: dict[str, Any]) -> None:
    data["servers"][1]["endpoint"] = "ftp://fe01.pool2.contoso.com/wsman"


def _unknown_auth(data: dict[str, Any]) -> None:
    data["servers"][0]["auth"] = "digest"


def _missing_credential(data: dict[str, Any]) -> None:
    data["servers"][1]["credential"] = "vault"


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (_unknown_pool, 'servers[1] (fe01.pool2.contoso.com): pool "pool9.contoso.com" is not in pools'),
        (_unknown_site, 'pools[2] (edge1.contoso.com): site "Datacenter9" is not in sites'),
        (_duplicate_server, "servers[2] (fe01.pool1.contoso.com): server listed twice"),
        (
            _bad_endpoint,
            "servers[1] (fe01.pool2.contoso.com): endpoint: 'ftp://fe01.pool2.contoso.com/wsman' is not",
        ),
        (_unknown_auth, "servers[0] (fe01.pool1.contoso.com): auth: Input should be 'negotiate'"),
        (
            _missing_credential,
            'servers[1] (fe01.pool2.contoso.com): credential "vault" is not in credentials',
        ),
    ],
    ids=[
        "unknown pool",
        "unknown site",
        "duplicate server",
        "bad endpoint",
        "unknown auth",
        "missing credential",
    ],
)
def test_a_bad_entry_is_named_with_the_file(
    tmp_path: Path, spoil: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = inventory_data()
    spoil(data)

    with pytest.raises(InventoryError) as raised:
        load_inventory(write_inventory(tmp_path, data))

    assert f"inventory.json: {expected}" in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"absent\.json: cannot read the inventory"):
        load_inventory(tmp_path / "absent.json")


def test_an_unknown_server_lookup_says_where_to_add_it(tmp_path: Path) -> None:
    inventory = load_inventory(write_inventory(tmp_path, inventory_data()))

    with pytest.raises(InventoryError, match=r'server "fe09\.pool1\.contoso\.com" is not in the inventory'):
        inventory.server("fe09.pool1.contoso.com")
