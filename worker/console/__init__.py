"""The operator's console: the ``lync-failover`` CLI, live watching, preflight checks, audit reports."""
