"""The one resolver of file Params: every path or URI a trigger form can name goes through here.

Whoever may trigger a DAG is not, in a real deployment, whoever may read and write the workers' disks. So a
Param is resolved (relative paths from the project folder, ``..`` and symlinks followed) and must then lie
inside one of the storage roots an admin configured (``[lemlist] input_roots`` / ``output_roots``, see
:mod:`lemlist_provider.settings`); a URI must also use a scheme of those roots and name only an allowed
storage connection. Anything else fails the task at once, without retries, with a message that names the
Param, the value and the roots, and quotes nothing from any file.

Writes never replace a file the provider did not write itself: :func:`writing` leaves a marker
(``.<name>.lemlist``) beside each file it publishes, and an existing file without one is refused.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import settings

LOCAL_SCHEMES = ("file", "local")


class StoragePathError(AirflowFailException):
    """A file Param that may not be used (outside the roots, a foreign file): retrying would not change it."""


def _split(value: str) -> tuple[str, str, str, str] | None:
    """``(scheme, conn_id, bucket, normalised path)`` of a URI, or ``None`` for a local path."""
    if "://" not in value:
        return None
    parts = urlsplit(value)
    conn_id, _, bucket = parts.netloc.rpartition("@")
    path = posixpath.normpath(parts.path or "/")
    return parts.scheme.lower(), conn_id, bucket, path.rstrip("/") or "/"


def _local(param: str, value: str) -> Path:
    """A local path, relative ones from the project folder, with ``..`` and every symlink resolved."""
    uri = _split(value)
    if uri is not None:
        scheme, conn_id, host, path = uri
        if host not in ("", "localhost") or conn_id:
            raise StoragePathError(f"{param}={value!r}: a {scheme}:// URI names no remote host")
        value = path
    candidate = Path(value)
    if not candidate.is_absolute():
        candidate = settings.project_root() / candidate
    return candidate.resolve()


def _roots(configured: list[str]) -> tuple[list[Path], list[tuple[str, str, str]]]:
    local, remote = [], []
    for root in configured:
        uri = _split(root)
        if uri is None or uri[0] in LOCAL_SCHEMES:
            local.append(_local("root", root))
        else:
            remote.append((uri[0], uri[2], uri[3]))
    return local, remote


def _inside(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def resolve(param: str, value: Any, *, kind: str) -> Any:
    """``value`` as a ``Path`` or an ``ObjectStoragePath`` inside the ``kind`` (``input``/``output``) roots."""
    configured = settings.input_roots() if kind == "input" else settings.output_roots()
    text = "" if value is None else str(value).strip()
    local_roots, remote_roots = _roots(configured)
    shown = ", ".join([str(r) for r in local_roots] + [f"{s}://{b}{p}" for s, b, p in remote_roots])

    def refuse(why: str) -> StoragePathError:
        return StoragePathError(
            f"{param}={text!r} {why}; allowed {kind} roots: {shown or 'none'} (an admin sets them in "
            f"[{settings.SECTION}] {kind}_roots, env AIRFLOW__{settings.SECTION.upper()}__{kind.upper()}_ROOTS)"
        )

    if not text:
        raise refuse("is empty")
    uri = _split(text)
    if uri is None or uri[0] in LOCAL_SCHEMES:
        path = _local(param, text)
        if not any(path == root or path.is_relative_to(root) for root in local_roots):
            raise refuse(f"resolves to {path}, outside the allowed roots")
        return path
    scheme, conn_id, bucket, key = uri
    if not any(s == scheme and b == bucket and _inside(key, p) for s, b, p in remote_roots):
        raise refuse("is outside the allowed roots")
    if conn_id and conn_id not in settings.storage_conn_ids():
        raise refuse(
            f"names the connection {conn_id!r}, which is not in [{settings.SECTION}] storage_conn_ids"
        )
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(f"{scheme}://{conn_id + '@' if conn_id else ''}{bucket}{key}")


def input_location(param: str, value: Any) -> Any:
    """Where to read the file Param ``param`` from."""
    return resolve(param, value, kind="input")


def output_location(param: str, value: Any) -> Any:
    """Where to write the file Param ``param`` (a file or a folder)."""
    return resolve(param, value, kind="output")


def default_output(*parts: str) -> str:
    """A default output under the first output root, e.g. ``default_output(dag_id, "run.csv")``."""
    roots = settings.output_roots()
    if not roots:
        raise StoragePathError(f"no output root is configured in [{settings.SECTION}] output_roots")
    return "/".join([roots[0].rstrip("/"), *parts])


def safe_name(text: str) -> str:
    """A run id or a campaign id as a file name part: letters, digits, ``._-`` only."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in str(text))[:200]


def marker(target: Any) -> Any:
    return target.with_name(f".{target.name}.lemlist")


def check_replaceable(param: str, target: Any) -> None:
    """Refuse a target that exists and was not written by this provider (no marker beside it)."""
    if target.exists() and (target.is_dir() or not marker(target).exists()):
        raise StoragePathError(
            f"{param}: {target} already exists and was not written by a lemlist pipeline; refusing to replace "
            f"it. Choose another {param}, or move the file away."
        )


def mark(param: str, target: Any) -> None:
    """Leave the marker that makes ``target`` the provider's own (for files it appends to)."""
    marker(target).write_text(json.dumps({"written_by": "airflow-provider-lemlist", "param": param}))


@contextmanager
def writing(param: str, target: Any, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """Write ``target`` whole or not at all, and only when it is new or the provider's own.

    The content goes to a unique temporary sibling, which replaces the target once complete: a failure
    leaves the old file (or none), never a half-written one under the final name. The marker is written
    just before the target appears, so the provider never publishes a file without it.
    """
    check_replaceable(param, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with temporary.open(mode, **open_kwargs) as handle:
            yield handle
        check_replaceable(param, target)
        mark(param, target)
        if isinstance(target, Path):
            os.replace(temporary, target)
        else:  # object stores have no atomic rename: the old object goes, then the new one moves in
            if target.exists():
                target.unlink()
            temporary.rename(target)
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()
