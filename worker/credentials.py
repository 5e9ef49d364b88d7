"""Find a server's password: a site plugin (a vault) first, then the environment, then a file."""

from __future__ import annotations

import os
from typing import Any

from plugins.kit.shell import Credential
from plugins.manager import get_plugin_manager
from worker.inventory import CredentialEntry, Inventory, ServerEntry, get_inventory


class CredentialError(LookupError):
    """No password could be found for a credential; the message says what to set."""


def resolve_credential(
    server: ServerEntry, *, inventory: Inventory | None = None, plugin_manager: Any = None
) -> Credential:
    """The credential for ``server``: the plugin hook, else ``password_env``, else ``password_file``."""
    inventory = inventory or get_inventory()
    name = server.credential
    from_plugin = _from_plugins(plugin_manager or get_plugin_manager(), server.fqdn, name)
    if from_plugin is not None:
        return from_plugin
    entry = inventory.credentials[name]
    password = _from_env(entry) or _from_file(entry, name)
    if password is None:
        where = f"set {entry.password_env} on the worker" if entry.password_env else "add password_env"
        raise CredentialError(
            f'credential "{name}" (for {server.fqdn}) has no password: {where}, give it a password_file '
            "in the inventory, or install a site plugin that implements lync_failover_credentials"
        )
    return Credential(username=entry.username, password=password)


def _from_plugins(plugin_manager: Any, server: str, credential: str) -> Credential | None:
    hook = getattr(plugin_manager.hook, "lync_failover_credentials", None)
    if hook is None:
        return None
    try:
        found = hook(server=server, credential=credential)
    except Exception as error:
        names = ", ".join(sorted({plugin_manager.get_name(impl.plugin) for impl in hook.get_hookimpls()}))
        raise CredentialError(
            f'the lync_failover_credentials hook (plugin {names}) failed for credential "{credential}" '
            f"(for {server}): {describe(error)}. Check that the vault it reads is reachable from this worker "
            f'and holds an entry for "{credential}"'
        ) from None
    if found is not None and not isinstance(found, Credential):
        raise CredentialError(
            f"the lync_failover_credentials hook returned a {type(found).__name__} for credential "
            f'"{credential}": it must return plugins.shell.Credential or None'
        )
    return found


def _from_env(entry: CredentialEntry) -> str | None:
    if entry.password_env is None:
        return None
    return os.environ.get(entry.password_env) or None


def _from_file(entry: CredentialEntry, name: str) -> str | None:
    if entry.password_file is None:
        return None
    try:
        password = entry.password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise CredentialError(
            f'credential "{name}": cannot read password_file {entry.password_file} '
            f"({error.strerror or error}); create it (mode 0600) or fix the path in the inventory"
        ) from None
    return password or None


def describe(error: BaseException) -> str:
    """An error as ``Type: first line of its message`` (a KeyError without its quotes)."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    lines = text.strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
