"""What a step raises when the world is not as it needs: wait and retry, or stop saying what to do."""


class NotReadyError(Exception):
    """The world is not in the state a step waits for yet (replication, failover in progress): retry later."""


class PreconditionError(Exception):
    """A step cannot run on these facts (missing export file, wrong target): retrying will not help."""
