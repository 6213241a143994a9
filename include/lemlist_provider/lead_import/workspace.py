"""Where an import run keeps its files: the report location and a run-scoped work folder.

The work folder (staged batches, rejected rows, per-batch checkpoints) is keyed by DAG id and run id, so a
retried task of the same run finds the checkpoints of its earlier tries, while a new run starts clean (and
then learns from lemlist itself that the leads are already there).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from lemlist_provider.settings import import_work_dir

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
    """The run-scoped local folder of one import run. Local because checkpoints need append + fsync."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_run(cls, output: Any, dag_id: str, run_id: str) -> Workspace:
        """Next to the report when that is local; under ``[lemlist] import_work_dir`` otherwise."""
        key = run_key(dag_id, run_id)
        if isinstance(output, Path):
            return cls(output / WORK_FOLDER / key)
        return cls(import_work_dir() / "lemlist_import" / key)

    def create(self) -> Workspace:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "checkpoints").mkdir(exist_ok=True)
        return self

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def rejected_path(self) -> Path:
        return self.root / "rejected.jsonl"

    def batch_path(self, index: int) -> Path:
        return self.root / f"batch_{index:05d}.jsonl"

    def checkpoint_path(self, index: int) -> Path:
        return self.root / "checkpoints" / f"batch_{index:05d}.jsonl"

    def metrics_path(self, index: int) -> Path:
        return self.root / "checkpoints" / f"batch_{index:05d}.metrics.jsonl"

    def write_manifest(self, manifest: dict) -> None:
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, self.manifest_path)

    def read_manifest(self) -> dict:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"Import work folder {self.root} has no manifest: the validate task of this run did not finish."
            ) from None

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        parent = self.root.parent
        if parent.name == WORK_FOLDER:
            try:
                parent.rmdir()  # only when no other run is using it
            except OSError:
                pass
