"""The Celery app ``lync_failover``: Redis broker and backend, late acks, JSON only, events on for Flower."""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown

from worker import executor, kombu_redis_fix, lost_messages, presence, quiet_refusals, stats_redaction
from worker import refusals as refusals  # loaded with the app: a celery client rebuilds runs' refusals
from worker.inventory import InventoryError
from worker.redis_connection import FAILOVER_PATIENCE_S, celery_transport_options, check_master_name
from worker.routing import control_queue, route_task
from worker.settings import Settings, get_settings

app = Celery(
    "lync_failover",
    include=["tasks.runbook", "tasks.site", "tasks.steps", "tasks.operator"],
    task_cls=quiet_refusals.QuietTask,
    amqp=lost_messages.KeepingAMQP,  # its task messages are kept until they start (a worker may lose them)
)
# A refusal's result and event carry its message, not the runner's traceback (the backends by URL scheme).
app.loader.override_backends = quiet_refusals.BACKENDS

#: Steps a worker runs at once. A step mostly waits on its server (Invoke-CsPoolFailover for 15 minutes), so
#: a worker runs its steps in threads of one process: as many as the pools failing over into its site at
#: once plus the Front Ends Bootstrapper runs on, cheaply, and with one runspace pool per server for all of
#: them (``-P prefork -c N`` still works: N processes, each with its own pools).
WORKER_THREADS = 32


def configure(celery_app: Celery, settings: Settings | None = None) -> None:
    """Apply ``settings`` (default: this process's, from the environment) to ``celery_app``."""
    settings = settings or get_settings()
    # A dead worker's messages come back after the visibility timeout: every worker sweeps for them often.
    # A Sentinel set adds its master's name and how to reach the sentinels.
    transport_options = {
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
        **celery_transport_options(settings.redis_url, settings.sentinel_master),
    }
    celery_app.conf.update(
        broker_url=settings.redis_url,
        result_backend=settings.redis_url,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A chain's next step or a retry published while Redis restarts or fails over waits for it (Celery's
        # default gives up within a second, and the run would stop there).
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": FAILOVER_PATIENCE_S,
            "interval_start": 0,
            "interval_step": 1,
            "interval_max": 1,
        },
        worker_prefetch_multiplier=1,
        worker_pool="threads",
        worker_concurrency=WORKER_THREADS,
        broker_transport_options=transport_options,
        result_backend_transport_options=transport_options,
        task_track_started=True,
        result_extended=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_default_queue=control_queue(settings),
        task_routes=(route_task,),
        beat_schedule={
            "readiness": {
                "task": "lync.readiness",
                "schedule": float(settings.readiness_interval_s),
                "options": {"queue": control_queue(settings)},
            }
        },
    )


def configure_or_exit(celery_app: Celery) -> None:
    """configure(), or, on a bad inventory or setting (REDIS_URL included, or a master name the sentinels do
    not monitor), its message on stderr and exit 2: a process started on a broken configuration says why,
    without a traceback."""
    try:
        configure(celery_app)
        check_master_name(get_settings().redis_url, get_settings().sentinel_master)
    except (InventoryError, ValueError) as error:
        print(f"lync-failover: cannot start: {error}", file=sys.stderr)
        print("Fix the inventory (docs/inventory.md) or the setting, then start again.", file=sys.stderr)
        raise SystemExit(2) from None


kombu_redis_fix.install()
stats_redaction.install()
configure_or_exit(app)
presence.install()
lost_messages.install(app)


def _close_runspace_pools(**_: Any) -> None:
    """At a prefork pool process start, forget the parent's pools (shared sockets); at the end of a pool
    process or of the worker (threads), close its own."""
    executor.close_all()


worker_process_init.connect(_close_runspace_pools, weak=False)
worker_process_shutdown.connect(_close_runspace_pools, weak=False)
worker_shutdown.connect(_close_runspace_pools, weak=False)
