"""A worker with a step in flight survives a Redis restart (kombu 5.7 and Celery 5.7, Redis transport).

The bug: when the broker connection breaks while a BRPOP is in flight, kombu's ``Channel.close()`` tries to
read the BRPOP's reply first; on the dead socket that read fails and close() gives up before closing anything.
``Connection.collect()`` then detaches the transport (``client = None``), and Celery 5.7 (celery#10242) closes
the connection again: this time close() restores the unacked message through a new Redis pool whose
parameters read ``client.hostname`` of ``None``. That AttributeError is not a connection error, so it ends the
worker ("Unrecoverable error"), and the running step's late ack is lost: it runs again after the visibility
timeout. Related upstream: kombu#1733 (the BRPOP read in close), kombu#582 and #970 (the same AttributeError).

The fix, two guards: close() finishes closing when that read fails with a connection error (there is no
reply to read), and a channel used after its connection was detached raises a Redis ConnectionError, which
the callers already tolerate. Both sit in the plain Redis channel, where the Sentinel channel inherits them:
its own ``_get_pool`` also starts by reading the connection's parameters (``_connparams``).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as _kombu_redis

#: kombu's Redis transport, untyped: the patch reaches into its internals.
kombu_redis: Any = _kombu_redis
log = logging.getLogger(__name__)

_INSTALLED = "_lync_failover_close_fix"


def install() -> None:
    """Patch kombu's Redis channel in this process (once)."""
    channel = kombu_redis.Channel
    if getattr(channel, _INSTALLED, False):
        return
    original_close = channel.close
    original_connparams = channel._connparams

    def close(self: Any) -> Any:
        if self._in_poll and not self.closed:
            try:
                self._brpop_read()
            except kombu_redis.Empty:
                pass
            except self.connection_errors as error:
                log.warning(
                    "Redis channel close: the pending BRPOP reply is lost (%r); closing anyway", error
                )
        return original_close(self)

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise kombu_redis.redis.exceptions.ConnectionError(
                "kombu Redis channel used after its connection was closed"
            )
        return original_connparams(self, asynchronous=asynchronous)

    channel.close = close
    channel._connparams = _connparams
    setattr(channel, _INSTALLED, True)
