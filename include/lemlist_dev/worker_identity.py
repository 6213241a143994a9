"""``[core] hostname_callable`` for Celery workers side by side on one machine: each reports a name of its own.

Workers on one machine share its hostname, so without this the task instances could not show which worker
ran them. ``scale_out.start_celery_workers`` gives each worker process ``LEMLIST_DEV_WORKER_NAME``.
"""

from __future__ import annotations

import os
import socket

#: the environment variable a worker's name is read from
WORKER_NAME_ENV = "LEMLIST_DEV_WORKER_NAME"


def hostname() -> str:
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()
