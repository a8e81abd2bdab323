"""The host name a task instance records (`[core] hostname_callable`).

Locally two Celery workers share one machine, so each is named by `ELT_WORKER_NAME`
(`celery-worker-1`, `celery-worker-2`) and the grid shows which one ran a task. Without
that variable (a compose container, one worker per host) it is the machine's FQDN, as in
Airflow's default.
"""

from __future__ import annotations

import os
import socket


def worker_name() -> str:
    return os.environ.get("ELT_WORKER_NAME") or socket.getfqdn()
