"""``[core] hostname_callable`` for the Celery test: two workers on one machine report different names.

Both workers share this machine's hostname, so without this the task instances could not show which
worker ran them. Each worker process gets ``LEMLIST_IT_WORKER_NAME`` in its environment.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("LEMLIST_IT_WORKER_NAME") or socket.getfqdn()
