"""Journals that survive a SIGKILL and can be read by any worker of the deployment.

Two pipelines must know, after a worker died at any instant, what it was about to do: the lead import
(which rows it was sending) and the enrichment (which starts may have spent credits). Each writes a record
*before* the request it announces and another after the answer. A journal lives in the run's output
storage, beside the report or the results file, because that is what every worker sees once an admin points
the output roots at shared storage (a task retried on another Celery host finds it there; the worker's own
disk or temporary folder it would not).

- On a local path a journal is one file: each append is flushed and ``fsync``'d before it returns, so every
  record is durable at once and cheap; a write torn by a kill leaves a partial last line, which readers skip.
- On object storage (an ``ObjectStoragePath``: S3, GCS, ...) nothing can be appended to, so each append is an
  object of its own under the journal's prefix, complete once the write returns (an object is written whole
  or not at all); readers list the prefix in name order. Each append costs a round trip, so writers group
  records (``grouping``) where losing a few is only a matter of re-checking them.

:func:`write_whole` publishes a single file the same way (a manifest): whole, durable, or not at all.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: records an object-storage writer may group into one write (a local append costs an fsync, not a round trip)
OBJECT_GROUPING = 25


def _lines(records: Iterable[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _parse(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a kill mid-write
        if isinstance(record, dict):
            yield record


class LocalJournal:
    """One local file; every append is durable when it returns."""

    grouping = 1

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: Any = None

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            yield from _parse(handle)

    def append(self, records: Iterable[dict]) -> None:
        text = _lines(records)
        if not text:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = False
            if self.path.exists() and self.path.stat().st_size > 0:
                with self.path.open("rb") as raw:
                    raw.seek(-1, os.SEEK_END)
                    torn = raw.read(1) != b"\n"
            created = not self.path.exists()
            self._handle = self.path.open("a", encoding="utf-8")
            if created:
                _fsync_folder(self.path.parent)  # the new file's name survives a crash too
            if torn:  # a kill mid-write left a line without its newline: start ours on a fresh line
                self._handle.write("\n")
        self._handle.write(text)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class ObjectJournal:
    """A prefix of objects, one per append, named so that listing them gives the order they were written in
    (a writer's start time, then its own sequence number)."""

    grouping = OBJECT_GROUPING

    def __init__(self, folder: Any) -> None:
        self.folder = folder
        self._writer = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self._sequence = 0

    def exists(self) -> bool:
        return self.folder.exists()

    def read(self) -> Iterator[dict]:
        if not self.folder.exists():
            return
        for part in sorted(self.folder.iterdir(), key=lambda p: p.name):
            if part.name.endswith(".jsonl"):
                yield from _parse(part.read_text(encoding="utf-8").splitlines())

    def append(self, records: Iterable[dict]) -> None:
        text = _lines(records)
        if not text:
            return
        self._sequence += 1
        part = self.folder / f"{self._writer}-{self._sequence:06d}.jsonl"
        with part.open("w", encoding="utf-8") as handle:
            handle.write(text)

    def close(self) -> None:
        pass


Journal = LocalJournal | ObjectJournal


def journal_at(location: Any) -> Journal:
    """The journal at ``location``: a local file for a ``Path``, an object prefix for an ``ObjectStoragePath``."""
    return LocalJournal(location) if isinstance(location, Path) else ObjectJournal(location)


def write_whole(target: Any, text: str) -> None:
    """Publish ``text`` as ``target`` whole and durably: a local file through an fsync'd temporary sibling
    and an atomic rename, an object in one write."""
    if not isinstance(target, Path):
        with target.open("w", encoding="utf-8") as handle:
            handle.write(text)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(target.parent)  # the rename itself survives a crash


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
