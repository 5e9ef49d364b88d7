"""The failover domain: the hook specification site plugins implement, and the built-in plugins."""

import pluggy

#: Mark a site plugin's hook implementations with this (or make your own ``HookimplMarker("lync_failover")``).
hookimpl = pluggy.HookimplMarker("lync_failover")

__all__ = ["hookimpl"]
