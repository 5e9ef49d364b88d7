"""kombu's Redis channels, plain and Sentinel, used after Celery detached their connection (what a broker
connection loss does): a Redis ConnectionError, which the worker tolerates, not an AttributeError, which
ended it."""

from __future__ import annotations

import pytest
import redis

from tests.fixtures_redis import SENTINEL_MASTER
from worker import kombu_redis_fix
from worker.rehearsal.stack import celery_client


@pytest.mark.parametrize("broker", ["redis", "sentinel"])
def test_a_detached_channel_raises_a_redis_connection_error(
    broker: str, redis_url: str, sentinel_url: str
) -> None:
    kombu_redis_fix.install()
    url = sentinel_url if broker == "sentinel" else redis_url
    connection = celery_client(url, SENTINEL_MASTER).connection_for_write()
    channel = connection.default_channel

    connection.collect()  # the consumer's first reaction to a lost broker: channels closed, client detached

    with pytest.raises(redis.ConnectionError, match="used after its connection was closed"):
        _ = channel.pool
