"""Files: their sha256 (what every model file is pinned by), the user cache folder, atomic array saves."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """Where tinysent keeps what it builds or downloads (``TINYSENT_CACHE`` overrides)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("TINYSENT_CACHE") or user_cache_dir("tinysent"))


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def save_array(path: str | os.PathLike, array) -> None:
    """``np.save`` that is atomic: a cache file is whole or absent, never a half-written one that a
    rerun (or another process writing the same file) would read."""
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(tmp, path)
