"""The one Redis factory: a plain URL or a Sentinel set in kombu's form, bad URLs named with their fix, and
commands in flight when the primary dies finishing on the promoted replica."""

from __future__ import annotations

import signal
import threading

import pytest
import redis

from tests.fixtures_redis import SENTINEL_MASTER, SENTINEL_PASSWORD
from worker.redis_connection import (
    RedisUrlError,
    SentinelUrl,
    celery_transport_options,
    connect,
    parse_sentinel_url,
    ping,
    redacted_url,
)
from worker.rehearsal.redis_server import EmbeddedSentinelSet, wait_for

THREE = "sentinel://:pw@dc1.contoso.com:26379/2;sentinel://:pw@dc2.contoso.com:26380/2;sentinel://:pw@dc3/2"
#: Writers busy while the primary dies, and how long they may take to write again on the new one.
WRITERS = 4
DEADLINE_S = 60.0


def test_a_sentinel_url_names_every_sentinel_the_password_and_the_database() -> None:
    assert parse_sentinel_url(THREE) == SentinelUrl(
        (("dc1.contoso.com", 26379), ("dc2.contoso.com", 26380), ("dc3", 26379)), "pw", 2
    )
    assert celery_transport_options(THREE, "lync") == {
        "master_name": "lync",
        "sentinel_kwargs": {"socket_timeout": 2.0, "socket_connect_timeout": 2.0, "password": "pw"},
    }
    assert celery_transport_options("redis://:pw@redis:6379/0", "lync") == {}
    assert redacted_url(THREE).count(":***@") == 3 and "pw" not in redacted_url(THREE)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sentinel://:pw@dc1:26379/0;redis://:pw@dc2:6379/0", "mixes redis:// with sentinel:// parts"),
        ("sentinel://:pw@dc1:26379/0;sentinel://:other@dc2:26379/0", "carry different passwords"),
        ("sentinel://dc1:26379/0;sentinel://dc2:26379/1", "name different databases (0, 1)"),
        ("sentinel://dc1:26379/0; sentinel://dc2:26379/0", "has a part that is not"),
        ("sentinel://dc1:26379/0;dc2:26379", "has a part that is not"),
        ("sentinel://dc1:sentinel/0", "has a part that is not"),
        ("sentinel://dc1:26379/0?ssl_cert_reqs=required", "has a part that is not"),
    ],
)
def test_a_malformed_sentinel_url_is_named_with_its_fix_without_its_password(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError) as raised:
        parse_sentinel_url(url)

    message = str(raised.value)
    assert problem in message
    assert "sentinel://[:PASSWORD@]HOST" in message or "give every part the same" in message
    assert ":pw@" not in message and ":other@" not in message


def test_the_factory_reaches_the_master_through_the_sentinels(sentinel_url: str) -> None:
    client = connect(sentinel_url, SENTINEL_MASTER)
    client.set("lync:probe", "through the sentinels")

    assert client.get("lync:probe") == "through the sentinels"
    assert client.info("replication")["role"] == "master"
    ping(sentinel_url, 2.0, SENTINEL_MASTER)
    with pytest.raises(RedisUrlError, match=r"no master named 'mymaster' \(they monitor: lync-test\)"):
        ping(sentinel_url, 2.0, "mymaster")


def test_commands_in_flight_when_the_primary_dies_finish_on_the_promoted_replica() -> None:
    sentinels = EmbeddedSentinelSet(SENTINEL_MASTER, password=SENTINEL_PASSWORD)
    url = sentinels.start()
    stop = threading.Event()
    written = [0] * WRITERS
    errors: list[redis.RedisError] = []

    def write(writer: int) -> None:
        client = connect(url, SENTINEL_MASTER)  # each writer its own connection, busy when the primary dies
        while not stop.is_set():
            try:
                client.xadd("lync:probe", {"writer": str(writer)})
                client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "lync:probe:last", str(writer))
            except redis.RedisError as error:
                errors.append(error)
                return
            written[writer] += 1

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: all(written), "every writer to write", DEADLINE_S)
        old = sentinels.master()
        old.end(signal.SIGKILL)
        sentinels.wait_for_new_master(old)
        before = list(written)
        wait_for(
            lambda: bool(errors) or all(now > then for now, then in zip(written, before, strict=True)),
            "every writer to write on the new master (or fail)",
            DEADLINE_S,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        sentinels.stop()

    assert errors == []
