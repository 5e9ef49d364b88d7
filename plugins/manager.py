"""The plugin manager: built-in plugins by module name, then site plugins from entry points."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import cast

import pluggy

from plugins.kit import hookspecs
from plugins.kit.model import StepSpec

PROJECT = "lync_failover"
#: The entry-point group site plugins register under.
ENTRY_POINT_GROUP = "lync_failover"
#: The built-in plugins, registered exactly as a site plugin would be.
BUILTIN_PLUGINS = (
    "plugins.builtin.discovery",
    "plugins.builtin.cms",
    "plugins.builtin.cms2013",
    "plugins.builtin.cms2010",
    "plugins.builtin.edge",
    "plugins.builtin.pool",
    "plugins.builtin.users",
    "plugins.builtin.failback",
    "plugins.builtin.readiness",
)


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded or does not fit the hooks; the message names it."""


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager (built-ins, then installed site plugins); fails loudly on a broken one."""
    return build_plugin_manager(entry_points(group=ENTRY_POINT_GROUP))


def build_plugin_manager(site_plugins: Iterable[EntryPoint]) -> pluggy.PluginManager:
    """A plugin manager with the built-ins and the given site plugin entry points."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    for entry_point in site_plugins:
        try:
            pm.register(entry_point.load(), name=entry_point.name)
        except Exception as error:
            raise PluginLoadError(
                f'site plugin "{entry_point.name}" ({entry_point.value}, entry point group '
                f'"{ENTRY_POINT_GROUP}") failed to load: {type(error).__name__}: {error}. '
                "Fix or uninstall it."
            ) from error
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginLoadError(f'plugin "{error.plugin}" implements an unknown hook: {error}') from error
    step_registry(pm)
    return pm


def step_registry(pm: pluggy.PluginManager) -> dict[str, StepSpec]:
    """Every step the plugins provide, by name; a name provided twice is an error naming both plugins."""
    registry: dict[str, StepSpec] = {}
    owners: dict[str, str] = {}
    for impl in pm.hook.lync_failover_steps.get_hookimpls():
        name = impl.plugin_name
        specs = cast(list[StepSpec], impl.function())
        for spec in specs:
            if spec.name in registry:
                raise PluginLoadError(
                    f'step "{spec.name}" is provided by both "{owners[spec.name]}" and "{name}": rename one'
                )
            registry[spec.name] = spec
            owners[spec.name] = name
    return registry
