"""Files: their sha256 (what every model file is pinned by), the user cache folder, and arrays cached
on disk (a teacher's outputs on a transfer set: computed once, written atomically, resumable)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: Rows per saved part of a long pass (:func:`cached_rows`): under a minute of a MiniLM-L6 teacher on
#: 2 CPU cores, ~8 minutes of an MPNet-base one (measured 2026-11-30).
CHUNK_ROWS = 16384


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


def cached_rows(path: str | os.PathLike, n: int, compute, write: bool = True, chunk: int | None = None):
    """The array stored at ``path``; else ``compute(start, stop)``'s rows for ``0:n``, computed a chunk
    at a time and stored there when ``write`` (in a multi-process run only the main process writes).
    A pass may take hours (a large teacher over a large transfer set), so each finished chunk is saved
    beside ``path`` (``NAME.rowsSTART-STOP.npy``) and a run stopped midway resumes at its first missing
    chunk; once all are there they become the one file at ``path`` and the parts are removed. A file
    there that cannot be read, or holds another number of rows, is computed again (with a warning)."""
    import numpy as np

    path, chunk = Path(path), chunk or CHUNK_ROWS
    if (whole := _stored_rows(path, n)) is not None:
        return whole
    if not write:
        return compute(0, n)
    parts, names = [], []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        names.append(path.with_name(f"{path.stem}.rows{start}-{stop}.npy"))
        if (part := _stored_rows(names[-1], stop - start)) is not None:
            parts.append(part)
            log.info("%s: rows %d-%d read from an earlier run", path.name, start, stop)
            continue
        parts.append(compute(start, stop))
        save_array(names[-1], parts[-1])
        log.info("%s: rows %d-%d of %d done", path.name, start, stop, n)
    array = np.concatenate(parts) if parts else compute(0, 0)
    save_array(path, array)
    for name in names:
        name.unlink(missing_ok=True)
    return array


def _stored_rows(path: Path, rows: int):
    """The array cached at ``path`` if it is there, readable and ``rows`` long; else None. A damaged
    cache file (copied in part, edited, another program's) is a reason to compute it again, not to
    stop a run of hours with a traceback."""
    import numpy as np

    if not path.exists():
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        log.warning("cache file %s cannot be read (%s): computing it again", path, str(e)[:120])
        return None
    if array.ndim == 0 or len(array) != rows:
        log.warning("cache file %s holds %s rows, not %d: computing it again", path, array.shape[:1], rows)
        return None
    return array
