"""How a step's inputs and outputs are fingerprinted in ``project.lock``: weasel's lock file, with a
folder's checksum over each file's path, size and content (weasel's own hashes the files' bytes
run together, so a renamed file, bytes moved from one file to the next or an added empty file left
a step ``done`` and let ``--reuse`` copy the changed folder). A file's checksum is weasel's (its md5),
so a step whose inputs and outputs are files keeps its lock entry.

A work folder says which checksums its lock holds in ``.checksums``; one from before it (weasel's
folder checksums) is carried over once, under its lock: every step that its old checksums still
call done gets its entry written again with these, and the rest rerun as they would have."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

SCHEME_FILE = ".checksums"
SCHEME = "path-size-content-1"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum(path: str | Path) -> str:
    """A file's md5; a folder's md5 over one line per entry, in path order: each file's path, size
    and md5, each folder's path (an empty one too)."""
    path = Path(path)
    if path.is_file():
        return _md5(path)
    h = hashlib.md5()
    for p in sorted(path.rglob("*"), key=lambda p: p.relative_to(path).as_posix()):
        rel = p.relative_to(path).as_posix()
        if p.is_file():
            h.update(f"file {rel!r} {p.stat().st_size} {_md5(p)}\n".encode())
        elif p.is_dir():
            h.update(f"folder {rel!r}\n".encode())
    return h.hexdigest()


@contextmanager
def fingerprints(work: Path):
    """weasel's lock functions (``check_rerun``, ``update_lockfile``, ``get_fileinfo``) hash with the
    checksums ``work``'s lock holds while this is open."""
    import weasel.cli.run as weasel_run
    from weasel.util import get_checksum as weasel_checksum

    before = weasel_run.get_checksum
    weasel_run.get_checksum = checksum if (work / SCHEME_FILE).exists() else weasel_checksum
    try:
        yield
    finally:
        weasel_run.get_checksum = before


def carry_over(work: Path, steps: list[dict]) -> None:
    """Under the work folder's lock, before a run: a lock written with weasel's checksums gets these
    (the steps it calls done are written again; the others rerun anyway); ``.checksums`` says so."""
    import srsly
    from weasel.cli.run import check_rerun, update_lockfile

    marker = work / SCHEME_FILE
    if marker.exists():
        return
    lock = work / "project.lock"
    finished = (srsly.read_yaml(lock) or {}) if lock.exists() else {}
    with fingerprints(work):  # no marker yet: weasel's checksums
        done = [s for s in steps if s["name"] in finished and not check_rerun(work, s)]
    marker.write_text(SCHEME + "\n")
    with fingerprints(work):
        for s in done:
            update_lockfile(work, s)
