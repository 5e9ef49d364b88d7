"""Shared fixtures: a Redis, Celery worker processes, and the lab."""

pytest_plugins = ["tests.fixtures_redis", "tests.fixtures_celery", "tests.fixtures_lab"]
