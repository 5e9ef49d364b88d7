"""The end-to-end fixture: a runner (lab + Redis + Celery workers) per scenario."""

import pytest

pytest.register_assert_rewrite("tests.e2e.paths", "tests.e2e.harness")

from tests.e2e.harness import start_runner  # noqa: E402

__all__ = ["start_runner"]
