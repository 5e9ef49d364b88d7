"""The suite's table: a row per probe with its trials, its goal, what it measured and its verdict."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

MET = "✓"
MISSED = "✗"
#: A figure reported without a goal of its own.
REPORTED = "·"
_STARTED = time.monotonic()


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    probe: str
    trials: int
    goal: str
    measured: str
    #: ``✓``, ``✗``, ``·`` (a figure without a goal), or ``n/a (why)``.
    verdict: str

    @property
    def missed(self) -> bool:
        """Whether the row misses its goal."""
        return self.verdict == MISSED


def judged(probe: str, trials: int, goal: str, measured: str, met: bool) -> Row:
    """A row whose verdict is whether ``met``."""
    return Row(probe, trials, goal, measured, MET if met else MISSED)


def markdown(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| probe | trials | goal | measured | verdict |", "|---|---:|---|---|---|"]
    lines += [
        f"| {row.probe} | {row.trials} | {row.goal} | {_cell(row.measured)} | {row.verdict} |" for row in rows
    ]
    return "\n".join(lines) + "\n"


def progress(message: str) -> None:
    """A progress line on stderr, with the seconds since the suite started."""
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
