"""The HTML report in headless Chromium: the timeline drawn, a bar per step, coloured by outcome."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from tests.console.cli_helpers import lync_failover, write_failed_run
from worker.console.report_html import COLOURS, LEGEND

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
)


def chromium(tmp_path: Path, page: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``page``, without network, GPU or a shared profile."""
    assert CHROMIUM is not None
    return subprocess.run(
        [
            *(CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
            *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,1000",
            *mode,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_the_html_timeline_draws_a_bar_per_step_coloured_by_outcome(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    write_failed_run(redis_client)
    page = tmp_path / "report.html"
    written = lync_failover(
        "report", "run-0001", "--format", "html", "--output", str(page), env={"REDIS_URL": redis_url}
    )
    assert written.returncode == 0, written.stderr

    dom = chromium(tmp_path, page, "--dump-dom").stdout
    chromium(tmp_path, page, f"--screenshot={tmp_path / 'report.png'}")

    bars = re.findall(r'<rect class="bar" data-step="([^"]+)" data-outcome="(\w+)"[^>]* fill="([^"]+)"', dom)
    assert [(step.split("@")[0], outcome) for step, outcome, _ in bars] == [
        ("discovery.locate_cms", "succeeded"),
        ("cms2013.fail_over_cms", "retried"),
        ("edge.move_next_hop", "skipped"),
        ("pool.fail_over", "failed"),
    ]
    assert all(fill == COLOURS[outcome] for _, outcome, fill in bars)
    assert 'class="not-run"' in dom and "pool.verify_users_serviced@" in dom
    legend = dom.split('class="legend"')[1].split("</div>")[0]
    for outcome, label in LEGEND.items():
        assert f'data-outcome="{outcome}"' in legend and label in legend
    assert not re.search(r'(src|href)="(https?:)?//', page.read_text()), "the report must be self-contained"
    assert (tmp_path / "report.png").stat().st_size > 10_000
