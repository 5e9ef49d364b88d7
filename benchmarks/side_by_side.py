"""Benchmark (not a test): the runner side by side with what it must cost almost nothing next to.

P1 the runner against a bare pypsrp script sending the same cmdlets (zero-latency lab); P2 the run's wall
time against its critical path at the drill's time scale, every shipped scenario; P3 Bootstrapper on 1, 4 and
12 Front Ends; P4 a site failover of 1, 3 and 10 pools; P5 runspace pools opened against servers touched, and
the peak memory of a worker process. Every round gets a fresh lab and fresh workers; each figure is the median
of its rounds with their spread (min-max). Prints a table, each figure next to its goal.

Usage: ./dev bench [--rounds N] [--only P1,P3] [--scenario NAME ...]
(or .venv/bin/python -m benchmarks.side_by_side ...)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from benchmarks.bare_script import replay
from benchmarks.generated import bootstrap_scenario, site_scenario, write_scenario
from benchmarks.stack_round import RoundFailed, RunnerRound, fresh_lab, run_runner
from benchmarks.timing import Breakdown, critical_path_s, spread
from lab.scenario import DEFAULT_SCENARIO, scenario_names
from plugins.manager import get_plugin_manager, step_registry
from tasks.run import Run
from worker.inventory import inventory_at
from worker.rehearsal.drill import (
    DEFAULT_TIME_SCALE,
    PRODUCTION_SECONDS,
    REPLICATION_SECONDS,
    production_faults,
)
from worker.rehearsal.redis_server import EmbeddedRedis

ZERO_LATENCY: dict[str, Any] = {"replication_lag_seconds": 0}
#: Bootstrapper /Setup in production: minutes per Front End (docs/procedure.md); P3 gives it this.
BOOTSTRAPPER_SECONDS = 300.0
BOOTSTRAP_STEP = "cms2010.bootstrap"
FAN_OUT = (1, 4, 12)
SITE_POOLS = (1, 3, 10)
FIGURES = ("P1", "P2", "P3", "P4", "P5")


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, what was measured, the goal, whether it is met."""

    figure: str
    what: str
    measured: str
    goal: str
    met: bool | None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per figure (default 3)")
    parser.add_argument("--only", default=",".join(FIGURES), help="figures to measure, e.g. P1,P5")
    parser.add_argument("--scenario", action="append", help="P2 on these scenarios only (default: all)")
    args = parser.parse_args()
    only = {name.strip().upper() for name in args.only.split(",")}
    with EmbeddedRedis() as redis_url, tempfile.TemporaryDirectory(prefix="lync-bench-") as temporary:
        bench = Bench(redis_url, Path(temporary), args.rounds)
        rows: list[Row] = []
        for figure, measure in (
            ("P1", bench.p1),
            ("P2", lambda: bench.p2(args.scenario or scenario_names())),
            ("P3", bench.p3),
            ("P4", bench.p4),
            ("P5", bench.p5),
        ):
            if figure in only:
                measured = measure()
                rows += measured
                print(render(measured), flush=True)
        print()
        print(header(args.rounds))
        print(render(rows))
        for breakdown in bench.breakdowns:
            print(breakdown)


class Bench:
    """The figures, measured against one Redis; each round in its own directory."""

    def __init__(self, redis_url: str, directory: Path, rounds: int) -> None:
        self.redis_url = redis_url
        self.directory = directory
        self.rounds = rounds
        self.measured: list[RunnerRound] = []
        self.breakdowns: list[str] = []
        self._count = 0

    def p1(self) -> list[Row]:
        """The runner against the bare script, zero-latency cmdlets; one unmeasured round first."""
        ratios, runner, bare = [], [], []
        for index in range(self.rounds + 1):
            measured = self._run(DEFAULT_SCENARIO, ZERO_LATENCY)
            with fresh_lab(DEFAULT_SCENARIO, self._next("bare"), ZERO_LATENCY) as lab:
                script_s = replay(inventory_at(lab.inventory_path), measured.journal)
                if not cast(dict[str, Any], lab.get("/verify"))["ok"]:
                    raise RoundFailed("the bare script did not reach the scenario's end state")
            if index:
                runner.append(measured)
                bare.append(script_s)
                ratios.append(measured.wall_s / script_s)
        walls = [round_.wall_s for round_ in runner]
        self._breakdown("P1", DEFAULT_SCENARIO, runner)
        return [
            Row(
                "P1",
                f"runner / bare pypsrp script, {DEFAULT_SCENARIO}, zero latency "
                f"(runner {spread(walls)} s, script {spread(bare)} s, {len(runner[0].journal)} cmdlets)",
                f"{spread(ratios)}x",
                "<= 1.25x",
                statistics.median(ratios) <= 1.25,
            )
        ]

    def p2(self, scenarios: Sequence[str]) -> list[Row]:
        """Run wall against the critical path, Microsoft's durations at the drill's time scale."""
        faults = production_faults(DEFAULT_TIME_SCALE)
        rows = []
        for scenario in scenarios:
            try:
                rounds = [self._run(scenario, faults) for _ in range(self.rounds)]
            except RoundFailed as failed:
                rows.append(Row("P2", f"{scenario}: the run failed", str(failed), "<= 1.03x", False))
                continue
            floor = _floor(rounds[0], _latency(PRODUCTION_SECONDS))
            walls = [measured.wall_s for measured in rounds]
            if scenario == DEFAULT_SCENARIO:
                self._breakdown("P2", scenario, rounds)
            if floor == 0:
                rows.append(
                    Row("P2", f"{scenario}: no timed cmdlet (floor 0 s)", f"{spread(walls)} s", "-", None)
                )
                continue
            ratios = [wall / floor for wall in walls]
            rows.append(
                Row(
                    "P2",
                    f"{scenario}: run {spread(walls)} s / critical path {floor:.2f} s",
                    f"{spread(ratios, 3)}x",
                    "<= 1.03x",
                    statistics.median(ratios) <= 1.03,
                )
            )
        return rows

    def p3(self) -> list[Row]:
        """Bootstrapper on 1, 4 and 12 Front Ends: the span of the parallel step, from the step before it
        ending to the step after it starting."""
        faults = production_faults(DEFAULT_TIME_SCALE)
        faults["latency"] = {**faults["latency"], "Bootstrapper.exe": BOOTSTRAPPER_SECONDS}
        spans: dict[int, list[float]] = {}
        for servers in FAN_OUT:
            path = write_scenario(bootstrap_scenario(servers), self.directory / "scenarios")
            rounds = [self._run(str(path), faults) for _ in range(self.rounds)]
            spans[servers] = [_stage_s(measured.runs[0], BOOTSTRAP_STEP) for measured in rounds]
        one, most = statistics.median(spans[FAN_OUT[0]]), statistics.median(spans[FAN_OUT[-1]])
        each = ", ".join(f"{servers}: {spread(values)} s" for servers, values in spans.items())
        alone = BOOTSTRAPPER_SECONDS * DEFAULT_TIME_SCALE
        return [
            Row(
                "P3",
                f"Bootstrapper fan-out, {alone:g} s each ({each})",
                f"12 / 1 = {most / one:.2f}x",
                "<= 1.2x",
                most / one <= 1.2,
            )
        ]

    def p4(self) -> list[Row]:
        """A site failover of 1, 3 and 10 pools: the site run's wall time."""
        walls: dict[int, list[float]] = {}
        for pools in SITE_POOLS:
            path = write_scenario(site_scenario(pools), self.directory / "scenarios")
            faults = production_faults(DEFAULT_TIME_SCALE)
            walls[pools] = [self._run(str(path), faults).wall_s for _ in range(self.rounds)]
        one, most = statistics.median(walls[SITE_POOLS[0]]), statistics.median(walls[SITE_POOLS[-1]])
        each = ", ".join(f"{pools}: {spread(values)} s" for pools, values in walls.items())
        return [
            Row("P4", f"site failover ({each})", f"10 / 1 = {most / one:.2f}x", "<= 1.3x", most / one <= 1.3)
        ]

    def p5(self) -> list[Row]:
        """Runspace pools opened per run against servers touched; the peak RSS of a worker process."""
        if not self.measured:
            self._run(DEFAULT_SCENARIO, ZERO_LATENCY)
        pairs = {(measured.pools_opened, measured.servers_touched) for measured in self.measured}
        excess = max(opened - touched for opened, touched in pairs)
        shown = ", ".join(f"{opened}/{touched}" for opened, touched in sorted(pairs))
        peak = max(measured.peak_rss_mb for measured in self.measured)
        return [
            Row("P5", "runspace pools opened / servers touched, per run", shown, "equal", excess == 0),
            Row("P5", "peak RSS of a worker process", f"{peak:.0f} MB", "<= 150 MB", peak <= 150),
        ]

    def _run(self, scenario: str, faults: dict[str, Any]) -> RunnerRound:
        measured = run_runner(self.redis_url, scenario, self._next("run"), faults)
        self.measured.append(measured)
        return measured

    def _next(self, what: str) -> Path:
        self._count += 1
        return self.directory / f"{self._count:03d}-{what}"

    def _breakdown(self, figure: str, scenario: str, rounds: Sequence[RunnerRound]) -> None:
        parts = [Breakdown.of(measured.wall_s, measured.runs, measured.journal) for measured in rounds]
        redis = statistics.median(measured.redis_commands for measured in rounds)

        def median(value: Callable[[Breakdown], float]) -> str:
            return f"{statistics.median(value(part) for part in parts):.2f} s"

        last = parts[-1]
        self.breakdowns.append(
            f"{figure} breakdown, {scenario} (median of {len(parts)}): wall {median(lambda b: b.wall_s)} = "
            f"remote commands {median(lambda b: b.commands_s)} ({last.commands} commands) "
            f"+ waits between attempts {median(lambda b: b.waits_s)} ({last.attempts - last.steps} retries) "
            f"+ runner inside steps {median(lambda b: b.in_steps_s)} ({last.steps} steps) "
            f"+ between steps {median(lambda b: b.between_steps_s)} (Celery hops, launcher, planning, "
            f"finish); {redis:.0f} Redis commands"
        )


def header(rounds: int) -> str:
    """When and where the figures were measured."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "unknown CPU"
    )
    return (
        f"lync-failover side by side, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {rounds} rounds (median (min-max))"
    )


def render(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| figure | measured | result | goal | met |", "|---|---|---|---|---|"]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.figure} | {row.what} | {row.measured} | {row.goal} | {met} |")
    return "\n".join(lines)


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def _latency(production: dict[str, float]) -> Callable[[str], float]:
    return lambda command: production.get(command, 0.0) * DEFAULT_TIME_SCALE


def _floor(measured: RunnerRound, latency: Callable[[str], float]) -> float:
    parallel = {name for name, spec in step_registry(get_plugin_manager()).items() if spec.parallel}
    replication = REPLICATION_SECONDS * DEFAULT_TIME_SCALE
    return critical_path_s(measured.runs, measured.journals, latency, replication, parallel)


def _stage_s(run: Run, step: str) -> float:
    """From the end of the step before ``step``'s calls to the start of the step after them."""
    indexes = [index for index, entry in enumerate(run.steps) if entry.step == step]
    before, after = run.steps[indexes[0] - 1], run.steps[indexes[-1] + 1]
    assert before.ended is not None and after.first_started is not None
    return (after.first_started - before.ended).total_seconds()


if __name__ == "__main__":
    main()
