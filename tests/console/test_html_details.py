"""The HTML report reads right: a dry run is titled as one, a polling step's waits are not retries, and the
attempts label stays inside the drawing."""

from __future__ import annotations

import re
from datetime import datetime

import redis

from plugins.kit.model import step_call
from tasks.record import RunRecord
from tasks.run import StepEntry
from tests.console.cli_helpers import FAILED_POOL, FE2, lync_failover, write_failed_run
from worker.console.report_html import COLOURS, WIDTH

#: Pixels per character of the 11 px label font, generously (a label must fit with this estimate).
CHAR_PX = 7


def html_report(redis_url: str, run_id: str = "run-0001") -> str:
    result = lync_failover("report", run_id, "--format", "html", env={"REDIS_URL": redis_url})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_dry_run_s_report_is_titled_dry_run(redis_client: redis.Redis, redis_url: str) -> None:
    write_failed_run(redis_client, "dry-0001", dry_run=True)
    write_failed_run(redis_client, "run-0001")

    dry = re.search(r"<h1>(.*?)<span", html_report(redis_url, "dry-0001"), re.S)
    real = re.search(r"<h1>(.*?)<span", html_report(redis_url, "run-0001"), re.S)

    assert dry is not None and dry.group(1).strip() == f"Dry run of {FAILED_POOL}"
    assert real is not None and real.group(1).strip() == f"Failover of {FAILED_POOL}"


def test_a_polling_step_s_waits_show_as_checks_in_the_normal_colour(
    redis_client: redis.Redis, redis_url: str
) -> None:
    write_failed_run(redis_client)
    record = RunRecord("run-0001", redis_client)
    wait = step_call("cms.wait_for_replicas", "cms", FE2)
    record.put_step(
        StepEntry.of(wait).model_copy(
            update={
                "state": "succeeded",
                "attempts": 4,
                "first_started": datetime.fromisoformat(str(redis_client.hget(record.key, "started"))),
                "ended": datetime.fromisoformat(str(redis_client.hget(record.key, "ended"))),
                "error": "not ready yet: replicas not yet up to date: fe01.pool2.contoso.com",
                "waiting": True,
                "summary": "every replica is up to date",
                "queued": "~",  # after every other step
            }
        )
    )

    page = html_report(redis_url)

    bar = re.search(r'<rect class="bar" data-step="cms\.wait_for_replicas@[^"]+" data-outcome="(\w+)"', page)
    assert bar is not None and bar.group(1) == "succeeded"
    assert f'data-step="{wait.id}" data-outcome="succeeded"' in page
    assert f"{FE2} · 4 checks" in page
    retried = re.search(
        r'data-step="cms2013\.fail_over_cms@[^"]+" data-outcome="(\w+)"[^>]*fill="([^"]+)"', page
    )
    assert retried is not None and retried.groups() == ("retried", COLOURS["retried"])


def test_the_attempts_label_of_the_last_bar_stays_inside_the_drawing(
    redis_client: redis.Redis, redis_url: str
) -> None:
    calls = write_failed_run(redis_client)
    record = RunRecord("run-0001", redis_client)
    last = record.step(calls[3].id)  # the bar that ends last
    assert last is not None
    record.put_step(last.model_copy(update={"attempts": 3}))

    page = html_report(redis_url)

    labels = re.findall(r'<text[^>]* x="([\d.]+)"[^>]*>([^<]*\d+ attempts)</text>', page)
    assert labels, "each step that needed several attempts is labelled"
    for x, text in labels:
        assert float(x) + CHAR_PX * len(text) <= WIDTH, (x, text)
    assert any(text.endswith("3 attempts") for _, text in labels)
