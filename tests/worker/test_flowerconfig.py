"""worker/flowerconfig.py: Flower shows tasks readable and secret-free, and loads the config as documented."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from celery.events.state import Task
from flower.options import default_options

CONFIG = Path(__file__).resolve().parents[2] / "worker" / "flowerconfig.py"


@pytest.fixture
def format_task(monkeypatch: pytest.MonkeyPatch) -> Callable[[Task], Task]:
    """The config's format_task, loaded the way Flower loads it (the file executed, not imported)."""
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:correct-horse")
    hook: Callable[[Task], Task] = runpy.run_path(str(CONFIG))["format_task"]
    return hook


def shown(format_task: Callable[[Task], Task], **fields: str) -> Task:
    return format_task(Task("6f1c", name="lync.failover", **fields))


def test_readable_arguments_are_shown_unchanged(format_task: Callable[[Task], Task]) -> None:
    task = shown(
        format_task,
        args="('pool1.contoso.com',)",
        kwargs="{'target': 'pool2.contoso.com', 'dry_run': True}",
        result="{'ok': True, 'cms_pool': 'pool2.contoso.com'}",
    )

    assert task.args == "('pool1.contoso.com',)"
    assert task.kwargs == "{'target': 'pool2.contoso.com', 'dry_run': True}"
    assert task.result == "{'ok': True, 'cms_pool': 'pool2.contoso.com'}"


def test_values_under_secret_looking_keys_are_redacted_at_any_depth(
    format_task: Callable[[Task], Task],
) -> None:
    task = shown(
        format_task,
        kwargs="{'server': 'fe01.pool2.contoso.com', 'login': {'username': 'CONTOSO\\\\lyncadmin', "
        "'Password': 'hunter2'}, 'api_token': ['a', 'b'], 'credential': 'lab'}",
    )

    assert "hunter2" not in task.kwargs
    assert "'a'" not in task.kwargs
    assert "'Password': '***'" in task.kwargs
    assert "'credential': '***'" in task.kwargs
    assert "fe01.pool2.contoso.com" in task.kwargs
    assert "lyncadmin" in task.kwargs


def test_secrets_in_text_that_is_not_a_literal_are_redacted(format_task: Callable[[Task], Task]) -> None:
    task = shown(
        format_task,
        args="Context(run='6f1c', password='hun\\'ter2', client_secret=s3cr3t, ...)",
        exception="ConnectionError('redis://:p4ssw0rd@redis:6379/0 refused')",
    )

    assert task.args == "Context(run='6f1c', password='***', client_secret=***, ...)"
    assert task.exception == "ConnectionError('redis://:***@redis:6379/0 refused')"


def test_error_prose_that_mentions_a_password_stays_readable(format_task: Callable[[Task], Task]) -> None:
    message = (
        "CredentialError('credential \"lab\" (for fe01.pool2.contoso.com) has no password: set LAB_PASSWORD')"
    )

    assert shown(format_task, exception=message).exception == message


def test_long_fields_are_cut_and_say_how_much_was_left_out(format_task: Callable[[Task], Task]) -> None:
    task = shown(format_task, result="'" + "x" * 5000 + "'")

    assert len(task.result) < 2100
    assert task.result.endswith("… (3002 more characters)")


def test_only_flower_options_meant_to_be_set_are_public_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flower takes every global named like one of its options: an ``import logging`` would break it."""
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:correct-horse")
    names = {name.replace("_", "-") for name in runpy.run_path(str(CONFIG))}

    assert names & set(default_options._options) == {"format-task", "max-tasks", "persistent"}


def flower_options(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Let Flower's own option parsing load the config, as ``celery flower --conf=...`` does."""
    script = (
        "import json; from flower.command import apply_env_options, apply_options; "
        "from tornado.options import options; apply_env_options(); "
        f"apply_options('flower', ['--conf={CONFIG}']); "
        "print(json.dumps({'format_task': getattr(options.format_task, '__name__', None), "
        "'max_tasks': options.max_tasks, 'persistent': options.persistent, "
        "'basic_auth': options.basic_auth}))"
    )
    clean = {name: value for name, value in os.environ.items() if not name.startswith("FLOWER_")}
    return subprocess.run(
        [sys.executable, "-c", script], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_flower_loads_the_config_with_auth_and_limits_from_the_environment() -> None:
    done = flower_options({"FLOWER_BASIC_AUTH": "ops:correct-horse", "FLOWER_MAX_TASKS": "500"})

    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    assert loaded == {
        "format_task": "format_task",
        "max_tasks": 500,
        "persistent": False,
        "basic_auth": ["ops:correct-horse"],
    }


def test_flower_persistence_can_be_turned_on_from_the_environment() -> None:
    done = flower_options({"FLOWER_BASIC_AUTH": "ops:correct-horse", "FLOWER_PERSISTENT": "true"})

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["persistent"] is True


def test_flower_refuses_to_start_without_authentication() -> None:
    done = flower_options({})

    assert done.returncode != 0
    assert "set FLOWER_BASIC_AUTH=user:password in the environment" in done.stderr


def test_a_malformed_basic_auth_entry_is_named_without_echoing_the_password() -> None:
    done = flower_options({"FLOWER_BASIC_AUTH": "ops:correct-horse,nocolon-secretvalue"})

    assert done.returncode != 0
    assert "FLOWER_BASIC_AUTH entry 2 is not user:password" in done.stderr
    assert "secretvalue" not in done.stderr


def test_celery_flower_without_authentication_prints_only_the_reason_and_exits_2() -> None:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("FLOWER_")}
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "flower", f"--conf={CONFIG}", "--address=127.0.0.1"],
        env={**clean, "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "set FLOWER_BASIC_AUTH=user:password in the environment" in done.stderr
