"""``objstore://``: object storage for tests, in every process that calls :func:`install`.

A bucket is a folder of the local disk (``OBJSTORE_ROOT``) behind the same fsspec and ``ObjectStoragePath``
machinery as S3 or GCS, and like them it cannot append to an object (opening one in ``a`` or ``+`` mode
raises). Two processes that install it with the same root share the bucket, as two Celery workers share a
real one, while their working directories and temporary folders stay their own.
"""

from __future__ import annotations

import os

import fsspec
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from upath.implementations.cloud import CloudPath
from upath.registry import register_implementation

PROTOCOL = "objstore"


class BucketFileSystem(DirFileSystem):
    protocol = PROTOCOL
    root_marker = ""
    sep = "/"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(path=os.environ["OBJSTORE_ROOT"], fs=LocalFileSystem(auto_mkdir=True))

    def open(self, path, mode="rb", *args, **kwargs):
        if "a" in mode or "+" in mode:
            raise NotImplementedError(f"object storage cannot append ({mode!r})")
        return super().open(path, mode, *args, **kwargs)

    @classmethod
    def _strip_protocol(cls, path):
        text = str(path)
        return text.split("://", 1)[1] if "://" in text else text


class BucketPath(CloudPath):
    """The ``UPath`` flavour of ``objstore://bucket/key`` (that of S3 and GCS)."""


def install(root: str | None = None) -> None:
    """Make ``objstore://`` usable in this process (``root``: the bucket folder, else ``OBJSTORE_ROOT``)."""
    from airflow.sdk.io.store import attach

    if root is not None:
        os.environ["OBJSTORE_ROOT"] = root
    fsspec.register_implementation(PROTOCOL, BucketFileSystem, clobber=True)
    register_implementation(PROTOCOL, BucketPath, clobber=True)
    attach(PROTOCOL, fs=BucketFileSystem())
