"""The built-in plugins on a plugin manager of their own (no site plugins)."""

from __future__ import annotations

import pluggy
import pytest

from plugins.manager import build_plugin_manager


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    """The built-in plugins only."""
    return build_plugin_manager([])
