"""The failover domain: the kit a plugin may use (plugins.kit), the built-in plugins that use only it
(plugins.builtin), and the runner's side of the plugin system (manager, planning, decisions)."""
