"""What a step raises when the world is not as it needs: wait and retry, or stop saying what to do."""


class NotReadyError(Exception):
    """The world is not in the state a step waits for yet (replication, failover in progress): retry later."""


class PreconditionError(Exception):
    """A step cannot run on these facts (missing export file, wrong target): retrying will not help."""


class NextHopInUse(PreconditionError):
    """Edge pools still use the failed pool as their internal next hop; the edge plugin moves them (a
    remedy), else the run stops saying so."""

    def __init__(self, message: str, edge_pools: list[str]) -> None:
        super().__init__(message)
        self.edge_pools = edge_pools
