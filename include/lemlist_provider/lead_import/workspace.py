"""Where an import run keeps its files: the report location and a run-scoped work folder beside it.

The work folder (manifest, staged batches, rejected rows, per-batch checkpoints) lives next to the report, in
the output storage: a local folder or object storage (an ``ObjectStoragePath``). That is what lets a mapped
batch run on any Celery worker, and a retried batch on another host find its checkpoint: the admin's output
roots are the storage every worker sees. Nothing of an import is kept on a worker's own disk. The folder is
keyed by DAG id and run id, so a retried task of the same run finds the checkpoints of its earlier tries,
while a new run starts clean (and then learns from lemlist itself that the leads are already there).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from lemlist_provider.journal import write_whole

from .errors import OutputLocationError

WORK_FOLDER = ".lemlist_import"


def run_key(dag_id: str, run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{dag_id}__{run_id}")[:200]


def _probe_writable(folder: Any) -> None:
    """Write and delete a tiny file: the only honest test of a folder or bucket prefix being writable."""
    probe = folder / f".lemlist_write_probe_{uuid.uuid4().hex[:8]}"
    if isinstance(folder, Path):
        folder.mkdir(parents=True, exist_ok=True)
    with probe.open("w") as handle:
        handle.write("ok")
    probe.unlink()


def output_folder(folder: Any) -> Any:
    """``folder`` (a ``Path`` or ``ObjectStoragePath`` inside the output roots), checked writable."""
    try:
        _probe_writable(folder)
    except Exception as exc:  # any filesystem may refuse in its own way (PermissionError, 403, read-only fs)
        raise OutputLocationError(
            f"Cannot write the import report and staging files to output_uri {folder}: {type(exc).__name__}: "
            f"{exc}. Choose another output_uri."
        ) from None
    return folder


class Workspace:
    """The run-scoped folder of one import run: a ``Path`` or an ``ObjectStoragePath`` (checkpoints and
    metrics are journals, :mod:`lemlist_provider.journal`, so they need no append on object storage)."""

    def __init__(self, root: Any) -> None:
        self.root = root

    @classmethod
    def for_run(cls, output: Any, dag_id: str, run_id: str) -> Workspace:
        """Next to the report, wherever that is."""
        return cls(output / WORK_FOLDER / run_key(dag_id, run_id))

    def create(self) -> Workspace:
        (self.root / "checkpoints").mkdir(parents=True, exist_ok=True)
        return self

    @property
    def manifest_path(self) -> Any:
        return self.root / "manifest.json"

    @property
    def rejected_path(self) -> Any:
        return self.root / "rejected.jsonl"

    def batch_path(self, index: int) -> Any:
        return self.root / f"batch_{index:05d}.jsonl"

    def checkpoint_path(self, index: int) -> Any:
        return self.root / "checkpoints" / f"batch_{index:05d}.jsonl"

    def metrics_path(self, index: int) -> Any:
        return self.root / "checkpoints" / f"batch_{index:05d}.metrics.jsonl"

    def write_manifest(self, manifest: dict) -> None:
        write_whole(self.manifest_path, json.dumps(manifest, indent=1))

    def read_manifest(self) -> dict:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"Import work folder {self.root} has no manifest: the validate task of this run did not finish."
            ) from None

    def remove(self) -> None:
        if not isinstance(self.root, Path):
            self.root.rmdir(recursive=True)  # object storage: every object under the prefix
            return
        shutil.rmtree(self.root, ignore_errors=True)
        parent = self.root.parent
        if parent.name == WORK_FOLDER:
            try:
                parent.rmdir()  # only when no other run is using it
            except OSError:
                pass
