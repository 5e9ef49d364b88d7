"""The Celery app's configuration, and that the ``celery -A worker`` command line loads it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from tasks.steps import BACKOFF_MAX_S
from tests.fixtures_celery import StartWorkers
from tests.fixtures_redis import SENTINEL_PASSWORD
from tests.worker.inventory_data import inventory_data, write_inventory
from worker import app
from worker.celery_app import configure
from worker.inventory import inventory_at
from worker.routing import route_task
from worker.settings import get_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings and inventory reread from the environment the test sets."""
    get_settings.cache_clear()
    inventory_at.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    inventory_at.cache_clear()


def test_the_app_is_safe_for_a_runbook() -> None:
    conf = app.conf

    assert app.main == "lync_failover"
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (
        True,
        True,
        1,
    )
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.result_extended is False and conf.task_track_started is True
    assert conf.worker_send_task_events is True and conf.task_send_sent_event is True
    options = conf.broker_transport_options
    # A dead worker's messages come back soon, and no retry waits past the visibility timeout in a worker.
    assert BACKOFF_MAX_S < options["visibility_timeout"] <= 60
    assert options["unacked_restore_interval"] <= 10
    assert conf.result_backend_transport_options["visibility_timeout"] == options["visibility_timeout"]


def test_the_environment_sets_redis_the_step_timeout_and_the_control_queue(
    fresh_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = inventory_data()
    data["control_queue"] = "lync.ops"
    fresh_settings.setenv("LYNC_FAILOVER_INVENTORY", str(write_inventory(tmp_path, data)))
    fresh_settings.setenv("REDIS_URL", "redis://127.0.0.1:6390/3")
    fresh_settings.setenv("LYNC_FAILOVER_STEP_TIMEOUT", "60")
    fresh_settings.setenv("LYNC_FAILOVER_RETRY_DEADLINE", "120")
    fresh_settings.setenv("LYNC_FAILOVER_LOCK_TTL", "900")
    fresh_settings.setenv("LYNC_FAILOVER_VISIBILITY_TIMEOUT", "50")
    configured = Celery("probe")

    configure(configured)

    assert (get_settings().retry_deadline_s, get_settings().lock_ttl_s) == (120, 900)
    assert configured.conf.broker_url == "redis://127.0.0.1:6390/3"
    assert configured.conf.task_default_queue == "lync.ops"
    assert configured.conf.broker_transport_options["visibility_timeout"] == 50
    assert route_task("lync.plan", (), {}, {}) == {"queue": "lync.ops"}
    assert route_task("lync.locate_cms", (), {}, {}) is None


def test_a_sentinel_url_gives_broker_and_backend_the_master_named_by_the_setting(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    url = "sentinel://:pw@dc1.contoso.com:26379/0;sentinel://:pw@dc2.contoso.com:26379/0;sentinel://:pw@dc3:26379/0"
    fresh_settings.setenv("REDIS_URL", url)
    fresh_settings.setenv("LYNC_FAILOVER_SENTINEL_MASTER", "lync-redis")
    configured = Celery("probe")

    configure(configured)

    options = configured.conf.broker_transport_options
    assert configured.conf.broker_url == configured.conf.result_backend == url
    assert options["master_name"] == "lync-redis"
    assert options["sentinel_kwargs"]["password"] == "pw"  # the sentinels' password is the URL's
    assert (options["visibility_timeout"], options["unacked_restore_interval"]) == (45, 5)
    assert configured.conf.result_backend_transport_options == options


def test_without_the_setting_the_master_is_mymaster(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("REDIS_URL", "sentinel://dc1.contoso.com:26379/0")
    fresh_settings.delenv("LYNC_FAILOVER_SENTINEL_MASTER", raising=False)
    configured = Celery("probe")

    configure(configured)

    assert configured.conf.broker_transport_options["master_name"] == "mymaster"
    assert "password" not in configured.conf.broker_transport_options["sentinel_kwargs"]


@pytest.mark.parametrize("command", [["worker", "-Q", "lync.control"], ["call", "lync.readiness"]])
def test_a_malformed_sentinel_url_or_unknown_master_stops_celery_with_one_line(
    command: list[str], sentinel_url: str
) -> None:
    malformed = {"REDIS_URL": "sentinel://:pw@dc1:26379/0;redis://:pw@dc2:6379/0"}
    unknown = {"REDIS_URL": sentinel_url, "LYNC_FAILOVER_SENTINEL_MASTER": "mymaster"}

    refused = [_celery(command, environment) for environment in (malformed, unknown)]

    mixed = "REDIS_URL sentinel://:***@dc1:26379/0;redis://:***@dc2:6379/0 mixes redis:// with sentinel://"
    named = "no master named 'mymaster' (they monitor: lync-test): set LYNC_FAILOVER_SENTINEL_MASTER"
    assert f"lync-failover: cannot start: {mixed}" in refused[0].stderr
    assert named in refused[1].stderr
    for started in refused:
        assert started.returncode == 2, started.stderr
        assert "Traceback" not in started.stderr and ":pw@" not in started.stderr
        assert SENTINEL_PASSWORD not in started.stderr


def _celery(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``celery -A worker COMMAND`` with ``environment`` and no inventory."""
    env = {**os.environ, **environment}
    env.pop("LYNC_FAILOVER_INVENTORY", None)
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", *command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_liveness_settings_that_would_duplicate_or_abandon_runs_are_refused(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    fresh_settings.setenv("LYNC_FAILOVER_VISIBILITY_TIMEOUT", "20")
    with pytest.raises(ValueError, match="LYNC_FAILOVER_VISIBILITY_TIMEOUT=20 must be above 30 s"):
        get_settings()
    fresh_settings.setenv("LYNC_FAILOVER_VISIBILITY_TIMEOUT", "110")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="LYNC_FAILOVER_RUN_ALIVE=120 must be above"):
        get_settings()


def test_a_bad_step_timeout_is_named(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("LYNC_FAILOVER_STEP_TIMEOUT", "soon")

    with pytest.raises(ValueError, match="LYNC_FAILOVER_STEP_TIMEOUT='soon' is not a whole number"):
        get_settings()


def test_the_celery_command_line_loads_the_app(redis_url: str) -> None:
    environment = {**os.environ, "REDIS_URL": redis_url}
    environment.pop("LYNC_FAILOVER_INVENTORY", None)

    shown = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "inspect", "ping", "--timeout", "0.5"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = shown.stdout + shown.stderr
    assert "Unable to load celery application" not in output
    assert "No nodes replied" in output


def test_a_started_worker_answers_inspect_ping(
    celery_workers: StartWorkers, redis_url: str, tmp_path: Path
) -> None:
    pytest.importorskip("tasks.runbook", reason="tasks/ is not in the tree yet")
    workers = celery_workers(write_inventory(tmp_path, inventory_data()), ["lync.control"], {})
    node = f"lync.control@{socket.gethostname()}"

    shown = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "inspect", "ping", "-d", node, "--timeout", "5"],
        cwd=REPO,
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "pong" in shown.stdout, workers.logs()
