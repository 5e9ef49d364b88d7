"""Run the reliability suite and print its table: ``python -m benchmarks.reliability [--quick]``."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.reliability.lost import lost_rows
from benchmarks.reliability.restarts import redis_restart_rows, sentinel_rows
from benchmarks.reliability.session import session_rows
from benchmarks.reliability.table import Row, markdown, progress
from benchmarks.reliability.transport import transport_rows
from worker.rehearsal.redis_server import EmbeddedRedis

#: A probe: the suite's Redis (restartable), a directory for its stacks, whether --quick; its rows.
Probe = Callable[[EmbeddedRedis, Path, bool], list[Row]]
PROBES: dict[str, Probe] = {
    "lost": lambda redis, root, quick: lost_rows(redis.url, root, quick),
    "redis": redis_restart_rows,
    "sentinel": sentinel_rows,
    "transport": lambda redis, root, quick: transport_rows(redis.url, root, quick),
    "door": session_rows,
}
#: What --quick runs (the transport probe's clean and faulty runs at the drill's time scale take too long).
QUICK = ("lost", "redis", "sentinel", "door")
PAGE_START = "<!-- reliability-table:start -->"
PAGE_END = "<!-- reliability-table:end -->"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probes; print the table; exit 1 when a row misses its goal."""
    options = _parser().parse_args(argv)
    chosen = options.only.split(",") if options.only else list(QUICK if options.quick else PROBES)
    unknown = [name for name in chosen if name not in PROBES]
    if unknown:
        _parser().error(f"unknown probe {', '.join(unknown)}; probes: {', '.join(PROBES)}")
    root = Path(tempfile.mkdtemp(prefix="lync-reliability-"))
    started = time.monotonic()
    rows: list[Row] = []
    server = EmbeddedRedis(appendonly=True)
    server.start()
    try:
        for name in chosen:
            progress(f"== {name}")
            rows += probe(name, options)(server, root, options.quick)
    finally:
        server.stop()
    minutes = (time.monotonic() - started) / 60
    table = markdown(rows)
    print(table)
    print(f"{'quick' if options.quick else 'full'} run: {minutes:.1f} min on {machine()}")
    if options.page is not None:
        write_page(options.page, table, minutes, quick=options.quick)
    missed = [row for row in rows if row.missed]
    if missed:
        print(f"{len(missed)} rows missed their goal; the stacks' logs are kept in {root}", file=sys.stderr)
        return 1
    shutil.rmtree(root, ignore_errors=True)
    return 0


def probe(name: str, options: argparse.Namespace) -> Probe:
    """The probe ``name``; ``--scenario`` narrows the lost probe to those scenarios."""
    if name == "lost" and options.scenario:
        return lambda redis, root, quick: lost_rows(redis.url, root, quick, options.scenario)
    return PROBES[name]


def machine() -> str:
    """The CPU model (from /proc/cpuinfo) and how many cores this process may use."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        cpuinfo = ""
    found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    model = found.group(1).strip() if found else "unknown CPU"
    return f"{model}, nproc {len(os.sched_getaffinity(0))}"


def write_page(page: Path, table: str, minutes: float, *, quick: bool) -> None:
    """Put the table, with the date and the machine, between the page's markers."""
    text = page.read_text(encoding="utf-8")
    if PAGE_START not in text or PAGE_END not in text:
        raise SystemExit(f"{page} has no {PAGE_START} ... {PAGE_END} markers to put the table between")
    head, rest = text.split(PAGE_START, 1)
    _, tail = rest.split(PAGE_END, 1)
    kind = "quick" if quick else "full"
    stamp = f"{kind.capitalize()} run of {datetime.now(UTC):%Y-%m-%d}, {minutes:.0f} min, on {machine()}."
    page.write_text(f"{head}{PAGE_START}\n{stamp}\n\n{table}{PAGE_END}{tail}", encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a subset in about three minutes")
    parser.add_argument("--only", help=f"comma-separated probes to run: {', '.join(PROBES)}")
    parser.add_argument(
        "--scenario", action="append", help="the lost probe on this scenario only (repeatable; default: all)"
    )
    parser.add_argument("--page", type=Path, help="also write the table into this page (docs/reliability.md)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
