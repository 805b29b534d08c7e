"""Files: their sha256 (what every model file is pinned by), the user cache folder, and arrays cached
on disk (a teacher's outputs on a transfer set: computed once, written atomically)."""

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


def text_key(texts: list[str]) -> str:
    """A short hash of a list of texts, in order."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def outputs_cache_file(cache, kind: str, model_dir, texts: list[str], extra: str = "") -> Path:
    """Where a model's outputs on ``texts`` are cached in the folder ``cache``: keyed by its weights
    and the texts, so a changed model or transfer set never reads another's outputs."""
    weights = file_sha256(Path(model_dir) / "model.safetensors")
    key = hashlib.sha256((weights + text_key(texts) + extra).encode()).hexdigest()[:20]
    return Path(cache) / f"{kind}-{key}.npy"


def cached_array(path: str | os.PathLike, compute, write: bool = True):
    """The array stored at ``path``; else ``compute()``'s, stored there when ``write`` (in a
    multi-process run only the main process writes)."""
    import numpy as np

    if Path(path).exists():
        return np.load(path, allow_pickle=False)
    array = compute()
    if write:
        save_array(path, array)
    return array
