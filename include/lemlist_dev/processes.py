"""Child processes that can be stopped with everything they started.

Each child runs in a session of its own (``start_new_session``), so its pid is the id of a process group that
also holds whatever it forks (LocalExecutor workers, task supervisors, Celery pool processes). Stopping signals
those groups by their ids, never by a name, so nothing started here outlives a Ctrl-C or a failed test, and
nothing started elsewhere is touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path


class ProcessGroup:
    """One command in a process group of its own, its output appended to ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.name = name
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=str(cwd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pgid = self.proc.pid  # a new session's leader: its pid is the group id

    def alive(self) -> bool:
        return self.proc.poll() is None

    def members(self) -> list[int]:
        """Pids still in this process group (read from /proc, so grandchildren count too)."""
        return [pid for pid in _all_pids() if _pgid(pid) == self.pgid]


def stop_all(groups: Iterable[ProcessGroup], timeout: float = 20.0) -> None:
    """SIGTERM every group at once, wait until they are empty, then SIGKILL what is left."""
    groups = list(groups)
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group.pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_still_running(group) for group in groups):
            time.sleep(0.2)
        if not any(_still_running(group) for group in groups):
            return


def _still_running(group: ProcessGroup) -> bool:
    group.proc.poll()  # reap the leader, or it lingers as a zombie in its own group
    return bool(group.members())


def _all_pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def processes_using(marker: str) -> list[int]:
    """Pids whose environment or command line mentions ``marker`` (an AIRFLOW_HOME): a stray-process check."""
    found = []
    needle = marker.encode()
    for pid in _all_pids():
        if pid == os.getpid():
            continue
        for name in ("environ", "cmdline"):
            try:
                if needle in Path(f"/proc/{pid}/{name}").read_bytes():
                    found.append(pid)
                    break
            except OSError:
                continue
    return found
