"""A password comes from a site plugin, else the environment, else a file; else a clear error."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from plugins.kit.shell import Credential
from tests.worker.inventory_data import inventory_data, write_inventory
from worker.credentials import CredentialError, resolve_credential
from worker.inventory import Inventory, load_inventory

SERVER = "fe01.pool1.contoso.com"
hookspec = pluggy.HookspecMarker("lync_failover")
hookimpl = pluggy.HookimplMarker("lync_failover")


class _CredentialSpec:
    @hookspec(firstresult=True)
    def lync_failover_credentials(self, server: str, credential: str) -> Credential | None:
        """The credential for ``server`` (firstresult)."""
        raise NotImplementedError


class _Vault:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    @hookimpl
    def lync_failover_credentials(self, server: str, credential: str) -> Credential | None:
        self.asked.append((server, credential))
        return Credential("CONTOSO\\vaulted", "from-the-vault") if credential == "lab" else None


def _plugin_manager(*plugins: object) -> pluggy.PluginManager:
    manager = pluggy.PluginManager("lync_failover")
    manager.add_hookspecs(_CredentialSpec)
    for plugin in plugins:
        manager.register(plugin)
    return manager


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    return load_inventory(write_inventory(tmp_path, inventory_data()))


def test_a_site_plugin_answers_first(inventory: Inventory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PW", "from-the-env")
    vault = _Vault()

    credential = resolve_credential(
        inventory.server(SERVER), inventory=inventory, plugin_manager=_plugin_manager(vault)
    )

    assert credential == Credential("CONTOSO\\vaulted", "from-the-vault")
    assert vault.asked == [(SERVER, "lab")]
    assert "from-the-vault" not in repr(credential)


def test_the_environment_comes_before_the_file(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_PW", "from-the-env")
    (tmp_path / "lab.password").write_text("from-the-file\n")

    credential = resolve_credential(
        inventory.server(SERVER), inventory=inventory, plugin_manager=_plugin_manager()
    )

    assert credential == Credential("CONTOSO\\lyncadmin", "from-the-env")


def test_the_file_is_read_without_its_line_break(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAB_PW", raising=False)
    (tmp_path / "lab.password").write_text("from-the-file\n")

    credential = resolve_credential(
        inventory.server(SERVER), inventory=inventory, plugin_manager=_plugin_manager()
    )

    assert credential.password == "from-the-file"


def test_no_password_anywhere_says_what_to_set(inventory: Inventory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_PW", raising=False)

    with pytest.raises(CredentialError) as raised:
        resolve_credential(inventory.server(SERVER), inventory=inventory, plugin_manager=_plugin_manager())

    message = str(raised.value)
    assert 'credential "lab"' in message
    assert "cannot read password_file" in message and "lab.password" in message


def test_a_credential_without_sources_points_at_the_environment_and_the_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = inventory_data()
    data["credentials"]["lab"] = {"username": "CONTOSO\\lyncadmin"}
    inventory = load_inventory(write_inventory(tmp_path, data))

    with pytest.raises(
        CredentialError, match=r'credential "lab" \(for fe01.pool1.contoso.com\) has no password'
    ):
        resolve_credential(inventory.server(SERVER), inventory=inventory, plugin_manager=_plugin_manager())


class _VaultDown:
    @hookimpl
    def lync_failover_credentials(self, server: str, credential: str) -> Credential | None:
        raise ConnectionError("HTTPSConnectionPool(host='vault.contoso.com'): Max retries exceeded")


def test_a_failing_vault_plugin_is_named_with_the_credential(inventory: Inventory) -> None:
    manager = _plugin_manager()
    manager.register(_VaultDown(), name="contoso-vault")

    with pytest.raises(CredentialError) as raised:
        resolve_credential(inventory.server(SERVER), inventory=inventory, plugin_manager=manager)

    message = str(raised.value)
    assert 'plugin contoso-vault) failed for credential "lab"' in message
    assert "ConnectionError: HTTPSConnectionPool" in message and "vault it reads is reachable" in message
