"""gunicorn settings: `gunicorn wsgi:app` reads this file from the working directory.

Every setting can be overridden on the command line or with GUNICORN_CMD_ARGS. Feed tokens
are capability URLs, so the access log redacts them (crm.security.RedactSecretsFilter).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(2 * multiprocessing.cpu_count() + 1, 8))))
worker_class = "sync"
# Each worker tells the arbiter it is alive by touching a file between requests; on a disk
# that is a journalled metadata write per request. In memory it is not (gunicorn's advice).
_SHM = "/dev/shm"  # noqa: S108 (gunicorn makes its file there with mkstemp, then unlinks it)
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    _SHM if os.path.isdir(_SHM) else None
)
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Guard against oversized request lines and headers.
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s - - %(t)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s"'
# X-Forwarded-* are trusted only from these addresses (the reverse proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


# A worker allocates tens of thousands of short-lived objects per page (ORM rows, template
# output), so the collector's youngest generation is emptied every few hundred allocations at
# the default threshold of 700; at this one, about once every twenty pages.
GC_YOUNG_THRESHOLD = int(os.environ.get("GUNICORN_GC_THRESHOLD", "50000"))


def _redact_logs() -> None:
    from crm.security import install_log_redaction

    install_log_redaction()


def on_starting(server):
    """Before the workers fork: every process inherits the redacting filter."""
    _redact_logs()


def post_fork(server, worker):
    """Again in each worker, in case logging was configured anew after the fork."""
    _redact_logs()


def post_worker_init(worker):
    """Once the worker has loaded the app: keep the collector off what lives as long as it.

    The app, its libraries and their data are some 160,000 objects that never become garbage;
    frozen, a full collection skips them (2 ms instead of 85 ms, a pause that otherwise lands
    on a request now and then). Then the young generation's threshold is raised (above).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
