"""Gunicorn settings for one app instance (several run behind nginx).

Environment: GUNICORN_BIND (127.0.0.1:8000), GUNICORN_WORKERS (2 * cores + 1),
GUNICORN_WORKER_CLASS (gthread), GUNICORN_THREADS (4), PROMETHEUS_MULTIPROC_DIR (metrics
shared by the workers). ``make bench`` runs this file, with the same variables.

Graceful restarts: SIGHUP starts new workers with the new code and lets the old ones
finish their requests (up to graceful_timeout); SIGTERM stops accepting connections and
drains in-flight requests the same way before exiting. nginx, in front, sends a request
that finds an instance down to the other one.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Threads keep the connection to nginx alive between requests (the sync worker cannot);
# each thread holds its own database connection to PgBouncer.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A worker silent this long is killed and replaced (a stuck request fails, others go on).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# In-flight requests get this long to finish on SIGTERM / SIGHUP.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Longer than nginx's upstream keepalive_timeout, so nginx closes idle connections first.
keepalive = 75
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
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
