"""The lab's password (and a wrong one a failed run used) searched for everywhere a secret could land: every
Redis key and value (by type, streams included, Celery's base64 message bodies decoded), the append-only file,
the workers', beat's and Flower's logs at DEBUG, every report format of every run, Flower's API, and the
command lines of the processes."""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import redis

from benchmarks.reliability.rig import Rig
from benchmarks.reliability.table import Row, judged, progress
from lab.serve import PASSWORD_FILE
from tasks.record import list_runs
from worker.console.record_commands import Format
from worker.redis_connection import connect
from worker.rehearsal.stack import ChildProcess

#: A Celery message's body in Redis: base64 JSON, where a secret would hide from a plain search.
_BODY = re.compile(rb'"body": ?"([A-Za-z0-9+/=]+)"')
GOAL = "0 hits"


@dataclass
class Evidence:
    """What to search for, and what the runs left that Redis does not hold."""

    secrets: set[bytes] = field(default_factory=set)
    logs: list[Path] = field(default_factory=list)
    command_lines: list[bytes] = field(default_factory=list)

    def gather(self, stack: Rig, *others: ChildProcess) -> None:
        """The stack's lab password, its logs, the command lines of its live processes and ``others``."""
        self.secrets.add((stack.lab.inventory_path.parent / PASSWORD_FILE).read_bytes().strip())
        self.logs += stack.log_files()
        children = [child for workers in stack.worker_sets for child in workers.children.values()]
        lines = [command_line(child.process.pid) for child in [*children, *stack.others, *others]]
        self.command_lines += [line for line in lines if line]


def secrets_rows(evidence: Evidence, redis_url: str, flower_url: str, flower_auth: str) -> list[Row]:
    """A row per place: how many hits of any secret it holds."""
    client = redis.Redis.from_url(redis_url)
    try:
        places: list[tuple[str, Callable[[], list[bytes]]]] = [
            ("Redis keys and values (streams, message bodies)", lambda: redis_contents(client)),
            ("the append-only file", lambda: [append_only_file(redis_url)]),
            ("worker, beat and Flower logs at DEBUG", lambda: [path.read_bytes() for path in evidence.logs]),
            ("every report format of every run (`lync-failover report`)", lambda: reports(redis_url)),
            ("Flower's API (/api/tasks, /api/task/info/<id>)", lambda: flower_api(flower_url, flower_auth)),
            ("the processes' command lines", lambda: evidence.command_lines),
        ]
        return [searched(place, contents(), evidence.secrets) for place, contents in places]
    finally:
        client.close()


def searched(place: str, blobs: Sequence[bytes], secrets: set[bytes]) -> Row:
    """The row for one place: its blobs searched for every secret, message bodies decoded."""
    hits = sum(hits_in(blob, secrets) for blob in blobs)
    progress(f"secrets in {place}: {hits} hits in {len(blobs)} items")
    return judged(f"password in {place}", len(blobs), GOAL, f"{hits} hits in {len(blobs)} items", hits == 0)


def hits_in(blob: bytes, secrets: set[bytes]) -> int:
    """How often any secret occurs in ``blob`` or in a Celery message body inside it."""
    return sum(text.count(secret) for text in (blob, *message_bodies(blob)) for secret in secrets)


def message_bodies(blob: bytes) -> Iterator[bytes]:
    """The decoded base64 bodies of the Celery messages in ``blob``."""
    for found in _BODY.finditer(blob):
        try:
            yield base64.b64decode(found.group(1), validate=True)
        except binascii.Error:
            continue


def redis_contents(client: redis.Redis) -> list[bytes]:
    """Every key with its whole value, whatever its type, as one blob per key."""
    readers: dict[bytes, Callable[[bytes], object]] = {
        b"string": client.get,
        b"hash": client.hgetall,
        b"list": lambda key: client.lrange(key, 0, -1),
        b"set": client.smembers,
        b"zset": lambda key: client.zrange(key, 0, -1, withscores=True),
        b"stream": lambda key: client.xrange(key),
    }
    blobs = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        read = readers.get(kind if isinstance(kind, bytes) else str(kind).encode())
        value = read(key) if read is not None else b""
        blobs.append(key + b"\n" + repr(value).encode())
    return blobs


def append_only_file(redis_url: str) -> bytes:
    """Redis's append-only file, as written so far."""
    client = connect(redis_url)
    try:
        directory, name = (
            client.config_get("dir")["dir"],
            client.config_get("appendfilename")["appendfilename"],
        )
    finally:
        client.close()
    return Path(str(directory), str(name)).read_bytes()


def reports(redis_url: str) -> list[bytes]:
    """``lync-failover report RUN --format F`` for every run in Redis and every format."""
    client = connect(redis_url)
    try:
        run_ids = [summary.run_id for summary in list_runs(100_000, client)]
    finally:
        client.close()
    command = Path(sys.executable).with_name("lync-failover")

    def report(job: tuple[str, Format]) -> bytes:
        run_id, form = job
        done = subprocess.run(
            [str(command), "report", run_id, "--format", form.value],
            env={"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=120,
            check=False,
        )
        return done.stdout + done.stderr

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(report, [(run_id, form) for run_id in run_ids for form in Format]))


def flower_api(url: str, basic_auth: str) -> list[bytes]:
    """Flower's task list, then each task's details."""
    header = {"Authorization": "Basic " + base64.b64encode(basic_auth.encode()).decode()}

    def get(path: str) -> bytes:
        with urllib.request.urlopen(
            urllib.request.Request(url + path, headers=header), timeout=30
        ) as response:
            body: bytes = response.read()
            return body

    listing = get("/api/tasks")
    return [listing, *(get(f"/api/task/info/{task_id}") for task_id in json.loads(listing))]


def command_line(pid: int) -> bytes:
    """A process's command line (empty once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
