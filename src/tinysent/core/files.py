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


def exclusive_lock(path: str | os.PathLike, busy: Exception):
    """``path`` opened and locked (``flock``, exclusive, not waiting) for as long as the returned file
    stays open; ``busy`` is raised when another process (or another open of it) holds it. None where
    the OS has no ``flock`` (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "ab")  # noqa: SIM115 (held until the caller closes it)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise busy from None
    return f


METADATA_LIMIT = 16 << 20  # bytes read of a JSON description file (tinysent.json, config.json)


def regular_file(path: str | os.PathLike, what: str = "model folder") -> Path:
    """``path`` (a link followed) is a regular file, or a one-line error: a device (``/dev/zero``),
    a FIFO or a socket in a model folder would be read forever or block, never a model file."""
    import stat

    from tinysent.core.errors import ModelError

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise ModelError(f"{path}: cannot read it ({e.strerror}); restore the {what}'s file") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise ModelError(
            f"{path} is {kind}, not a regular file: a {what} holds plain files only; restore it from "
            "the model's source"
        )
    return path


def read_metadata(path: str | os.PathLike, limit: int = METADATA_LIMIT) -> str:
    """A small JSON description file's text (a regular file, at most ``limit`` bytes, UTF-8)."""
    from tinysent.core.errors import MetaError

    regular_file(path)
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise MetaError(
            f"{path} is larger than {limit >> 20} MiB: not a model's description file; restore it from "
            "the model's source"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MetaError(
            f"{path} is not UTF-8 text ({e.reason}); restore it from the model's source"
        ) from None


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


def texts_sha256(texts) -> str:
    """sha256 of a list of texts, in order."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def text_key(texts: list[str]) -> str:
    """A short hash of a list of texts, in order."""
    return texts_sha256(texts)[:16]


def replaced_name(out: Path) -> Path:
    """Where a run replacing the folder ``out`` keeps the old one until it succeeds (data.outputs)."""
    return out.with_name(f".{out.name}.replaced-{os.getpid()}")


def left_aside(out: str | os.PathLike) -> list[Path]:
    """Old folders of ``out`` that a run replacing it moved aside and did not settle (it was killed)."""
    import glob

    out = Path(out)
    return sorted(out.parent.glob(f".{glob.escape(out.name)}.replaced-*"))


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


def text_hashes(texts: list[str]):
    """One 64-bit hash a text (what a pass's index stores to find a text's row again)."""
    import numpy as np

    return np.array(
        [
            int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest())
            for t in texts
        ],
        dtype=np.uint64,
    )


def cached_text_rows(path: str | os.PathLike, texts: list[str], owner: str, compute_at, write: bool = True):
    """:func:`cached_rows` for rows that belong to texts (a teacher's outputs on them), reused across
    transfer sets: each finished pass leaves an index beside its file (``NAME.index.npz``: ``owner``,
    e.g. the teacher's weights' sha256, and one hash a text), and a pass over other texts takes each
    text's row from any earlier pass of the same owner in the same folder, computing only the rest
    (``compute_at(index)``: the rows of ``texts[i] for i in index``). A transfer set that loses a
    held-out file or gains tweets does not send a large teacher over all of it again."""
    import numpy as np

    path = Path(path)
    hashes = text_hashes(texts)
    index = path.with_name(path.stem + ".index.npz")
    whole = _stored_rows(path, len(texts))  # this very pass: no other pass is read
    known, found = (None, None)
    if whole is None and write:
        known, found = _earlier_rows(path.parent, owner, hashes, skip=index)

    def compute(start: int, stop: int):
        have = found[start:stop] if found is not None else np.zeros(stop - start, bool)
        if have.all() and stop > start:
            return known[start:stop].copy()
        new = compute_at(np.arange(start, stop)[~have])
        if not have.any():
            return new
        out = np.empty((stop - start, *new.shape[1:]), new.dtype)
        out[~have], out[have] = new, known[start:stop][have]
        return out

    if found is not None and found.any():
        log.info("%s: %d of %d rows from earlier passes", path.name, int(found.sum()), len(texts))
    array = whole if whole is not None else cached_rows(path, len(texts), compute, write)
    if write and not index.exists():
        tmp = index.with_name(f".{index.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, owner=np.array(owner), hashes=hashes)
        os.replace(tmp, index)
    return array


def _earlier_rows(folder: Path, owner: str, hashes, skip: Path):
    """(rows, found): for each hash, its row in an earlier pass of ``owner`` stored in ``folder``."""
    import numpy as np

    found, known = np.zeros(len(hashes), bool), None
    want: dict[int, list[int]] = {}
    for i, h in enumerate(hashes.tolist()):
        want.setdefault(h, []).append(i)  # a text twice in the list: both rows
    for index in sorted(folder.glob("*.index.npz")) if folder.is_dir() else []:
        if index == skip or found.all():
            continue
        try:
            with np.load(index, allow_pickle=False) as z:
                if str(z["owner"]) != owner:
                    continue
                theirs = z["hashes"]
        except (ValueError, OSError, EOFError, KeyError):
            continue  # a damaged index only costs a recomputation
        if not any(h in want for h in theirs.tolist()):
            continue  # nothing of ours in that pass: its rows are not read
        rows = _stored_rows(index.with_name(index.name[: -len(".index.npz")] + ".npy"), len(theirs))
        if rows is None:
            continue
        for j, h in enumerate(theirs.tolist()):
            for i in want.get(h, ()):
                if not found[i]:
                    if known is None:
                        known = np.empty((len(hashes), *rows.shape[1:]), rows.dtype)
                    known[i], found[i] = rows[j], True
    return known, found


def safetensors_header(path: str | os.PathLike) -> tuple[dict, int]:
    """A safetensors file's tensors (name -> dtype, shape, data_offsets; ``__metadata__`` left out) and
    the byte where their data starts, read from its header alone."""
    import json

    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n
