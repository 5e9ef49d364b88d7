"""Celery tasks that join the plugins to the workers: launcher, planner, steps, finish, and the run record."""
