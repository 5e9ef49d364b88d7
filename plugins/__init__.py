"""The failover domain: the hook specification site plugins implement, and the built-in plugins."""
