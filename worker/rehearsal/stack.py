"""A whole runner on one machine, as child processes: the lab, one Celery worker per queue, and Flower.

The drill uses it to rehearse a failover; nothing here is for production, where each datacenter runs its
own worker (docs/operator.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import redis
from celery import Celery

import worker
from worker.redis_connection import celery_transport_options, connect
from worker.settings import DEFAULT_SENTINEL_MASTER, read_settings

STOP_DEADLINE_S = 15.0
START_DEADLINE_S = 60.0
#: The pause before pinging again when Redis refused the ping (it is starting).
PING_PAUSE_S = 0.2


class StackError(RuntimeError):
    """A part of the local stack did not start; the message says which and shows its log."""


@dataclass
class ChildProcess:
    """A child process with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 20) -> str:
        """The last lines of the child's log."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within the deadline."""
        self.terminate()
        self.wait()

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM), without waiting."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        """Wait for it to end; kill its whole process group past the deadline."""
        try:
            self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def spawn(name: str, command: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> ChildProcess:
    """Start ``command`` with its output in ``log`` and its own process group (Ctrl-C goes to us only)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return ChildProcess(name, process, log)


def wait_until(
    child: ChildProcess, ready: Callable[[], bool], what: str, deadline_s: float = START_DEADLINE_S
) -> None:
    """Poll ``ready`` until it is true; fail with the child's log if it exits or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while not ready():
        if child.process.poll() is not None:
            raise StackError(
                f"{child.name} exited with {child.process.returncode} before {what}:\n{child.tail()}"
            )
        if time.monotonic() > deadline:
            raise StackError(f"{child.name}: no {what} after {deadline_s:.0f} s:\n{child.tail()}")
        time.sleep(0.1)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def celery_client(redis_url: str, sentinel_master: str) -> Celery:
    """A bare Celery client of ``redis_url`` (a Sentinel set: of its master ``sentinel_master``) for pings and
    inspection."""
    client = Celery(broker=redis_url, backend=redis_url)
    options = celery_transport_options(redis_url, sentinel_master)
    client.conf.update(broker_transport_options=options, result_backend_transport_options=options)
    return client


def celery_command(*arguments: str) -> list[str]:
    """``celery -A worker ARGUMENTS`` with this interpreter."""
    return [sys.executable, "-m", "celery", "-A", "worker", *arguments]


#: Pool processes of a prefork worker (a step holds one while its cmdlet runs).
PREFORK_PROCESSES = 4


def pool_options(pool: str | None) -> tuple[str, ...]:
    """``celery worker`` options for an execution pool other than the app's (threads). Celery reads
    ``-P prefork`` as its default and lets the configured pool win, so prefork is asked for by its other
    name, ``processes``, with PREFORK_PROCESSES processes (not the app's thread count)."""
    if pool in ("prefork", "processes"):
        return ("-P", "processes", "-c", str(PREFORK_PROCESSES))
    return ("-P", pool) if pool else ()


def worker_command(queue: str, pool: str | None = None, loglevel: str = "INFO") -> list[str]:
    """One worker serving ``queue``, named after it, sending events for Flower; its execution pool is the
    app's (threads, worker.celery_app.WORKER_THREADS) unless ``pool`` names another (``prefork``)."""
    return celery_command(
        *("worker", "-Q", queue, "--hostname", f"{queue}@%h", *pool_options(pool)),
        *("-E", "--loglevel", loglevel, "--without-gossip", "--without-mingle"),
    )


@dataclass
class WorkerSet:
    """Running ``celery -A worker worker`` processes, one per queue, with their log files."""

    redis_url: str
    #: The master's name when ``redis_url`` names a Sentinel set.
    sentinel_master: str = DEFAULT_SENTINEL_MASTER
    children: dict[str, ChildProcess] = field(default_factory=dict)

    @property
    def hostnames(self) -> dict[str, str]:
        """Each queue's worker node name, as ``app.control`` addresses it."""
        return {queue: f"{queue}@{socket.gethostname()}" for queue in self.children}

    def logs(self) -> str:
        """Everything the workers wrote, queue by queue (for error messages)."""
        return "\n".join(f"----- {queue} -----\n{child.tail(200)}" for queue, child in self.children.items())

    def wait_until_ready(self, deadline_s: float = START_DEADLINE_S) -> None:
        """Wait until every worker answers a ping; fail with the logs if one exits or the deadline passes."""
        client = celery_client(self.redis_url, self.sentinel_master)
        missing = set(self.hostnames.values())
        deadline = time.monotonic() + deadline_s
        try:
            while missing:
                for queue, child in self.children.items():
                    if child.process.poll() is not None:
                        raise StackError(
                            f"the worker for {queue} exited with {child.process.returncode}:\n{self.logs()}"
                        )
                if time.monotonic() > deadline:
                    raise StackError(
                        f"no ping answer from {sorted(missing)} in {deadline_s:.0f} s:\n{self.logs()}"
                    )
                try:
                    replies = client.control.ping(destination=sorted(missing), timeout=0.5)
                except redis.ConnectionError:  # Redis restarting (a rehearsal of its loss): ask again
                    time.sleep(PING_PAUSE_S)
                    continue
                for reply in replies:
                    missing -= set(reply)
        finally:
            client.close()

    def stop(self) -> None:
        """A warm shutdown of every worker at once; kill those still running after the deadline."""
        for child in self.children.values():
            child.terminate()
        for child in self.children.values():
            child.wait()


def start_workers(
    redis_url: str,
    inventory_path: Path,
    queues: Sequence[str],
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    pool: str | None = None,
    *,
    loglevel: str = "INFO",
) -> WorkerSet:
    """Start one worker per queue (execution ``pool``: the app's unless given) against ``redis_url`` and the
    inventory; return once all answer a ping."""
    environment = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(inventory_path), **(env or {})}
    workers = WorkerSet(redis_url, read_settings({**os.environ, **environment}).sentinel_master)
    try:
        for queue in queues:
            workers.children[queue] = spawn(
                f"worker {queue}",
                worker_command(queue, pool, loglevel),
                log_dir / f"worker-{queue}.log",
                environment,
            )
        workers.wait_until_ready()
    except BaseException:
        workers.stop()
        raise
    return workers


@dataclass
class LabProcess:
    """``python -m lab serve`` as a child: its control API and the inventory it wrote."""

    child: ChildProcess
    control_url: str
    inventory_path: Path

    def get(self, path: str) -> object:
        """GET a control API path and decode its JSON."""
        with urllib.request.urlopen(self.control_url + path, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: object) -> object:
        """POST JSON to a control API path and decode the answer."""
        request = urllib.request.Request(
            self.control_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def queues(self) -> list[str]:
        """Every site queue of the inventory, then the control queue."""
        inventory = json.loads(self.inventory_path.read_text(encoding="utf-8"))
        return [site["queue"] for site in inventory["sites"]] + [inventory["control_queue"]]


def start_lab(scenario: str, directory: Path) -> LabProcess:
    """Start the lab on ``scenario``; return once its control API answers and its inventory exists."""
    port = free_port()
    inventory = directory / "inventory.json"
    command = [
        sys.executable,
        "-m",
        "lab",
        "serve",
        "--scenario",
        scenario,
        "--directory",
        str(directory),
        "--inventory",
        str(inventory),
        "--control-port",
        str(port),
    ]
    env = {"COLUMNS": "200"}
    child = spawn("lab", command, directory / "lab.log", env)
    lab = LabProcess(child, f"http://127.0.0.1:{port}", inventory)

    def answers() -> bool:
        if not inventory.exists():
            return False
        try:
            lab.get("/health")
        except (urllib.error.URLError, ConnectionError):
            return False
        return True

    wait_until(child, answers, "control API")
    return lab


def start_beat(
    redis_url: str, inventory_path: Path, directory: Path, *, loglevel: str = "INFO"
) -> ChildProcess:
    """Start celery beat (the readiness schedule) with its schedule file in ``directory``."""
    environment = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(inventory_path)}
    command = celery_command("beat", "--schedule", str(directory / "beat-schedule"), "--loglevel", loglevel)
    return spawn("beat", command, directory / "beat.log", environment)


def start_flower(
    redis_url: str,
    directory: Path,
    basic_auth: str,
    env: Mapping[str, str] | None = None,
    *,
    loglevel: str = "info",
) -> tuple[ChildProcess, str]:
    """Start Flower on a free loopback port with ``basic_auth`` (``user:password``); return it and its URL."""
    port = free_port()
    config = Path(worker.__file__).with_name("flowerconfig.py")
    options = (f"--conf={config}", "--address=127.0.0.1", f"--port={port}", f"--logging={loglevel}")
    child = spawn(
        "flower",
        celery_command("flower", *options),
        directory / "flower.log",
        {"REDIS_URL": redis_url, "FLOWER_BASIC_AUTH": basic_auth, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url + "/healthcheck", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    wait_until(child, answers, "Flower's health check")
    return child, url


@dataclass
class Stack:
    """Everything the drill started, to stop in reverse order."""

    directory: Path
    redis_url: str
    children: list[ChildProcess] = field(default_factory=list)
    lab: LabProcess | None = None
    flower_url: str = ""

    @cached_property
    def client(self) -> redis.Redis:
        """A client of the stack's Redis (run records, journals)."""
        return connect(self.redis_url)

    def stop(self) -> None:
        """Stop every child, last started first."""
        for child in reversed(self.children):
            child.terminate()
        for child in reversed(self.children):
            child.wait()
        self.children.clear()
