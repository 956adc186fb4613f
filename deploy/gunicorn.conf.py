"""Gunicorn settings for one app instance (several run behind nginx).

Environment: GUNICORN_BIND (127.0.0.1:8000), GUNICORN_WORKERS (2 * cores + 1),
GUNICORN_WORKER_CLASS (sync), GUNICORN_THREADS (1), GUNICORN_MAX_REQUESTS (20000),
PROMETHEUS_MULTIPROC_DIR (metrics shared by the workers). ``make bench`` runs this file,
with the same variables.

Graceful restarts: SIGHUP starts new workers with the new code and lets the old ones
finish their requests (up to graceful_timeout); SIGTERM stops accepting connections and
drains in-flight requests the same way before exiting. nginx, in front, sends a request
that finds an instance down to the other one.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Sync workers: one request at a time per process, behind nginx, which buffers slow
# clients. Measured against gthread (docs/BENCHMARKS.md, "gunicorn"): as fast for
# repayments and far shorter tails at 64 clients (a gthread process takes connections
# greedily and serves some of them late). Each worker holds one database connection to
# PgBouncer. GUNICORN_WORKER_CLASS=gthread and GUNICORN_THREADS bring threads back.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# A worker silent this long is killed and replaced (a stuck request fails, others go on).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# In-flight requests get this long to finish on SIGTERM / SIGHUP.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Longer than nginx's upstream keepalive_timeout, so nginx closes idle connections first.
keepalive = 75
# Recycle workers now and then, so a slow leak cannot grow without bound.
# Not too often: a new worker spends CPU loading the app; recycling every 2,000 requests
# halved the balance reads a 2-core machine served (docs/BENCHMARKS.md, "gunicorn").
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20000))
max_requests_jitter = max_requests // 10
# Load the code in each worker, so that SIGHUP picks up new code.
preload_app = False
# nginx (on loopback) is the only peer whose X-Forwarded-* headers are believed.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# nginx logs each request (JSON, with the request id); the app logs each one too.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Requests are logged by nginx and by the app (with the request id), not here.
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the shared Prometheus files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
