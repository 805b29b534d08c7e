"""Files: their sha256 (what every model file is pinned by) and the user cache folder."""

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
