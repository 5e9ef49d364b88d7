"""The one way this project connects to Redis: a plain URL, or a Sentinel set whose master it follows.

``REDIS_URL`` is a plain Redis URL (``redis://[:PASSWORD@]HOST:PORT/DB``, ``rediss://``, ``unix://``) or, in
kombu's form, a Sentinel set: ``sentinel://[:PASSWORD@]HOST:PORT/DB`` once per sentinel, joined by ``;``. The
password is the data nodes' and the sentinels' alike; the master's name is ``settings.sentinel_master``.
"""

from __future__ import annotations

from contextlib import closing, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from worker.redaction import REDACTED
from worker.settings import get_settings

SENTINEL_SCHEME = "sentinel"
DEFAULT_SENTINEL_PORT = 26379
#: How a Sentinel set is written, for error messages.
SENTINEL_URL_FORM = "sentinel://[:PASSWORD@]HOST:PORT/DB once per sentinel, joined by ';'"
#: About how many seconds a command waits for the sentinels to promote a replica before it fails.
FAILOVER_PATIENCE_S = 30
#: How long connecting to a node, or a sentinel's answer, may take before the next try (or sentinel).
CONNECT_TIMEOUT_S = 2.0
#: A command the master does not answer within this is retried (a half-open connection, a lost site).
MASTER_TIMEOUT_S = 10.0


class RedisUrlError(ValueError):
    """``REDIS_URL`` or the master's name cannot work; the message names the problem and the fix."""


@dataclass(frozen=True)
class SentinelUrl:
    """What a Sentinel URL names: the sentinels' addresses, the password of every node, the database."""

    sentinels: tuple[tuple[str, int], ...]
    password: str | None
    db: int


def connect(url: str, master_name: str | None = None) -> redis.Redis:
    """A client for ``url`` that answers in text; for a Sentinel set, one on the master of ``master_name``
    (default: the settings') that follows it through a failover, waiting up to FAILOVER_PATIENCE_S."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, decode_responses=True)
    found = parse_sentinel_url(url)
    return _master(
        _sentinels(found, CONNECT_TIMEOUT_S),
        found,
        master_name or get_settings().sentinel_master,
        decode_responses=True,
        socket_timeout=MASTER_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        connection_class=MasterFollowingConnection,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), FAILOVER_PATIENCE_S),
    )


def ping(url: str, timeout_s: float, master_name: str | None = None) -> None:
    """Return once Redis at ``url`` answers a PING, without waiting out a failover; raise RedisUrlError when
    the URL or the master's name is wrong, else the RedisError."""
    if is_sentinel(url):
        found = parse_sentinel_url(url)
        sentinels = _sentinels(found, timeout_s)
        name = master_name or get_settings().sentinel_master
        _check_master_name(sentinels, name, url)
        client = _master(sentinels, found, name, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    else:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    with closing(client):
        client.ping()


def check_master_name(url: str, master_name: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """RedisUrlError when ``url`` is malformed, or names sentinels that answer and monitor no master named
    ``master_name``; nothing when it is a plain URL or no sentinel answers (the clients wait for them)."""
    if is_sentinel(url):
        with suppress(redis.ConnectionError):
            _check_master_name(_sentinels(parse_sentinel_url(url), timeout_s), master_name, url)


def celery_transport_options(url: str, master_name: str) -> dict[str, Any]:
    """What kombu's broker and Celery's result backend need besides ``url``: for a Sentinel set, the master's
    name and how to reach the sentinels (with the URL's password); nothing for a plain URL."""
    if not is_sentinel(url):
        return {}
    found = parse_sentinel_url(url)
    return {"master_name": master_name, "sentinel_kwargs": _sentinel_kwargs(found, CONNECT_TIMEOUT_S)}


def is_sentinel(url: str) -> bool:
    """Whether ``url`` names a Sentinel set (any of its ``;``-separated parts is a ``sentinel://`` URL)."""
    return any(urlsplit(part).scheme.lower() == SENTINEL_SCHEME for part in url.split(";"))


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The sentinels, password and database of a Sentinel URL in kombu's form; RedisUrlError if malformed."""
    for raw in url.split(";"):
        _check_part(raw, url)
    parts = [urlsplit(raw) for raw in url.split(";")]
    passwords = {unquote(part.password) if part.password else None for part in parts}
    if len(passwords) > 1:
        raise RedisUrlError(
            f"the sentinel:// parts of REDIS_URL {redacted_url(url)} carry different passwords: give every "
            "part the same one (the data nodes' and sentinels' password; kombu may use any part)"
        )
    databases = {part.path.strip("/") or "0" for part in parts}
    if len(databases) > 1:
        raise RedisUrlError(
            f"the sentinel:// parts of REDIS_URL {redacted_url(url)} name different databases "
            f"({', '.join(sorted(databases))}): give every part the same /DB"
        )
    sentinels = tuple((part.hostname or "", part.port or DEFAULT_SENTINEL_PORT) for part in parts)
    return SentinelUrl(sentinels, passwords.pop(), int(databases.pop()))


def redacted_url(url: str) -> str:
    """``url`` with its password (each part's, for a Sentinel set) replaced by ``***``."""
    if not is_sentinel(url):
        return _redacted_part(url)
    return ";".join(_redacted_part(part) for part in url.split(";"))


class MasterFollowingConnection(SentinelManagedConnection):
    """A connection to a Sentinel set's master that asks the sentinels where it is on every reconnect,
    a command's retries included: redis-py asks only when its pool hands a connection out, so a retry after a
    failover went back to the dead master (redis/redis-py#3874)."""

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        """Connect to the master the sentinels name now; the caller's retry asks them again."""
        if self._sock or not self.connection_pool.is_master:
            super().connect_check_health(check_health, retry_socket_connect)
            return
        self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health, retry_socket_connect=False)


def _check_part(raw: str, url: str) -> None:
    """RedisUrlError unless ``raw`` is ``sentinel://[:PASSWORD@]HOST[:PORT][/DB]`` (no spaces: kombu takes
    the parts as they are)."""
    part = urlsplit(raw)
    if "://" in raw and part.scheme.lower() != SENTINEL_SCHEME:
        raise RedisUrlError(
            f"REDIS_URL {redacted_url(url)} mixes {part.scheme}:// with "
            f"sentinel:// parts: name only the sentinels, as {SENTINEL_URL_FORM}"
        )
    try:
        _ = part.port  # a port that is not a number up to 65535 raises
    except ValueError:
        valid_port = False
    else:
        valid_port = True
    database = part.path.strip("/")
    well_formed = raw == raw.strip() and "://" in raw and part.hostname and valid_port and not part.query
    if not (well_formed and (database == "" or database.isdigit())):
        raise RedisUrlError(
            f"REDIS_URL {redacted_url(url)} has a part that is not sentinel://[:PASSWORD@]HOST[:PORT][/DB] "
            f"({_redacted_part(raw)!r}): write it as {SENTINEL_URL_FORM}"
        )


def _check_master_name(sentinels: Sentinel, name: str, url: str) -> None:
    """RedisUrlError when a sentinel answers and monitors no master named ``name``."""
    errors = []
    for sentinel in sentinels.sentinels:
        try:
            monitored = sorted(str(known) for known in sentinel.sentinel_masters())
        except redis.RedisError as error:
            errors.append(error)
            continue
        if name in monitored:
            return
        raise RedisUrlError(
            f"the sentinels of REDIS_URL {redacted_url(url)} monitor no master named {name!r} (they monitor: "
            f"{', '.join(monitored) or 'none'}): set LYNC_FAILOVER_SENTINEL_MASTER to the name they monitor"
        )
    raise redis.ConnectionError(f"no sentinel answers ({'; '.join(map(str, errors))})")


def _sentinels(found: SentinelUrl, timeout_s: float) -> Sentinel:
    """redis-py's Sentinel for ``found``, asking each sentinel for at most ``timeout_s``."""
    sentinel_kwargs = _sentinel_kwargs(found, timeout_s)
    return Sentinel(list(found.sentinels), sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]


def _master(sentinels: Sentinel, found: SentinelUrl, name: str, **options: Any) -> redis.Redis:
    """A client of the master ``sentinels`` know as ``name``, with ``found``'s password and database."""
    client: redis.Redis = sentinels.master_for(  # type: ignore[no-untyped-call]
        name, password=found.password, db=found.db, **options
    )
    return client


def _sentinel_kwargs(found: SentinelUrl, timeout_s: float) -> dict[str, Any]:
    """How to talk to the sentinels: the set's password, and a timeout so a lost one cannot hold us."""
    kwargs: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    if found.password is not None:
        kwargs["password"] = found.password
    return kwargs


def _redacted_part(url: str) -> str:
    """One URL with its password replaced."""
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:{REDACTED}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))
