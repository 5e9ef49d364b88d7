"""EmbeddedRedis runs a real redis-server on loopback and stops it."""

from __future__ import annotations

import signal

import pytest
import redis

from worker.rehearsal.redis_server import EmbeddedRedis, EmbeddedRedisError, EmbeddedSentinelSet


def test_it_starts_answers_and_stops() -> None:
    server = EmbeddedRedis()
    url = server.start()
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        assert url.startswith("redis://127.0.0.1:")
        client.set("probe", "1")
        assert client.get("probe") == b"1"
        assert client.config_get("save") == {"save": ""}
    finally:
        server.stop()

    with pytest.raises(redis.ConnectionError):
        client.ping()
    client.close()


def test_as_a_context_manager_it_gives_the_url() -> None:
    with EmbeddedRedis() as url:
        assert redis.Redis.from_url(url).ping()


def test_a_server_that_cannot_start_is_reported() -> None:
    with pytest.raises(EmbeddedRedisError, match="exited"):
        EmbeddedRedis(executable="/bin/false").start()


def test_the_url_of_a_stopped_server_is_refused() -> None:
    with pytest.raises(EmbeddedRedisError, match="not running"):
        _ = EmbeddedRedis().url


def test_a_sentinel_set_names_its_primary_and_promotes_the_replica_when_the_primary_dies() -> None:
    sentinels = EmbeddedSentinelSet("lync-test", password="set-pass")
    url = sentinels.start()
    try:
        assert url.count("sentinel://:set-pass@127.0.0.1:") == 3
        old = sentinels.master()
        assert redis.Redis.from_url(old.url).info("replication")["role"] == "master"

        old.end(signal.SIGKILL)
        new = sentinels.wait_for_new_master(old)

        assert new is not old and new.running and not old.running
        assert redis.Redis.from_url(new.url).info("replication")["role"] == "master"
    finally:
        sentinels.stop()
    assert not any(node.running for node in [old, new])
